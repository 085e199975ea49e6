"""Fairness report on the UCI German credit data, run outside the model.

Usage::

    python scripts/fairness_german.py --out-md docs/fairness.md --out-png docs/fairness.png

A ``lendscore.Scorecard`` is trained on a stratified 70% of the bundled German credit data (seed 42)
WITHOUT the protected attributes: ``age_years``, ``personal_status_and_sex`` and ``foreign_worker`` are
dropped from the model inputs. The approve cut-off is the score that approves about 70% of the held-out
30%. :func:`lendscore.decision.fairness_report` then compares, on the held-out rows, approval and default
rates by age band (< 25 vs >= 25), by sex and by personal status: the adverse impact ratio (four-fifths
screen), the standardised mean score difference and calibration within groups. Event = default = bad
(``credit_risk`` = 2).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from lendscore import Scorecard
from lendscore.data import load_bundled
from lendscore.data.split import random_split
from lendscore.decision import FairnessReport, fairness_report, german_credit_groups

PROTECTED = ("age_years", "personal_status_and_sex", "foreign_worker")
TARGET, BAD = "credit_risk", 2
ATTRIBUTES = {"age_band": "age band", "sex": "sex", "personal_status": "personal status and sex"}
TEST_SIZE, SEED, TARGET_APPROVAL = 0.3, 42, 0.70
N_CAL_BINS = 4


@dataclass
class Study:
    reports: dict[str, FairnessReport]
    cutoff: float
    approval_rate: float
    features: list[str]
    selected: list[str]
    n_train: int
    n_test: int
    test_auc: float
    fisher: dict[str, pd.Series]  # attribute -> p-value of "approval rate differs from the reference"


def run_study() -> Study:
    raw = load_bundled("german_credit")
    y = (raw[TARGET] == BAD).astype(int)
    features = [c for c in raw.columns if c not in (*PROTECTED, TARGET)]
    assert not set(PROTECTED) & set(features)  # protected attributes are never model inputs
    train, test = random_split(y, test_size=TEST_SIZE, seed=SEED)
    model = Scorecard().fit(raw.loc[train, features], y[train])
    details = model.score_details(raw.loc[test, features])
    score, pds = details["score"].to_numpy(), details["pd"].to_numpy()
    y_test = y[test].to_numpy()

    # cut-off: the candidate score whose approval rate on the held-out rows is closest to 70%
    candidates = np.unique(score)
    rates = np.array([(score >= c).mean() for c in candidates])
    cutoff = float(candidates[np.argmin(np.abs(rates - TARGET_APPROVAL))])

    from lendscore.validation import roc_auc

    groups = german_credit_groups(raw.loc[test])
    reports, fisher = {}, {}
    for attribute in ATTRIBUTES:
        rep = fairness_report(
            score, y_test, groups[attribute].to_numpy(), cutoff=cutoff, pds=pds, attribute=attribute, n_bins=N_CAL_BINS
        )
        reports[attribute] = rep
        t = rep.by_group
        ref = t.loc[rep.reference]
        fisher[attribute] = pd.Series(
            {
                g: float(
                    stats.fisher_exact(
                        [[r["n_approved"], r["n"] - r["n_approved"]], [ref["n_approved"], ref["n"] - ref["n_approved"]]]
                    ).pvalue
                )
                for g, r in t.iterrows()
            }
        )
    return Study(
        reports=reports,
        cutoff=cutoff,
        approval_rate=float((score >= cutoff).mean()),
        features=features,
        selected=list(model.selected_features_),
        n_train=int(train.sum()),
        n_test=int(test.sum()),
        test_auc=float(roc_auc(y_test, pds)),
        fisher=fisher,
    )


def plot_rates(study: Study) -> Figure:
    """Approval rate and default rate by group, one panel per protected attribute."""
    fig = Figure(figsize=(12, 4.2), layout="constrained")
    axes = fig.subplots(1, len(ATTRIBUTES), gridspec_kw={"width_ratios": [2, 2, 5]})
    for ax, (attribute, label) in zip(axes, ATTRIBUTES.items(), strict=True):
        t = study.reports[attribute].by_group
        x = np.arange(len(t))
        ax.bar(x - 0.2, t["approval_rate"], 0.4, color="#1f4e79", label="approval rate")
        ax.bar(x + 0.2, t["default_rate"], 0.4, color="#c0392b", label="default rate (all)")
        ref_rate = t.loc[study.reports[attribute].reference, "approval_rate"]
        ax.axhline(0.8 * ref_rate, color="#1f4e79", ls="--", lw=0.9, label="4/5 of reference approval")
        ax.set_xticks(
            x,
            [f"{g}\n(n={n})" for g, n in zip(t.index, t["n"], strict=True)],
            fontsize=7,
            rotation=0 if len(t) < 3 else 20,
            ha="center" if len(t) < 3 else "right",
        )
        ax.set_ylim(0, 1)
        ax.set_title(f"by {label}", fontsize=10)
    axes[0].set_ylabel("rate (held-out 30%)")
    axes[0].legend(fontsize=7, loc="upper left")
    fig.suptitle(
        f"German credit: approval and default rates by group at cut-off {study.cutoff:.1f} "
        f"(approves {study.approval_rate:.0%}); protected attributes not model inputs",
        fontsize=10,
    )
    return fig


def _md_table(frame: pd.DataFrame) -> list[str]:
    out = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    out += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return out


def render_markdown(study: Study, png_name: str) -> str:
    lines = [
        "# Fairness report: German credit",
        "",
        "Generated by `scripts/fairness_german.py` from the bundled UCI German credit data (1,000 loans, "
        "`credit_risk` = 2 is a default).",
        "",
        "**Protected attributes were not model inputs.** The scorecard was trained without `age_years`, "
        "`personal_status_and_sex` and `foreign_worker`; they are used only here, after scoring, to "
        "compare outcomes between groups. (Leaving them out does not by itself make the score fair: other "
        "inputs can act as proxies, which is what this report checks.)",
        "",
        f"- Model: `lendscore.Scorecard()` (defaults) trained on a stratified {1 - TEST_SIZE:.0%} split "
        f"(seed {SEED}, n = {study.n_train}); inputs offered: {len(study.features)}, selected: "
        f"{', '.join(f'`{c}`' for c in study.selected)}.",
        f"- Evaluation: the held-out {TEST_SIZE:.0%} (n = {study.n_test}); AUC {study.test_auc:.3f}.",
        f"- Cut-off: approve when score >= {study.cutoff:.1f}, chosen to approve about "
        f"{TARGET_APPROVAL:.0%} of the held-out applicants (actual {study.approval_rate:.1%}).",
        "- AIR (adverse impact ratio) = group approval rate / reference approval rate; the reference is "
        "the group with the highest approval rate. Four-fifths screen: AIR < 0.80 flags possible "
        "disparate impact for review. SMD = (group mean score - reference mean score) / pooled SD. "
        "Fisher p = exact test that the group's approval rate equals the reference's (small groups: a "
        "large p means the data cannot tell).",
        "",
        f"![approval and default rates by group]({png_name})",
        "",
    ]
    for attribute, label in ATTRIBUTES.items():
        rep = study.reports[attribute]
        t = rep.by_group
        table = pd.DataFrame(
            {
                "group": t.index,
                "n": t["n"],
                "approved": t["n_approved"],
                "approval rate": t["approval_rate"].map("{:.1%}".format),
                "default rate (all)": t["default_rate"].map("{:.1%}".format),
                "default rate (approved)": t["default_rate_approved"].map(
                    lambda v: "n/a" if pd.isna(v) else f"{v:.1%}"
                ),
                "AIR": t["air"].map("{:.3f}".format),
                "four-fifths": t["four_fifths"].map({True: "pass", False: "**FLAG**"}),
                "Fisher p": study.fisher[attribute].reindex(t.index).map("{:.3g}".format),
                "mean score": t["mean_score"].map("{:.1f}".format),
                "SMD": t["smd"].map("{:+.3f}".format),
                "mean PD": t["mean_pd"].map("{:.1%}".format),
                "PD - default rate": t["calibration_gap"].map("{:+.1%}".format),
            }
        )
        lines += [f"## By {label} (reference: {rep.reference})", ""] + _md_table(table) + [""]
        verdict = (
            "no group falls below four fifths of the reference approval rate"
            if not rep.flagged
            else f"flagged (AIR < 0.80): {', '.join(rep.flagged)}"
        )
        lines += [f"Four-fifths verdict: {verdict}.", ""]
        cal = rep.calibration.copy()
        cal["mean PD"] = cal["mean_pd"].map("{:.1%}".format)
        cal["default rate"] = cal["default_rate"].map("{:.1%}".format)
        lines += [f"Calibration within groups ({N_CAL_BINS} PD bins per group, lowest PD first):", ""]
        lines += _md_table(cal[["group", "bin", "n", "mean PD", "default rate"]]) + [""]
    lines += ["## Reading", ""] + _reading(study) + [""]
    lines += [
        "## From the command line",
        "",
        "The same figures come from `lendscore fairness`, with the protected attributes kept in their own",
        "file and joined by id (a group below `--min-group-size` is listed as too small to judge, not",
        "dropped; `tests/test_cli_fairness.py` checks the figures against `fairness_report`):",
        "",
        "```bash",
        "lendscore fairness applications.csv --groups groups.csv --id-column app_id --group age_band \\",
        "    --model model.json --target credit_risk --bad 2 --approval-rate 0.7 --out fairness.json --plot fairness.png",
        "```",
        "",
    ]
    return "\n".join(lines)


def _reading(study: Study) -> list[str]:
    out = []
    for attribute, label in ATTRIBUTES.items():
        rep = study.reports[attribute]
        t = rep.by_group
        lo = t["approval_rate"].idxmin()
        worst_gap = t["calibration_gap"].abs().idxmax()
        out.append(
            f"- **{label.capitalize()}.** Approval ranges from {t['approval_rate'].min():.0%} ({lo}) to "
            f"{t['approval_rate'].max():.0%} ({rep.reference}); lowest AIR {t['air'].min():.2f} "
            f"({'below' if t['air'].min() < 0.8 else 'above'} the 0.80 screen, Fisher p "
            f"{study.fisher[attribute][lo]:.2g}). Mean scores differ by up to "
            f"{t['smd'].abs().max():.2f} pooled SD. Default rates differ too ({t['default_rate'].min():.0%} to "
            f"{t['default_rate'].max():.0%}), so part of the approval gap follows observed risk. The model's "
            f"mean PD is furthest from the observed default rate for {worst_gap} "
            f"({t.loc[worst_gap, 'calibration_gap']:+.1%} points; negative = the model under-predicts "
            "that group's risk, positive = over-predicts)."
        )
    flagged = {label: study.reports[a].flagged for a, label in ATTRIBUTES.items() if study.reports[a].flagged}
    small = [f"{g} (n={int(n)})" for a in ATTRIBUTES for g, n in study.reports[a].by_group["n"].items() if n < 30]
    out.append(
        "- **What this means.** "
        + (
            "Flagged by the four-fifths screen: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in flagged.items()) + ". "
            if flagged
            else "No group is flagged by the four-fifths screen. "
        )
        + "A flag is a prompt to review, not a finding of discrimination: the next step is to ask which inputs "
        "drive the gap, whether they are justified by business necessity, and whether a less discriminatory "
        "alternative predicts as well. "
        + (
            f"Groups under 30 held-out applicants ({', '.join(small)}) carry wide uncertainty (see the Fisher "
            "p-values and the calibration bins of 3-7 loans); "
            if small
            else ""
        )
        + "with 300 held-out loans these figures should be confirmed on a larger sample before any conclusion. "
        "A negative PD - default rate means the model under-predicts that group's risk: such a group is scored "
        "more leniently than its observed defaults justify, the opposite of an adverse impact, but it still "
        "matters for pricing and provisioning."
    )
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-md", type=Path, default=Path("docs/fairness.md"))
    parser.add_argument("--out-png", type=Path, default=Path("docs/fairness.png"))
    args = parser.parse_args(argv)
    study = run_study()
    args.out_png.parent.mkdir(parents=True, exist_ok=True)
    plot_rates(study).savefig(args.out_png, dpi=120)
    args.out_md.write_text(render_markdown(study, args.out_png.name), encoding="utf-8")
    for attribute, rep in study.reports.items():
        t = rep.by_group
        print(
            f"{attribute}: reference {rep.reference}; AIR "
            + ", ".join(f"{g} {a:.3f}" for g, a in t["air"].items())
            + f"; flagged {rep.flagged or 'none'}"
        )
    print(f"cut-off {study.cutoff:.1f} approves {study.approval_rate:.1%}; wrote {args.out_md} and {args.out_png}")


if __name__ == "__main__":
    main()
