"""Discrimination by segment: AUC with its bootstrap interval, Gini and KS per value of one column
on one sample. A segment under :data:`MIN_ROWS` rows or without both classes is listed as too small
(its counts shown, no metrics), never dropped."""

from __future__ import annotations

import numpy as np

from lendscore.reports import pack_schema as ps
from lendscore.reports.context import ReportContext
from lendscore.validation.metrics import auc_ci, ks_statistic, roc_auc

__all__ = ["MIN_ROWS", "segments_section"]

#: Fewest rows a segment needs for its metrics.
MIN_ROWS = 30


def segments_section(ctx: ReportContext) -> ps.Segments | None:
    seg = ctx.segment
    if seg is None:
        return None
    split = ctx.splits[seg.sample]
    values = np.asarray(seg.values).astype(str)
    y = np.asarray(split.y, dtype=float)
    p = np.asarray(split.pd, dtype=float)
    if values.size != y.size:
        raise ValueError(f"segment {seg.column!r}: {values.size} values for {y.size} rows of {seg.sample}")
    rows = []
    for value in sorted(np.unique(values), key=lambda v: (-int(np.sum(values == v)), v)):
        mask = values == value
        n, n_event = int(mask.sum()), int(y[mask].sum())
        small = n < MIN_ROWS or n_event in (0, n)
        if small:
            auc = low = high = gini = ks = None
        else:
            auc = roc_auc(y[mask], p[mask])
            low, high = auc_ci(y[mask], p[mask])
            gini, ks = 2 * auc - 1, ks_statistic(y[mask], p[mask]).statistic
        rows.append(
            ps.SegmentRow(
                value=str(value),
                n=n,
                n_event=n_event,
                too_small=small,
                auc=auc,
                auc_ci_low=low,
                auc_ci_high=high,
                gini=gini,
                ks=ks,
            )
        )
    return ps.Segments(column=seg.column, sample=seg.sample, min_rows=MIN_ROWS, rows=rows)
