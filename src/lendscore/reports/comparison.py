"""Two sections of the validation pack that look past the model itself.

- the side-by-side comparison with another model on the same test sample (how much of the power is
  the scorecard's own reading of the applicant and how much is borrowed from inputs only one model
  has), with :func:`top_score_reasons`, the one definition the demo's table and the report share;
- how rounding the points (``points_rounding``) moves the PD and the grade.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from lendscore.reports import pack_schema as ps
from lendscore.reports.context import ReportContext
from lendscore.reports.pack_schema import num

__all__ = ["comparison_section", "rounding_section", "top_score_reasons"]

#: How many test applicants the top score reasons are read from (the demo's 400 applicants).
REASON_ROWS = 400


def top_score_reasons(result: Any, k: int = 3, n: int = REASON_ROWS) -> list[str]:
    """The ``k`` score reasons (``code characteristic``) given most often to the first ``n`` test
    applicants of a :class:`~lendscore.training.TrainingResult` that the bundled example policy does
    not approve, decided through the engine every door uses."""
    from lendscore.decision import load_catalogue, load_policy
    from lendscore.engine import DecisionEngine

    catalogue = load_catalogue()
    engine = DecisionEngine(result.model, "report", load_policy(None, catalogue=catalogue), catalogue)
    rows = result.X_test.head(n).to_dict(orient="records")
    apps = [engine.application({kk: v for kk, v in r.items() if v == v}, None, None) for r in rows]
    scored, _ = engine.score_applications(apps)
    outs = engine.decide_scored_applications(scored, apps)
    count = Counter(
        f"{r['code']} {r['characteristic']}"
        for o in outs
        if o["outcome"] != "approve"
        for r in o["reasons"]
        if r["kind"] == "score"
    )
    return [name for name, _ in count.most_common(k)]


def gini_share(this_auc: float, other_auc: float) -> float | None:
    """The other model's Gini as a share of this one's (None when this one is no better than chance)."""
    return (other_auc - 0.5) / (this_auc - 0.5) if this_auc > 0.5 else None


def comparison_section(ctx: ReportContext) -> ps.Comparison | None:
    if not ctx.comparison:
        return None
    models = [
        ps.ComparedModel(
            label=c.label,
            n=int(c.metrics["n"]),
            n_event=int(c.metrics["n_event"]),
            auc=float(c.metrics["auc"]),
            auc_ci_low=num(c.metrics.get("auc_ci_low")),
            auc_ci_high=num(c.metrics.get("auc_ci_high")),
            gini=float(c.metrics["gini"]),
            ks=float(c.metrics["ks"]),
            n_characteristics=c.n_characteristics,
            top_reasons=list(c.top_reasons),
        )
        for c in ctx.comparison
    ]
    this, other = models[0], models[-1]
    share = gini_share(this.auc, other.auc) if len(models) > 1 else None
    if share is None:
        text = f"{this.label} is no better than chance on the {ctx.comparison_sample} sample: no share to read."
    elif share < 1:
        text = (
            f"The model {other.label} keeps {share:.0%} of the Gini of the model {this.label} "
            f"({other.gini:.3f} against {this.gini:.3f} on the {ctx.comparison_sample} sample): that share is the "
            f"scorecard's own reading of the applicant; the other {1 - share:.0%} is borrowed from the inputs only "
            f"the model {this.label} has."
        )
    else:
        text = (
            f"The model {other.label} reaches {share:.0%} of the Gini of the model {this.label} "
            f"({other.gini:.3f} against {this.gini:.3f} on the {ctx.comparison_sample} sample): the inputs only "
            f"the model {this.label} has add nothing the scorecard does not read without them."
        )
    return ps.Comparison(sample=ctx.comparison_sample, models=models, gini_share=share, text=text)


def rounding_section(ctx: ReportContext) -> ps.Rounding | None:
    r = ctx.rounding
    if r is None:
        return None
    diff = np.abs(np.asarray(r.pd_rounded, dtype=float) - np.asarray(r.pd_unrounded, dtype=float))
    changed = int(np.sum(np.asarray(r.grade_rounded) != np.asarray(r.grade_unrounded)))
    n = int(diff.size)
    largest, median = (float(diff.max()), float(np.median(diff))) if n else (0.0, 0.0)
    unit = "whole points" if r.decimals == 0 else f"points rounded to {r.decimals} decimal(s)"
    text = (
        f"The model scores with {unit}. On the {n:,} rows of the {r.sample} sample, against the same fitted "
        f"state unrounded, rounding moves the PD by at most {largest:.4f} (median {median:.4f}) and changes "
        f"the grade of {changed:,} rows ({changed / max(n, 1):.2%})."
    )
    return ps.Rounding(
        decimals=r.decimals,
        sample=r.sample,
        n=n,
        max_abs_pd_diff=largest,
        median_abs_pd_diff=median,
        n_grade_changed=changed,
        grade_changed_share=changed / n if n else 0.0,
        text=text,
    )
