"""How the PD cut-off for class predictions is chosen (stated in words for the report)."""
from __future__ import annotations

import numpy as np

__all__ = ["choose_threshold"]


def choose_threshold(y, p, rule="f1", sample_weight=None) -> tuple[float, str]:
    """(threshold, sentence). ``rule``: "f1" (max F1), "ks" (max TPR - FPR) or a fixed PD."""
    if not isinstance(rule, str):
        return float(rule), f"fixed PD cut-off {float(rule):g} set by the user"
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    w = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    order = np.argsort(-p, kind="mergesort")
    ps, ys, ws = p[order], y[order], w[order]
    tp = np.cumsum(ws * ys)
    fp = np.cumsum(ws * (1 - ys))
    last = np.r_[ps[1:] != ps[:-1], True]  # predict bad for PD >= ps[i]; ties move together
    tp, fp, cut = tp[last], fp[last], ps[last]
    pos, neg = tp[-1], fp[-1]
    if rule == "f1":
        f1 = 2 * tp / (tp + fp + pos)
        i = int(np.argmax(f1))
        return float(cut[i]), "maximises F1 on the training predictions (PD >= cut-off predicts default)"
    if rule == "ks":
        i = int(np.argmax(tp / pos - fp / neg))
        return float(cut[i]), "maximises TPR - FPR (the KS point) on the training predictions"
    raise ValueError(f"threshold rule must be 'f1', 'ks' or a number; got {rule!r}")
