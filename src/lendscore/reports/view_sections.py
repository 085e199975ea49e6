"""Formatted tables of the stability, characteristic, correlation and cut-off sections (the "render" step)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from lendscore.reports import plots
from lendscore.reports._format import (
    MONEY,
    RATE,
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
from lendscore.reports.pack_schema import ValidationPack

__all__ = [
    "characteristics_view",
    "comparison_view",
    "correlation_view",
    "cutoffs_view",
    "segments_view",
    "stability_view",
]


def _auc_ci(auc: float | None, low: float | None, high: float | None) -> str:
    if auc is None:
        return "–"
    return f"{auc:.4f}" + (f" [{low:.4f}, {high:.4f}]" if low is not None and high is not None else "")


def comparison_view(pack: ValidationPack) -> dict[str, Any] | None:
    c = pack.comparison
    if c is None:
        return None
    table = grid(
        [
            "model",
            "rows",
            "defaults",
            "AUC [95% CI]",
            "KS",
            "Gini",
            "characteristics",
            "top score reasons (not approved)",
        ],
        [
            [
                m.label,
                count(m.n),
                count(m.n_event),
                _auc_ci(m.auc, m.auc_ci_low, m.auc_ci_high),
                f"{m.ks:.4f}",
                f"{m.gini:.4f}",
                count(m.n_characteristics),
                "; ".join(m.top_reasons) or "–",
            ]
            for m in c.models
        ],
    )
    return {"sample": c.sample, "table": table, "text": c.text}


def segments_view(pack: ValidationPack) -> dict[str, Any] | None:
    s = pack.segments
    if s is None:
        return None
    table = grid(
        [s.column, "rows", "defaults", "default rate", "AUC [95% CI]", "Gini", "KS"],
        [
            [
                r.value,
                count(r.n),
                count(r.n_event),
                fmt(r.n_event / r.n if r.n else None, RATE),
                cell(f"too small (under {s.min_rows} rows or one class only)", "flag")
                if r.too_small
                else _auc_ci(r.auc, r.auc_ci_low, r.auc_ci_high),
                fmt(r.gini, "{:.4f}"),
                fmt(r.ks, "{:.4f}"),
            ]
            for r in s.rows
        ],
    )
    return {"column": s.column, "sample": s.sample, "min_rows": s.min_rows, "table": table}


def stability_view(pack: ValidationPack) -> dict[str, Any]:
    ref = pack.stability.reference
    stat_cols = ["n", "PSI", "flag", "chi-square", "df", "p-value", "rows in bins new to the reference"]
    score = []
    for s in pack.stability.score:
        st = s.stat
        summary = grid(
            stat_cols,
            [
                [
                    count(st.n),
                    f"{st.psi:.4f}",
                    cell(st.flag, "ok" if st.flag == "stable" else "warn"),
                    fmt(st.chi2, "{:.1f}"),
                    str(st.df),
                    p_value(st.p_value),
                    count(st.n_new_bin),
                ]
            ],
        )
        bands = grid(
            ["band", "score", f"rows {ref}", f"share {ref}", f"rows {st.sample}", f"share {st.sample}", "PSI term"],
            [
                [
                    str(b.band),
                    score_range(b.score_min, b.score_max),
                    count(b.n_expected),
                    fmt(b.expected_share, SHARE),
                    count(b.n_actual),
                    fmt(b.actual_share, SHARE),
                    fmt(b.contribution, "{:.4f}"),
                ]
                for b in s.bands
            ],
        )
        frame = pd.DataFrame([b.model_dump() for b in s.bands])
        figure = figure_to_data_uri(
            plots.plot_band_shares(frame, labels=(ref, st.sample), title=f"Score bands: {ref} and {st.sample}")
        )
        score.append({"name": st.sample, "summary": summary, "bands": bands, "figure": figure, "smoothed": st.smoothed})
    csi = grid(
        ["characteristic", "sample", *stat_cols],
        [
            [
                c.characteristic,
                c.sample,
                count(c.n),
                f"{c.psi:.4f}",
                cell(c.flag, "ok" if c.flag == "stable" else "warn"),
                fmt(c.chi2, "{:.1f}"),
                str(c.df),
                p_value(c.p_value),
                count(c.n_new_bin),
            ]
            for c in pack.stability.characteristics
        ],
    )
    return {"reference": ref, "score": score, "csi": csi}


def characteristics_view(pack: ValidationPack) -> list[dict[str, Any]]:
    out = []
    for ch in pack.characteristics:
        names = list(ch.iv)
        others = list(ch.csi)
        columns = ["bin", "points"]
        for n in names:
            columns += [f"rows {n}", f"share {n}", f"bad rate {n}", f"WoE {n}"]
        columns += [f"CSI term {o}" for o in others]
        rows = []
        for b in ch.bins:
            row = [b.bin, fmt(b.points, "{:.1f}")]
            for n in names:
                s = b.samples[n]
                row += [count(s.n), fmt(s.share, SHARE), fmt(s.event_rate, RATE), fmt(s.woe, "{:.3f}")]
            row += [fmt(b.csi_contribution[o], "{:.4f}") for o in others]
            rows.append(row)
        iv = "; ".join(f"IV {n} {fmt(v, '{:.4f}')}" for n, v in ch.iv.items())
        csi = "; ".join(
            f"CSI {pack.reference_sample} → {o} {fmt(v, '{:.4f}')} ({p_text(ch.csi_p_value[o])})"
            for o, v in ch.csi.items()
        )
        out.append(
            {"name": ch.characteristic, "summary": "; ".join(t for t in (iv, csi) if t), "table": grid(columns, rows)}
        )
    return out


def correlation_view(pack: ValidationPack) -> dict[str, Any] | None:
    c = pack.correlation
    if c is None:
        return None
    rows = []
    for name, values in zip(c.characteristics, c.matrix, strict=True):
        cells: list[Any] = [name]
        for other, r in zip(c.characteristics, values, strict=True):
            text = f"{r:.2f}"
            cells.append(cell(text, "diag" if other == name else "strong" if abs(r) >= 0.5 else ""))
        rows.append(cells)
    vif = grid(
        ["characteristic", "VIF", "largest |correlation|", "with"],
        [
            [v.characteristic, fmt(v.vif, "{:.2f}"), fmt(v.max_abs_corr, "{:.3f}"), fmt(v.most_correlated_with)]
            for v in pack.vif
        ],
    )
    return {"basis": c.basis, "matrix": grid(["", *c.characteristics], rows), "vif": vif}


def cutoffs_view(pack: ValidationPack) -> dict[str, Any]:
    samples = pack.cutoffs.samples
    columns = ["approve score >=", "PD at cut-off"]
    for s in samples:
        columns += [
            f"approved {s.sample}",
            f"bad rate approved {s.sample}",
            f"bads declined {s.sample}",
            f"expected loss {s.sample}",
            f"observed loss {s.sample}",
        ]
    rows = []
    for i, first in enumerate(samples[0].rows):
        label = f"{first.cutoff:.1f}" + (" (model)" if first.model_cutoff else "")
        row: list[Any] = [cell(label, "strong") if first.model_cutoff else label, fmt(first.pd_equivalent, RATE)]
        for s in samples:
            r = s.rows[i]
            row += [
                fmt(r.approval_rate, SHARE),
                fmt(r.bad_rate, RATE),
                fmt(r.bads_declined_share, SHARE),
                fmt(r.expected_loss, MONEY),
                fmt(r.observed_loss, MONEY),
            ]
        rows.append(row)
    return {
        "table": grid(columns, rows),
        "lgd": pack.cutoffs.lgd,
        "exposure": pack.cutoffs.exposure,
        "basis": pack.cutoffs.basis,
    }
