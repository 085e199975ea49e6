"""The "render" step of the validation report: the pack's numbers as formatted tables, plus figures.

Every number shown comes from the :class:`~lendscore.reports.pack_schema.ValidationPack`; the
figures are drawn from the samples in the context. Counts print as integers with thousands
separators, rates as percentages, scores with one decimal.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from lendscore.reports import plots
from lendscore.reports._format import (
    RATE,
    SCORE,
    SHARE,
    cell,
    count,
    figure_to_data_uri,
    fmt,
    grid,
    p_text,
    p_value,
    score_range,
)
from lendscore.reports.context import ReportContext
from lendscore.reports.pack_schema import ValidationPack
from lendscore.reports.view_sections import (
    characteristics_view,
    comparison_view,
    correlation_view,
    cutoffs_view,
    segments_view,
    stability_view,
)

__all__ = ["build_view_from_pack"]


def _metrics(pack: ValidationPack) -> dict[str, Any]:
    conf = {c.sample: c for c in pack.classification.confusion}
    rows: list[list[Any]] = []
    spec = [
        ("rows", lambda d, c: count(d.n)),
        ("defaults (events)", lambda d, c: count(d.n_event)),
        ("default rate", lambda d, c: fmt(d.n_event / d.n, RATE)),
        (
            "ROC AUC [95% bootstrap CI]",
            lambda d, c: (
                f"{d.auc:.4f}" + (f" [{d.auc_ci_low:.4f}, {d.auc_ci_high:.4f}]" if d.auc_ci_low is not None else "")
            ),
        ),
        ("Gini (2 AUC - 1)", lambda d, c: f"{d.gini:.4f}"),
        ("KS", lambda d, c: f"{d.ks:.4f}"),
        ("Brier score", lambda d, c: f"{d.brier:.4f}"),
        ("log loss", lambda d, c: f"{d.log_loss:.4f}"),
        ("PD cut-off", lambda d, c: f"{pack.classification.threshold:.4f}"),
        ("accuracy at cut-off", lambda d, c: fmt(c.accuracy, "{:.4f}")),
        ("precision (defaults) at cut-off", lambda d, c: fmt(c.precision, "{:.4f}")),
        ("recall (defaults) at cut-off", lambda d, c: fmt(c.recall, "{:.4f}")),
        ("F1 at cut-off", lambda d, c: fmt(c.f1, "{:.4f}")),
    ]
    for label, f in spec:
        rows.append([label, *(f(d, conf[d.sample]) for d in pack.discrimination)])
    return grid(["metric", *(d.sample for d in pack.discrimination)], rows)


def _headline(pack: ValidationPack) -> list[tuple[str, str, str]]:
    """(label, value, css class) of the figures a reviewer reads first."""
    out = []
    dq = pack.data_quality
    if dq is not None:
        rows = ", ".join(f"{s.name} {s.n:,}" for s in pack.samples)
        out.append(("data", f"{dq.rows_out:,} of {dq.rows_in:,} rows kept ({dq.n_dropped:,} dropped); {rows}", ""))
    for d in pack.discrimination:
        ci = f" [{d.auc_ci_low:.3f}, {d.auc_ci_high:.3f}]" if d.auc_ci_low is not None else ""
        out.append((f"AUC {d.sample}", f"{d.auc:.3f}{ci}; Gini {d.gini:.3f}; KS {d.ks:.3f}", ""))
    for s in pack.stability.score:
        st = s.stat
        moved = st.p_value is not None and st.p_value < 0.05
        cls = "warn" if st.flag != "stable" else "" if moved else "ok"
        test = "the chi-square test rejects no change" if moved else "no significant change"
        out.append(
            (
                f"score PSI {pack.stability.reference} → {st.sample}",
                f"{st.psi:.3f} ({st.flag}; {test}, {p_text(st.p_value)})",
                cls,
            )
        )
    for o in pack.rank_ordering:
        if o.holds:
            out.append((f"rank ordering {o.sample}", f"holds across {o.n_bands} bands", "ok"))
        else:
            sig = sum(b.significant for b in o.breaks)
            bands = ", ".join(str(b.band) for b in o.breaks)
            out.append(
                (
                    f"rank ordering {o.sample}",
                    f"band(s) {bands} break it ({sig} significant at 5%)",
                    "warn" if sig else "",
                )
            )
    for c in pack.calibration:
        if c.hosmer_lemeshow is not None:
            ok = c.hosmer_lemeshow.p_value >= 0.05
            text = f"{p_text(c.hosmer_lemeshow.p_value)} ({'no evidence of miscalibration' if ok else 'miscalibrated'} at 5%)"
            out.append((f"Hosmer-Lemeshow {c.sample}", text, "ok" if ok else "warn"))
    out.append(("limitations", f"{len(pack.limitations)} (section 13)", "warn" if pack.limitations else "ok"))
    return out


def _data(pack: ValidationPack) -> dict[str, Any]:
    samples = grid(
        ["sample", "role", "from", "to", "rows", "defaults", "goods", "default rate"],
        [
            [
                s.name,
                s.role,
                fmt(s.window_start),
                fmt(s.window_end),
                count(s.n),
                count(s.n_event),
                count(s.n_nonevent),
                fmt(s.event_rate, RATE),
            ]
            for s in pack.samples
        ],
    )
    dq = pack.data_quality
    if dq is None:
        return {"samples": samples, "quality": None}
    rules = grid(
        ["rule", "column", "action", "rows", "message"],
        [[r.rule, fmt(r.column), r.action, count(r.n_rows), r.message] for r in dq.rules],
    )
    dropped = grid(["column", "reason"], [[d.column, d.reason] for d in dq.dropped_columns])
    return {"samples": samples, "quality": {"dq": dq, "rules": rules, "dropped": dropped}}


def _gains(pack: ValidationPack) -> list[dict[str, Any]]:
    breaks = {o.sample: {b.band: b for b in o.breaks} for o in pack.rank_ordering}
    out = []
    for g in pack.gains.samples:
        rows = []
        for r in g.rows:
            b = breaks[g.sample].get(r.band)
            if b is not None:
                flag: Any = cell(f"breaks ({p_text(b.p_value)})", "warn" if b.significant else "flag")
            else:
                flag = "–" if r.band == g.rows[0].band or r.n == 0 else cell("falls", "ok")
            rows.append(
                [
                    str(r.band),
                    score_range(r.score_min, r.score_max),
                    count(r.n),
                    count(r.n_event),
                    count(r.n_nonevent),
                    fmt(r.bad_rate, RATE),
                    fmt(r.odds, "{:.2f}"),
                    count(r.cum_n_nonevent),
                    count(r.cum_n_event),
                    fmt(r.cum_share, SHARE),
                    fmt(r.capture_rate, SHARE),
                    fmt(r.lift, "{:.2f}"),
                    fmt(r.cum_lift, "{:.2f}"),
                    flag,
                ]
            )
        rows.append(
            ["total", "", count(g.n), count(g.n_event), count(g.n - g.n_event), fmt(g.n_event / g.n, RATE)] + [""] * 8
        )
        columns = ["band", "score", "rows", "bads", "goods", "bad rate", "odds (goods:bad)", "cum. goods", "cum. bads"]
        columns += ["cum. % rows", "capture rate", "lift", "cum. lift", "rank order"]
        out.append({"name": g.sample, "table": grid(columns, rows)})
    return out


def _coefficients(pack: ValidationPack) -> dict[str, Any]:
    rows = []
    for c in pack.coefficients:
        sig = "–" if c.significant is None else cell("yes", "ok") if c.significant else cell("no", "warn")
        sign = (
            "–" if c.sign_ok is None else cell("as expected (< 0)", "ok") if c.sign_ok else cell("wrong (>= 0)", "warn")
        )
        rows.append(
            [
                c.term,
                f"{c.coef:+.4f}",
                fmt(c.std_err, "{:.4f}"),
                fmt(c.z, "{:.2f}"),
                p_value(c.p_value),
                fmt(c.ci_low, "{:+.4f}"),
                fmt(c.ci_high, "{:+.4f}"),
                sig,
                sign,
                "yes" if c.penalised else "no",
            ]
        )
    columns = [
        "term",
        "coefficient",
        "std. error",
        "z",
        "p-value",
        "95% CI low",
        "95% CI high",
        "significant at 5%",
        "sign",
        "penalised",
    ]
    return grid(columns, rows)


def _calibration(pack: ValidationPack, ctx: ReportContext) -> list[dict[str, Any]]:
    out = []
    for c in pack.calibration:
        hl = c.hosmer_lemeshow
        hl_text = (
            f"statistic {hl.statistic:.3f} on {hl.df} degrees of freedom, p-value {hl.p_value:.4g}"
            if hl
            else (c.note or "")
        )
        frame = pd.DataFrame(
            [
                {
                    "group": r.grade,
                    "n": r.n,
                    "n_event": r.n_event,
                    "predicted_pd": r.predicted_pd,
                    "observed_rate": r.observed_rate,
                }
                for r in c.rows
            ]
        )
        table = grid(
            ["grade", "rows", "defaults", "mean PD", "observed default rate", "binomial p-value", "at 5%"],
            [
                [
                    r.grade,
                    count(r.n),
                    count(r.n_event),
                    fmt(r.predicted_pd, RATE),
                    fmt(r.observed_rate, RATE),
                    p_value(r.binomial_p_value),
                    cell("miscalibrated", "warn") if r.miscalibrated else cell("consistent", "ok"),
                ]
                for r in c.rows
            ],
        )
        figure = figure_to_data_uri(plots.plot_calibration(frame, title=f"Calibration by grade ({c.sample})"))
        n_flagged = sum(r.miscalibrated for r in c.rows)
        out.append(
            {
                "name": c.sample,
                "hl_text": hl_text,
                "hl_pass": None if hl is None else hl.p_value >= 0.05,
                "n_flagged": n_flagged,
                "table": table,
                "figure": figure,
            }
        )
    return out


def build_view_from_pack(ctx: ReportContext, pack: ValidationPack) -> dict[str, Any]:
    """Template variables of the validation report: the pack formatted, and the figures."""
    splits = ctx.splits.items()
    gain_frames = {g.sample: pd.DataFrame([r.model_dump() for r in g.rows]) for g in pack.gains.samples}
    characteristics = [c.characteristic for c in pack.characteristics]
    conf = {c.sample: c for c in pack.classification.confusion}
    return {
        "title": pack.title,
        "model_info": [(i.key, i.value) for i in pack.model],
        "headline": _headline(pack),
        "split_names": list(ctx.splits),
        "data": _data(pack),
        "metrics": _metrics(pack),
        "roc_figure": figure_to_data_uri(plots.plot_roc({name: (s.y, s.pd) for name, s in splits})),
        "ks_figures": {
            name: figure_to_data_uri(plots.plot_ks(s.y, s.score, title=f"KS ({name})")) for name, s in splits
        },
        "dist_figures": {
            name: figure_to_data_uri(plots.plot_score_distribution(s.y, s.score, title=f"Score distribution ({name})"))
            for name, s in splits
        },
        "gains": _gains(pack),
        "gains_basis": pack.gains.basis,
        "rank_ordering": pack.rank_ordering,
        "rank_figure": figure_to_data_uri(plots.plot_bad_rate_by_band(gain_frames)),
        "grades": grid(
            ["grade", "PD from", "PD to", "score from", "score to"],
            [
                [g.grade, fmt(g.pd_min, RATE), fmt(g.pd_max, RATE), fmt(g.score_min, SCORE), fmt(g.score_max, SCORE)]
                for g in pack.master_scale
            ],
        ),
        "calibration": _calibration(pack, ctx),
        "stability": stability_view(pack),
        "characteristics": characteristics_view(pack),
        "woe_figures": [(c, figure_to_data_uri(plots.plot_woe(ctx.points_table, c))) for c in characteristics],
        "coef_table": _coefficients(pack),
        "selection": grid(
            ["feature", "IV", "selected", "reason"],
            [[s.feature, fmt(s.iv, "{:.4f}"), "yes" if s.selected else "no", s.reason] for s in pack.selection],
        ),
        "n_selected": sum(s.selected for s in pack.selection),
        "correlation": correlation_view(pack),
        "threshold": pack.classification.threshold,
        "threshold_score": pack.classification.score_equivalent,
        "threshold_rule": pack.classification.threshold_rule,
        "confusion": {name: conf[name] for name in ctx.splits},
        "cutoffs": cutoffs_view(pack),
        "limitations": pack.limitations,
        "notes": pack.notes,
        "comparison": comparison_view(pack),
        "rounding": pack.rounding,
        "segments": segments_view(pack),
    }
