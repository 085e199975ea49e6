"""Characteristic analysis and stability: the bins of the reference sample against every other sample.

Per characteristic and sample: rows, share, bad rate, WoE and IV on that sample's counts (the
zero-count rule of :func:`lendscore.features.woe.woe_iv`); per other sample, the CSI and its
chi-square test (:func:`lendscore.monitoring.drift.psi`, with its zero-bin rule), and each bin's
PSI term on the raw shares. The score PSI is the same computation on the score bands.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from lendscore.features.woe import woe_iv
from lendscore.monitoring.drift import psi
from lendscore.reports import pack_schema as ps
from lendscore.reports.context import ReportContext
from lendscore.reports.pack_schema import num

__all__ = ["characteristic_analysis", "score_stability"]


def _psi_stat(sample: str, expected, actual) -> dict[str, Any]:
    r = psi(expected, actual)
    return {
        "sample": sample,
        "psi": num(r.psi),
        "flag": r.flag,
        "smoothed": r.smoothed,
        "n": r.n,
        "chi2": num(r.chi2),
        "df": r.df,
        "p_value": num(r.p_value),
        "n_new_bin": r.n_new_bin,
    }


def _contributions(expected: np.ndarray, actual: np.ndarray) -> list[float | None]:
    """Each bin's PSI term on the raw shares; 0 for a bin empty in both, None for one empty in one."""
    e, a = expected / expected.sum(), actual / max(actual.sum(), 1)
    out: list[float | None] = []
    for ei, ai in zip(e, a, strict=True):
        out.append(0.0 if ei == ai == 0 else None if ei == 0 or ai == 0 else float((ai - ei) * math.log(ai / ei)))
    return out


def score_stability(ctx: ReportContext, gains: dict[str, pd.DataFrame]) -> list[ps.ScoreStability]:
    ref_name, *others = list(ctx.splits)
    ref = gains[ref_name]
    out = []
    for name in others:
        g = gains[name]
        e, a = ref["n"].to_numpy(dtype=float), g["n"].to_numpy(dtype=float)
        bands = [
            ps.ScoreBandShift(
                band=int(b),
                score_min=num(lo),
                score_max=num(hi),
                n_expected=int(ne),
                n_actual=int(na),
                expected_share=ne / e.sum(),
                actual_share=na / max(a.sum(), 1),
                contribution=c,
            )
            for b, lo, hi, ne, na, c in zip(
                ref["band"], ref["score_min"], ref["score_max"], e, a, _contributions(e, a), strict=True
            )
        ]
        out.append(ps.ScoreStability(stat=ps.PSIStat(**_psi_stat(name, e, a)), bands=bands))
    return out


def _counts(ctx: ReportContext) -> pd.DataFrame:
    """Events and non-events per (characteristic, bin position, sample)."""
    if ctx.bin_counts is not None:
        return ctx.bin_counts
    pts = ctx.points_table
    ref = next(iter(ctx.splits))
    return pd.DataFrame(
        {
            "characteristic": pts["characteristic"],
            "bin": pts.groupby("characteristic", sort=False).cumcount(),
            "sample": ref,
            "n_event": pts["n_event"],
            "n_nonevent": pts["n_nonevent"],
        }
    )


def _bin_sample(n_event: np.ndarray, n_nonevent: np.ndarray) -> tuple[list[ps.BinSample], float | None]:
    n = n_event + n_nonevent
    if n_event.sum() > 0 and n_nonevent.sum() > 0:
        woe, iv, _ = woe_iv(n_event, n_nonevent)
        iv_total: float | None = float(iv.sum())
    else:  # one class only: WoE is not defined
        woe = iv = np.full(n.shape, np.nan)
        iv_total = None
    rows = [
        ps.BinSample(
            n=int(round(ni)),
            n_event=int(round(ei)),
            n_nonevent=int(round(gi)),
            share=num(ni / n.sum()) if n.sum() > 0 else None,
            event_rate=num(ei / ni) if ni > 0 else None,
            woe=num(w) if ni > 0 else None,
            iv=num(v) if ni > 0 else None,
        )
        for ni, ei, gi, w, v in zip(n, n_event, n_nonevent, woe, iv, strict=True)
    ]
    return rows, iv_total


def characteristic_analysis(ctx: ReportContext) -> tuple[list[ps.Characteristic], list[ps.CharacteristicStability]]:
    counts = _counts(ctx)
    ref_name, *others = list(ctx.splits)
    pts = ctx.points_table
    out, stab = [], []
    for c in dict.fromkeys(counts["characteristic"]):
        rows = pts[pts["characteristic"] == c].reset_index(drop=True)
        per_sample, iv, n_by_sample = {}, {}, {}
        for name in ctx.splits:
            sub = counts[(counts["characteristic"] == c) & (counts["sample"] == name)].set_index("bin")
            if sub.empty:
                continue
            sub = sub.reindex(range(len(rows)), fill_value=0)
            e, g = sub["n_event"].to_numpy(dtype=float), sub["n_nonevent"].to_numpy(dtype=float)
            per_sample[name], iv[name] = _bin_sample(e, g)
            n_by_sample[name] = e + g
        csi, csi_p, contrib = {}, {}, {}
        for name in others:
            if name in n_by_sample and ref_name in n_by_sample:
                stat = _psi_stat(name, n_by_sample[ref_name], n_by_sample[name])
                stab.append(ps.CharacteristicStability(characteristic=c, **stat))
                csi[name], csi_p[name] = stat["psi"], stat["p_value"]
                contrib[name] = _contributions(n_by_sample[ref_name], n_by_sample[name])
        bins = [
            ps.BinRow(
                bin=str(r["bin"]),
                points=num(r.get("points")),
                woe_model=num(r.get("woe")),
                samples={name: per_sample[name][i] for name in per_sample},
                csi_contribution={name: contrib[name][i] for name in contrib},
            )
            for i, r in enumerate(rows.to_dict(orient="records"))
        ]
        out.append(ps.Characteristic(characteristic=c, iv=iv, csi=csi, csi_p_value=csi_p, bins=bins))
    return out, stab
