"""Weight of evidence (WoE) and information value (IV).

Sign convention (used everywhere in lendscore)::

    WoE_i = ln( (n_nonevent_i / N_nonevent) / (n_event_i / N_event) )

so a positive WoE means the bin is safer than the population (fewer defaults), and
``IV = sum_i (share_nonevent_i - share_event_i) * WoE_i >= 0``.

Zero-count rule (explicit, never a silent epsilon): a bin with no events or no non-events has an
infinite WoE. Such a bin gets one pseudo-observation at the population's average default rate,
``N_event / N`` events and ``N_nonevent / N`` non-events, added to that bin's counts only (the
column totals are unchanged); the bin is flagged ``woe_rule = "pseudo_count"``. This keeps the
sign right: a bin without events gets ``WoE = ln(1 + n_nonevent * N / N_nonevent) > 0`` (safer than
average) and a bin without non-events ``WoE = -ln(1 + n_event * N / N_event) < 0``. An empty bin
(no rows in training, e.g. a missing or special bin never seen) gets WoE 0, i.e. the population's
average risk, flagged ``woe_rule = "unseen"``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["woe_iv", "WOE_RULE_EXACT", "WOE_RULE_PSEUDO", "WOE_RULE_UNSEEN"]

WOE_RULE_EXACT = "exact"
WOE_RULE_PSEUDO = "pseudo_count"
WOE_RULE_UNSEEN = "unseen"


def woe_iv(n_event: np.ndarray, n_nonevent: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WoE and IV contribution of each bin, with the rule applied to each.

    Parameters
    ----------
    n_event, n_nonevent : array of shape (n_bins,)
        Event (default) and non-event counts per bin (weighted counts allowed).

    Returns
    -------
    woe, iv, rule : arrays of shape (n_bins,); ``rule`` holds one of the ``WOE_RULE_*`` strings.
    """
    e = np.asarray(n_event, dtype=float)
    ne = np.asarray(n_nonevent, dtype=float)
    tot_e, tot_ne = e.sum(), ne.sum()
    if tot_e <= 0 or tot_ne <= 0:
        raise ValueError(f"WoE needs both classes; got {tot_e:g} events and {tot_ne:g} non-events")
    empty = (e + ne) == 0
    zero = ~empty & ((e == 0) | (ne == 0))
    e_adj = np.where(zero, e + tot_e / (tot_e + tot_ne), e)
    ne_adj = np.where(zero, ne + tot_ne / (tot_e + tot_ne), ne)
    with np.errstate(divide="ignore", invalid="ignore"):
        woe = np.log((ne_adj / tot_ne) / (e_adj / tot_e))
    woe = np.where(empty, 0.0, woe)
    iv = (ne / tot_ne - e / tot_e) * woe
    rule = np.where(empty, WOE_RULE_UNSEEN, np.where(zero, WOE_RULE_PSEUDO, WOE_RULE_EXACT))
    return woe, iv, rule
