"""The limitations section, written from the computed facts (never from a template of worries).

Each entry states a fact of this model and these samples, with its numbers: characteristics kept
although not significant (and why selection kept them), small bins, what the data lacks or dropped,
rank-ordering breaks, stability shifts and calibration failures. A topic with nothing to report
writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from lendscore.reports import pack_schema as ps
from lendscore.reports.context import ReportContext

__all__ = ["SMALL_BIN_EVENTS", "SMALL_BIN_SHARE", "limitations"]

#: A bin is small when it holds less than this share of the reference rows ...
SMALL_BIN_SHARE = 0.05
#: ... or fewer defaults than this (its WoE then rests on few defaults).
SMALL_BIN_EVENTS = 20
_ALPHA = 0.05
_SHARED_INFO_CORR = 0.5  # |r| from which a kept characteristic "shares its information" with another


def _p(p: float | None) -> str:
    """``= 0.03``, ``= 6.3e-04`` or ``< 1e-300`` (a p-value that underflowed to 0)."""
    if p is None:
        return "= n/a"
    return f"= {p:.2g}" if p >= 0.001 else f"= {p:.1e}" if p >= 1e-300 else "< 1e-300"


def _significance(ctx, coefficients, vif, selection_iv) -> list[ps.Limitation]:
    params: Mapping[str, Any] = ctx.model_info.get("parameters") or {}
    vifs = {v.characteristic: v for v in vif}
    out = []
    for c in coefficients:
        if c.expected_sign is None:
            continue
        if c.sign_ok is False:
            out.append(
                ps.Limitation(
                    topic="significance",
                    text=f"{c.term}: coefficient {c.coef:+.3f} has the wrong sign (a safer bin would score "
                    "fewer points); the model was fitted with the sign check set to warn.",
                )
            )
        if c.significant is not False:
            continue
        why = []
        iv = selection_iv.get(c.term)
        if iv is not None:
            why.append(f"IV {iv:.3f} >= iv_min {params.get('iv_min', '?')}")
        v = vifs.get(c.term)
        if v is not None and v.max_abs_corr is not None and v.vif is not None:
            over = (v.vif > params.get("vif_max", np.inf)) or (v.max_abs_corr > params.get("corr_max", np.inf))
            why.append(
                f"on the scoring WoE (section 11) its largest |correlation| is {v.max_abs_corr:.3f} "
                f"(with {v.most_correlated_with}; corr_max {params.get('corr_max', '?')}) and its VIF {v.vif:.1f} "
                f"(vif_max {params.get('vif_max', '?')})"
                + (", above a limit: see the collinearity entries" if over else "")
            )
        ci = f", 95% CI [{c.ci_low:+.3f}, {c.ci_high:+.3f}]" if c.ci_low is not None and c.ci_high is not None else ""
        text = (
            f"{c.term} is kept although not significant at 5% (p {_p(c.p_value)}; coefficient {c.coef:+.3f}{ci}). "
            "Selection keeps a characteristic on its information value, correlation and VIF, not on its p-value"
            + (": " + "; ".join(why) if why else "")
            + ". "
        )
        if v is not None and v.max_abs_corr is not None and v.max_abs_corr >= _SHARED_INFO_CORR:
            text += (
                f"It shares much of its information with {v.most_correlated_with}, which widens its interval: "
                "its points are estimated imprecisely, though its sign agrees with its WoE."
            )
        else:
            text += "Its contribution beyond the other characteristics is small and its points are imprecise."
        out.append(ps.Limitation(topic="significance", text=text))
    return out


def _collinearity(ctx, vif) -> list[ps.Limitation]:
    params: Mapping[str, Any] = ctx.model_info.get("parameters") or {}
    corr_max, vif_max = params.get("corr_max"), params.get("vif_max")
    out = []
    for v in vif:
        over = []
        if vif_max is not None and v.vif is not None and v.vif > vif_max:
            over.append(f"VIF {v.vif:.1f} exceeds vif_max {vif_max}")
        if corr_max is not None and v.max_abs_corr is not None and v.max_abs_corr > corr_max:
            over.append(f"|correlation| {v.max_abs_corr:.3f} with {v.most_correlated_with} exceeds corr_max {corr_max}")
        if over:
            cv = params.get("woe_cv")
            where = (
                f"the cross-fitted WoE ({cv} folds) the regression was fitted on"
                if cv and cv > 1
                else "the fitting design"
            )
            out.append(
                ps.Limitation(
                    topic="collinearity",
                    text=f"{v.characteristic}: on the scoring WoE, " + " and ".join(over) + f"; selection measured "
                    f"them on {where}, where they passed. The scorecard's points carry more collinearity than "
                    "selection saw.",
                )
            )
    return out


def _small_bins(ctx: ReportContext, characteristics, stability) -> list[ps.Limitation]:
    ref = next(iter(ctx.splits))
    parts, unseen, pseudo = [], [], []
    for ch in characteristics:
        rows = [(b.bin, b.samples[ref]) for b in ch.bins if ref in b.samples]
        seen = [(label, s) for label, s in rows if s.n > 0]
        small = [
            (label, s)
            for label, s in seen
            if (s.share is not None and s.share < SMALL_BIN_SHARE) or s.n_event < SMALL_BIN_EVENTS
        ]
        if small:
            label, s = min(small, key=lambda t: t[1].n)
            parts.append(
                f"{ch.characteristic} {len(small)} of {len(seen)} (smallest {label}: {s.n:,} rows, {s.n_event:,} defaults)"
            )
        if len(seen) < len(rows):
            unseen.append(ch.characteristic)
    if "woe_rule" in ctx.points_table:
        rule = ctx.points_table[ctx.points_table["woe_rule"] == "pseudo_count"]
        pseudo = sorted(set(rule["characteristic"]))
    out = []
    if parts:
        out.append(
            ps.Limitation(
                topic="small_bins",
                text=f"Small bins (under {SMALL_BIN_SHARE:.0%} of the {ref} rows or under {SMALL_BIN_EVENTS} "
                "defaults; their WoE rests on few defaults): " + "; ".join(parts) + ".",
            )
        )
    if unseen:
        new_rows = {s.characteristic: s.n_new_bin for s in stability.characteristics}
        n_new = int(sum(new_rows.get(c, 0) for c in unseen))
        out.append(
            ps.Limitation(
                topic="small_bins",
                text=f"{len(unseen)} characteristics have bins with no {ref} rows (Special, Missing or unseen "
                "categories); an applicant falling there scores WoE 0, the average risk. "
                f"{n_new:,} validation rows fell in such bins.",
            )
        )
    if pseudo:
        out.append(
            ps.Limitation(
                topic="small_bins",
                text="Bins with no defaults or no goods in training, whose WoE uses one pseudo-observation at "
                "the average default rate: " + ", ".join(pseudo) + ".",
            )
        )
    return out


def _data(ctx: ReportContext, samples) -> list[ps.Limitation]:
    out = [ps.Limitation(topic="data", text=t) for t in ctx.data_limitations]
    dq = ctx.data_quality
    if dq and int(dq["rows_in"]) > int(dq["rows_out"]):
        rows_in, rows_out = int(dq["rows_in"]), int(dq["rows_out"])
        issues = [i for i in dq.get("issues", dq.get("rules", [])) if i.get("action") == "rejected"]
        rules = ", ".join(f"{i['rule']} ({i.get('column') or 'row'}) {int(i['n_rows']):,}" for i in issues)
        out.append(
            ps.Limitation(
                topic="data",
                text=f"The samples hold the {rows_out:,} rows that passed the data-quality rules; "
                f"{rows_in - rows_out:,} of {rows_in:,} rows ({(rows_in - rows_out) / rows_in:.1%}) were dropped"
                + (f": {rules}" if rules else "")
                + ". The model says nothing about the population they represent.",
            )
        )
    if len(samples) > 1:
        rates = ", ".join(f"{s.event_rate:.1%} in {s.name}" for s in samples)
        ref, other = samples[0], samples[1:]
        if any(abs(s.event_rate - ref.event_rate) >= 0.01 for s in other):
            out.append(ps.Limitation(topic="data", text=f"The default rate moves between samples: {rates}."))
    return out


def _rank(orders) -> list[ps.Limitation]:
    out = []
    for o in orders:
        for b in o.breaks:
            verdict = "a real reversal at 5%" if b.significant else "within sampling noise"
            out.append(
                ps.Limitation(
                    topic="rank_ordering",
                    text=f"{o.sample}: score band {b.band} has a bad rate of {b.bad_rate:.2%}, not below band "
                    f"{b.previous_band}'s {b.previous_bad_rate:.2%} (one-sided Fisher p {_p(b.p_value)}: {verdict}).",
                )
            )
    return out


def _stability(stability) -> list[ps.Limitation]:
    out = []
    for s in stability.score:
        st = s.stat
        if st.flag != "stable" or (st.p_value is not None and st.p_value < _ALPHA):
            out.append(
                ps.Limitation(
                    topic="stability",
                    text=f"Score PSI from {stability.reference} to {st.sample} is {st.psi:.3f} ({st.flag}); the "
                    f"chi-square test {'rejects' if st.p_value is not None and st.p_value < _ALPHA else 'does not reject'} an unchanged "
                    f"distribution at n = {st.n:,} (p {_p(st.p_value)}).",
                )
            )
    by_sample: dict[str, list] = {}
    for c in stability.characteristics:
        by_sample.setdefault(c.sample, []).append(c)
    for sample, rows in by_sample.items():
        moved = sorted((c for c in rows if c.flag != "stable"), key=lambda c: -(c.psi or 0))
        if moved:
            out.append(
                ps.Limitation(
                    topic="stability",
                    text=f"CSI from {stability.reference} to {sample} of 0.10 or more: "
                    + ", ".join(f"{c.characteristic} {c.psi:.3f} ({c.flag})" for c in moved)
                    + ".",
                )
            )
        shifted = [
            c.characteristic for c in rows if c.flag == "stable" and c.p_value is not None and c.p_value < _ALPHA
        ]
        if shifted:
            out.append(
                ps.Limitation(
                    topic="stability",
                    text=f"{len(shifted)} of {len(rows)} characteristics have a CSI under 0.10 but a distribution "
                    f"that differs significantly in {sample} (chi-square p < 5%): " + ", ".join(shifted) + ".",
                )
            )
    return out


def _calibration(calibration, splits) -> list[ps.Limitation]:
    out = []
    for cal in calibration[1:]:
        s = splits[cal.sample]
        mean_pd, rate = float(np.mean(s.pd)), float(np.mean(s.y))
        hl = cal.hosmer_lemeshow
        flagged = [r.grade for r in cal.rows if r.miscalibrated]
        if (hl is not None and hl.p_value < _ALPHA) or flagged:
            hl_text = f"Hosmer-Lemeshow p {_p(hl.p_value)}" if hl is not None else "Hosmer-Lemeshow not computed"
            out.append(
                ps.Limitation(
                    topic="calibration",
                    text=f"{cal.sample}: mean predicted PD {mean_pd:.2%} against an observed default rate of "
                    f"{rate:.2%}; {hl_text}; {len(flagged)} of {len(cal.rows)} grades miscalibrated at 5% "
                    f"(binomial test){': ' + ', '.join(flagged) if flagged else ''}.",
                )
            )
    return out


def limitations(
    ctx: ReportContext,
    *,
    characteristics,
    coefficients,
    vif,
    rank_ordering,
    stability,
    calibration,
    samples,
) -> list[ps.Limitation]:
    """The limitations of this model on these samples (see the module docstring)."""
    selection_iv = {
        str(r["feature"]): float(r["iv"]) for r in ctx.selection.to_dict(orient="records") if r.get("iv") is not None
    }
    return [
        *_significance(ctx, coefficients, vif, selection_iv),
        *_collinearity(ctx, vif),
        *_small_bins(ctx, characteristics, stability),
        *_data(ctx, samples),
        *_rank(rank_ordering),
        *_stability(stability),
        *_calibration(calibration, ctx.splits),
    ]
