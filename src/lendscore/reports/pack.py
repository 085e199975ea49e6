"""The validation pack: every number of the validation report, computed once (the "compute" step).

:func:`build_pack` turns a :class:`~lendscore.reports.context.ReportContext` into a
:class:`~lendscore.reports.pack_schema.ValidationPack`; ``report.json`` is that pack and
``report.html`` formats the same pack (plus figures), so the two never disagree.

Each per-sample section is computed on every sample (train and test side by side); stability is
measured from the reference sample (the first) to each other one, with
:func:`lendscore.monitoring.drift.psi` (its zero-bin rule and chi-square test). Definitions of the
gains, rank-ordering and cut-off tables are in :mod:`lendscore.reports.tables`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from lendscore._version import __version__
from lendscore.errors import LendscoreError
from lendscore.reports import pack_schema as ps
from lendscore.reports.bins import characteristic_analysis, score_stability
from lendscore.reports.comparison import comparison_section, rounding_section
from lendscore.reports.context import ReportContext, SplitResult
from lendscore.reports.limitations import limitations
from lendscore.reports.pack_schema import num
from lendscore.reports.segments import segments_section
from lendscore.reports.tables import (
    correlation_table,
    cutoff_strategy,
    gains_table,
    rank_ordering,
    score_deciles,
    vif_table,
)
from lendscore.validation import calibration_by_group, confusion, evaluate, hosmer_lemeshow

__all__ = ["build_pack", "info_items"]

ALPHA = 0.05


def info_items(info: Mapping[str, Any]) -> list[ps.InfoItem]:
    """Model information as (key, text) rows; a mapping prints as ``k=v, ...``, a list joined."""
    rows = []
    for key, value in info.items():
        if isinstance(value, Mapping):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, list | tuple):
            value = ", ".join(map(str, value))
        rows.append(ps.InfoItem(key=str(key).replace("_", " "), value=str(value)))
    return rows


def _metrics(ctx: ReportContext) -> dict[str, dict[str, Any]]:
    return {
        name: s.metrics if s.metrics is not None else evaluate(s.y, s.pd, ctx.threshold)
        for name, s in ctx.splits.items()
    }


def _samples(ctx: ReportContext) -> list[ps.Sample]:
    out = []
    for i, (name, s) in enumerate(ctx.splits.items()):
        n, n_event = int(len(s.y)), int(np.sum(s.y))
        w = s.window or {}
        out.append(
            ps.Sample(
                name=name,
                role="reference" if i == 0 else "validation",
                window_start=w.get("start"),
                window_end=w.get("end"),
                n=n,
                n_event=n_event,
                n_nonevent=n - n_event,
                event_rate=n_event / n,
            )
        )
    return out


def _data_quality(dq: Mapping[str, Any] | None) -> ps.DataQuality | None:
    if dq is None:
        return None
    issues = dq.get("issues", dq.get("rules", []))
    rules = [
        ps.QualityRule(
            rule=str(i["rule"]),
            column=i.get("column"),
            action=str(i.get("action", "")),
            n_rows=int(i["n_rows"]),
            message=str(i.get("message", "")),
        )
        for i in issues
    ]
    dropped = [ps.DroppedColumn(column=c, reason=r) for c, r in (dq.get("dropped_columns") or {}).items()]
    rows_in, rows_out = int(dq["rows_in"]), int(dq["rows_out"])
    return ps.DataQuality(
        source=dq.get("source"),
        rows_in=rows_in,
        rows_out=rows_out,
        n_dropped=rows_in - rows_out,
        rules=rules,
        dropped_columns=dropped,
    )


def _discrimination(metrics: Mapping[str, Mapping[str, Any]]) -> list[ps.Discrimination]:
    keys = ("n", "n_event", "auc", "auc_ci_low", "auc_ci_high", "gini", "ks", "brier", "log_loss")
    return [ps.Discrimination(sample=name, **{k: m.get(k) for k in keys}) for name, m in metrics.items()]


def _classification(ctx: ReportContext, metrics) -> ps.Classification:
    rows = []
    for name, s in ctx.splits.items():
        (tn, fp), (fn, tp) = confusion(s.y, s.pd, ctx.threshold).to_numpy().tolist()
        m = metrics[name]
        rows.append(
            ps.Confusion(
                sample=name,
                tn=tn,
                fp=fp,
                fn=fn,
                tp=tp,
                declined_share=(tp + fp) / max(tn + fp + fn + tp, 1),
                **{k: num(m.get(k)) for k in ("accuracy", "precision", "recall", "f1")},
            )
        )
    return ps.Classification(
        threshold=ctx.threshold,
        threshold_rule=ctx.threshold_rule,
        score_equivalent=_score_of_pd(ctx, ctx.threshold),
        confusion=rows,
    )


def _score_of_pd(ctx: ReportContext, p: float) -> float | None:
    if ctx.scaling is None or not 0 < p < 1:
        return None
    offset, factor = ctx.scaling
    return float(offset - factor * math.log(p / (1 - p)))


def _pd_of_score(ctx: ReportContext, score: float) -> float | None:
    if ctx.scaling is None:
        return None
    offset, factor = ctx.scaling
    return float(1 / (1 + math.exp((score - offset) / factor)))


def _edges(ctx: ReportContext) -> np.ndarray:
    if ctx.score_edges is not None:
        return np.asarray(ctx.score_edges, dtype=float)
    return score_deciles(next(iter(ctx.splits.values())).score)


def _gains(ctx: ReportContext, edges: np.ndarray) -> tuple[ps.Gains, list[ps.RankOrdering], dict[str, pd.DataFrame]]:
    tables, samples, orders = {}, [], []
    for name, s in ctx.splits.items():
        g = gains_table(s.y, s.score, edges)
        ro = rank_ordering(g, alpha=ALPHA)
        broken = set(ro.loc[ro["breaks"], "band"])
        rows = [
            ps.GainsRow(
                **{k: (num(v) if isinstance(v, float) else int(v)) for k, v in r.items()},
                breaks_rank_order=int(r["band"]) in broken,
            )
            for r in g.to_dict(orient="records")
        ]
        samples.append(ps.SampleGains(sample=name, n=int(g["n"].sum()), n_event=int(g["n_event"].sum()), rows=rows))
        breaks = [
            ps.RankBreak(
                band=int(r.band),
                bad_rate=r.bad_rate,
                previous_band=int(r.previous_band),
                previous_bad_rate=r.previous_bad_rate,
                p_value=r.p_value,
                significant=bool(r.significant),
            )
            for r in ro[ro["breaks"]].itertuples(index=False)
        ]
        orders.append(ps.RankOrdering(sample=name, n_bands=len(ro), holds=not breaks, breaks=breaks))
        tables[name] = g
    basis = (
        "score deciles of the reference sample (the monitoring reference's bands)"
        if ctx.score_edges is not None
        else "score deciles of the reference sample"
    )
    return ps.Gains(basis=basis, score_edges=edges.tolist(), samples=samples), orders, tables


def _calibration(name: str, s: SplitResult) -> ps.Calibration:
    table = calibration_by_group(s.y, s.pd, s.grade)
    try:
        r = hosmer_lemeshow(s.y, s.pd)
        hl, note = ps.HosmerLemeshow(statistic=r.statistic, df=r.df, p_value=r.p_value), None
    except LendscoreError as e:  # too few rows, or degenerate PD: say so instead of failing the report
        hl, note = None, f"not computed: {e}"
    rows = [
        ps.CalibrationRow(
            grade=str(r.group),
            n=int(r.n),
            n_event=int(r.n_event),
            predicted_pd=float(r.predicted_pd),
            observed_rate=float(r.observed_rate),
            binomial_p_value=float(r.binomial_p_value),
            miscalibrated=bool(r.flag),
        )
        for r in table.itertuples(index=False)
    ]
    return ps.Calibration(sample=name, hosmer_lemeshow=hl, note=note, rows=rows)


def _coefficients(ctx: ReportContext, characteristics: set[str]) -> list[ps.Coefficient]:
    out = []
    for term, r in ctx.coef_table.iterrows():
        p = num(r.get("p_value"))
        is_char = str(term) in characteristics
        out.append(
            ps.Coefficient(
                term=str(term),
                coef=float(r["coef"]),
                std_err=num(r.get("std_err")),
                z=num(r.get("z")),
                p_value=p,
                ci_low=num(r.get("ci_low")),
                ci_high=num(r.get("ci_high")),
                significant=None if p is None else p < ALPHA,
                expected_sign="negative" if is_char else None,
                sign_ok=bool(r["coef"] < 0) if is_char else None,
                penalised=bool(r.get("penalised", False)),
            )
        )
    return out


def _correlation(ctx: ReportContext) -> tuple[ps.Correlation | None, list[ps.VIFRow]]:
    W = ctx.woe_design
    if W is None or W.shape[1] == 0:
        return None, []
    R = correlation_table(W)
    basis = (
        f"Pearson correlation of the scoring WoE of the model's {W.shape[1]} terms on the {len(W):,} "
        "reference rows (selection used the cross-fitted WoE of the same rows)"
    )
    corr = ps.Correlation(
        basis=basis, n_rows=len(W), characteristics=[str(c) for c in W.columns], matrix=R.to_numpy().tolist()
    )
    rows = [
        ps.VIFRow(
            characteristic=r.characteristic,
            vif=num(r.vif),
            max_abs_corr=num(r.max_abs_corr),
            most_correlated_with=r.most_correlated_with,
        )
        for r in vif_table(W).itertuples(index=False)
    ]
    return corr, rows


def _cutoffs(ctx: ReportContext, edges: np.ndarray) -> ps.CutoffStrategy:
    model_score = _score_of_pd(ctx, ctx.threshold)
    cuts = sorted(set(edges.tolist()) | ({model_score} if model_score is not None else set()))
    samples = []
    for name, s in ctx.splits.items():
        exposure = s.exposure if s.exposure is not None else 1.0
        t = cutoff_strategy(s.y, s.score, s.pd, cuts, lgd=ctx.lgd, exposure=exposure)
        rows = [
            ps.CutoffRow(
                cutoff=r["cutoff"],
                pd_equivalent=_pd_of_score(ctx, r["cutoff"]),
                model_cutoff=model_score is not None and r["cutoff"] == model_score,
                **{k: (num(v) if isinstance(v, float) else int(v)) for k, v in r.items() if k != "cutoff"},
            )
            for r in t.to_dict(orient="records")
        ]
        samples.append(ps.SampleCutoffs(sample=name, rows=rows))
    basis = "cut-offs at the score band edges" + (" and at the model's PD cut-off" if model_score is not None else "")
    return ps.CutoffStrategy(lgd=ctx.lgd, exposure=ctx.exposure_label, basis=basis, samples=samples)


def build_pack(ctx: ReportContext) -> ps.ValidationPack:
    """Compute every section of the validation report (see :mod:`lendscore.reports.pack_schema`)."""
    metrics = _metrics(ctx)
    edges = _edges(ctx)
    gains, orders, gain_tables = _gains(ctx, edges)
    characteristics, csi = characteristic_analysis(ctx)
    names = {c.characteristic for c in characteristics}
    coefficients = _coefficients(ctx, names)
    corr, vifs = _correlation(ctx)
    calibration = [_calibration(name, s) for name, s in ctx.splits.items()]
    stability = ps.Stability(
        reference=next(iter(ctx.splits)), score=score_stability(ctx, gain_tables), characteristics=csi
    )
    selection = [
        ps.SelectionRow(
            feature=str(r["feature"]), iv=num(r.get("iv")), selected=bool(r["selected"]), reason=r["reason"]
        )
        for r in ctx.selection.to_dict(orient="records")
    ]
    grades = [
        ps.Grade(
            grade=str(g["grade"]),
            pd_min=g["pd_min"],
            pd_max=g["pd_max"],
            score_min=num(g["score_min"]),
            score_max=num(g["score_max"]),
        )
        for g in ctx.grades
    ]
    parts = {
        "characteristics": characteristics,
        "coefficients": coefficients,
        "vif": vifs,
        "rank_ordering": orders,
        "stability": stability,
        "calibration": calibration,
        "samples": _samples(ctx),
    }
    return ps.ValidationPack(
        schema_version=ps.PACK_SCHEMA_VERSION,
        title=ctx.title,
        lendscore_version=__version__,
        model=info_items(ctx.model_info),
        reference_sample=next(iter(ctx.splits)),
        data_quality=_data_quality(ctx.data_quality),
        discrimination=_discrimination(metrics),
        classification=_classification(ctx, metrics),
        gains=gains,
        master_scale=grades,
        selection=selection,
        correlation=corr,
        cutoffs=_cutoffs(ctx, edges),
        limitations=limitations(ctx, **parts),
        notes=list(ctx.notes),
        comparison=comparison_section(ctx),
        rounding=rounding_section(ctx),
        segments=segments_section(ctx),
        **parts,
    )
