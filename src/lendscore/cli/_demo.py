"""The demo's second half: score a few 2011 applicants and decide one, with its NTH breakdown."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table

from lendscore.cli._console import console

if TYPE_CHECKING:
    from lendscore.decision import Decision


def lending_club_applicant(row: dict) -> dict:
    """A decision request from a Lending Club row: model inputs plus finances and the loan."""
    gross = float(row["annual_inc"]) / 12.0
    dti = row.get("dti")
    obligations = 0.0 if dti is None or (isinstance(dti, float) and math.isnan(dti)) else float(dti) / 100 * gross
    features = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
    return {
        **features,
        "finances": {"gross_income": round(gross, 2), "existing_obligations": round(obligations, 2)},
        "loan": {
            "amount": float(row["loan_amnt"]),
            "annual_rate": float(row["int_rate"]),
            "term_months": int(row["term"]),
        },
    }


def show_applicants(result, out: Path, n: int = 5) -> None:
    from lendscore.decision import decide, load_catalogue, load_policy
    from lendscore.engine import DecisionEngine

    model = result.model
    rows = result.X_test.head(400).to_dict(orient="records")
    t = Table(title=f"{n} applicants from 2011, scored one at a time (predict_one)")
    for col in ("applicant", "loan", "term", "PD", "score", "grade"):
        t.add_column(col, justify="right")
    for i, row in enumerate(rows[:n]):
        s = model.predict_one(row)
        t.add_row(
            str(i), f"{row['loan_amnt']:,.0f}", f"{row['term']:.0f}", f"{s['pd']:.3f}", f"{s['score']:.1f}", s["grade"]
        )
    console.print(t)
    catalogue = load_catalogue()
    policy = load_policy(None, catalogue=catalogue)
    applicants = [lending_club_applicant(r) for r in rows]
    # decided through the engine every door uses: the policy completes the finances, and the NTH the
    # score reads is the NTH the decision shows
    engine = DecisionEngine(model, "demo", policy, catalogue)
    apps = [
        engine.application({k: v for k, v in a.items() if k not in ("finances", "loan")}, a["finances"], a["loan"])
        for a in applicants
    ]
    scored, _ = engine.score_applications(apps)
    decisions = [decide(a, sc, policy, catalogue) for a, sc in zip(apps, scored, strict=True)]
    by_outcome: dict[str, tuple[Decision, dict]] = {}  # the first decision of each outcome
    for d, a in zip(decisions, apps, strict=True):
        by_outcome.setdefault(d.outcome.value, (d, a))
    console.print(
        f"decisions for {len(decisions)} 2011 applicants under the bundled example policy: "
        + ", ".join(f"{k} {sum(d.outcome.value == k for d in decisions)}" for k in ("approve", "refer", "decline"))
    )
    for outcome in ("decline", "refer", "approve"):
        if outcome in by_outcome:
            _show_decision(*by_outcome[outcome])
    console.print(f"open [bold]{out / 'report.html'}[/] for the validation report.")


#: The two Lending Club models' labels, in the demo's table and in its report's side-by-side section.
FULL_LABEL = "with the lender's grade, sub-grade and rate"
VARIANT_LABEL = "without the lender's grade, sub-grade and rate"


def compare_without_pricing(full, variant, out: Path) -> None:
    """The two Lending Club models side by side: test AUC, KS, Gini and the top score reasons."""
    t = Table(title="out-of-time test (2011): with and without the lender's own pricing")
    for col in ("model", "AUC", "KS", "Gini", "characteristics", "top score reasons (not approved)"):
        t.add_column(col, justify="left" if col in ("model", "top score reasons (not approved)") else "right")
    from lendscore.reports.comparison import gini_share, top_score_reasons

    for name, r in ((FULL_LABEL, full), (VARIANT_LABEL, variant)):
        m = r.metrics["test"]
        t.add_row(
            name,
            f"{m['auc']:.4f}",
            f"{m['ks']:.4f}",
            f"{2 * m['auc'] - 1:.4f}",
            str(len(r.model.characteristics_)),
            "; ".join(top_score_reasons(r)),
        )
    console.print(t)
    a_full, a_own = full.metrics["test"]["auc"], variant.metrics["test"]["auc"]
    share = gini_share(a_full, a_own)
    console.print(
        f"Without Lending Club's own pricing the scorecard keeps {'n/a' if share is None else f'{share:.0%}'} of its power over chance "
        f"(Gini {2 * a_own - 1:.3f} against {2 * a_full - 1:.3f}): that share is the scorecard's own reading of "
        f"the applicant; the rest is borrowed from the lender's grade and rate. Its files: {out / 'without_pricing'}."
    )


def _show_decision(decision, applicant) -> None:
    d = decision.to_dict()
    console.rule(
        f"decision: [bold]{d['outcome'].upper()}[/]  PD {d['pd']:.3f}, score {d['score']:.1f}, grade {d['grade']}"
    )
    a = d.get("affordability")
    if a:
        t = Table(title="net take-home (NTH) after this loan, per month", show_header=False)
        t.add_column("item")
        t.add_column("amount", justify="right")
        for label, key in (
            ("gross income", "income"),
            ("deductions", "deductions"),
            ("existing obligations", "existing_obligations"),
            ("new instalment", "new_instalment"),
            ("NTH left", "nth"),
        ):
            if a.get(key) is not None:
                t.add_row(label, f"{a[key]:,.2f}")
        t.add_row("NTH share of income", f"{a['nth_share']:.1%}")
        t.add_row("verdict", "pass" if a["passed"] else "fail: " + ", ".join(a["failed_rules"]))
        console.print(t)
    for r in d["reasons"]:
        console.print(f"  reason [bold]{r.get('code')}[/]: {r.get('text') or r.get('sentence') or r}")
    if not d["reasons"]:
        console.print("  no adverse reasons (approved)")
