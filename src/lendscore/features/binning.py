"""Supervised binning of one characteristic: :class:`FeatureBinning`.

A fitted binning has ``k`` regular bins followed by two reserved bins, always in this order::

    0 .. k-1   regular bins (numeric: right-open intervals between ``splits``;
               categorical: groups of categories; for an ordered pandas Categorical,
               runs of adjacent categories)
    k          Special: numeric special codes (e.g. 96/98 "not applicable" codes);
               for categorical features, categories never seen in training
    k + 1      Missing: NaN / None

Missing and Special values are first-class bins: they get their own counts and WoE (see
:mod:`lendscore.features.woe` for the sign convention and the zero-count rule).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lendscore.features._merge import log_likelihood, merge_prebins
from lendscore.features.woe import woe_iv

__all__ = [
    "FeatureBinning",
    "PrebinCounts",
    "binning_from_counts",
    "detect_special_codes",
    "fit_feature_binning",
    "prebin_counts",
]

# "Not applicable" codes in the 9s family (96, 98, 999, ...) used by bureaux and datasets such as
# Give Me Some Credit. They count as special only when they sit far above every other value.
_NINES = np.array([96, 97, 98, 99, 996, 997, 998, 999, 9996, 9997, 9998, 9999, 99996, 99997, 99998, 99999], dtype=float)
_SPECIAL_GAP = 2.0  # a code counts as special only if it exceeds this multiple of the largest other value


def detect_special_codes(x: np.ndarray) -> list[float]:
    """Special codes of an integer-valued column: 9s-family values far above all other values."""
    v = x[~np.isnan(x)]
    if v.size == 0 or not np.all(v == np.round(v)):
        return []
    present = np.unique(v[np.isin(v, _NINES)])
    if present.size == 0:
        return []
    rest = v[~np.isin(v, present)]
    if rest.size == 0 or present.min() <= _SPECIAL_GAP * max(rest.max(), 1.0):
        return []
    return [float(c) for c in present]


@dataclass
class FeatureBinning:
    """The fitted binning of one characteristic (everything scoring needs, JSON-friendly)."""

    name: str
    kind: str  # "numeric" | "categorical"
    trend: str
    splits: list[float] = field(default_factory=list)  # numeric: k-1 ascending thresholds
    categories: list[list[str]] = field(default_factory=list)  # categorical: k groups
    special_codes: list[float] = field(default_factory=list)
    n_event: list[float] = field(default_factory=list)  # k + 2 entries
    n_nonevent: list[float] = field(default_factory=list)
    woe: list[float] = field(default_factory=list)
    iv_bins: list[float] = field(default_factory=list)
    woe_rule: list[str] = field(default_factory=list)
    # the penalised form's fitted log-odds per bin (None: the classic form, log-odds = coef * WoE)
    log_odds: list[float] | None = None

    def __post_init__(self) -> None:
        self._cache()

    def _cache(self) -> None:
        self._splits = np.asarray(self.splits, dtype=float)
        self._special = np.asarray(self.special_codes, dtype=float)
        self._woe = np.asarray(self.woe, dtype=float)
        if self.kind == "categorical":
            self._cat_index = {c: i for i, grp in enumerate(self.categories) for c in grp}
            self._cat_lookup = pd.Index(list(self._cat_index), dtype=object)
            self._cat_bins = np.fromiter(self._cat_index.values(), dtype=np.intp, count=len(self._cat_index))

    @property
    def n_bins(self) -> int:
        """Number of bins including the Special and Missing bins."""
        return len(self.woe)

    @property
    def iv(self) -> float:
        return float(np.sum(self.iv_bins))

    # ----------------------------------------------------------------- transform
    def bin_index(self, values) -> np.ndarray:
        """Bin index (0 .. n_bins-1) of every value."""
        k = self.n_bins - 2
        if self.kind == "numeric":
            x = _as_float(values, self.name)
            # count of splits <= x, i.e. searchsorted(splits, x, "right"), accumulated one split at
            # a time in a small integer type: several times faster than a binary search per value
            idx = np.zeros(x.shape, dtype=np.int8 if k < 120 else np.int32)
            for s in self._splits:
                np.add(idx, x >= s, out=idx, casting="unsafe")
            for code in self.special_codes:
                idx[x == code] = k
            idx[np.isnan(x)] = k + 1
            return idx.astype(np.intp)
        s = pd.Series(values, copy=False)
        if isinstance(s.dtype, pd.CategoricalDtype):  # look each category up once, then map the codes
            pos = self._cat_lookup.get_indexer(np.asarray(s.cat.categories.astype(str), dtype=object))
            known = self._cat_bins[pos] if len(self._cat_bins) else np.full(len(pos), k)
            per_category = np.append(np.where(pos >= 0, known, k), k + 1)  # code -1 (missing) reads the last
            return per_category[s.cat.codes.to_numpy()]
        miss = s.isna().to_numpy()
        vals = s.to_numpy(dtype=object) if s.dtype == object else s.astype(str).to_numpy(dtype=object)
        pos = self._cat_lookup.get_indexer(vals)
        idx = np.where(pos >= 0, self._cat_bins[pos], k) if len(self._cat_bins) else np.full(len(pos), k)
        idx[miss] = k + 1
        return idx

    def transform_index(self, index: np.ndarray) -> np.ndarray:
        """WoE of bin indices."""
        return self._woe[index]

    def transform(self, values) -> np.ndarray:
        """WoE of every value."""
        return self._woe[self.bin_index(values)]

    def index_of(self, value) -> int:
        """Bin index of a single Python value (fast path for one applicant)."""
        k = len(self._woe) - 2
        if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value):
            return k + 1
        if self.kind == "numeric":
            try:
                v = float(value)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{self.name} must be numeric; got {value!r}") from exc
            if v != v:
                return k + 1
            if self.special_codes and v in self.special_codes:
                return k
            return bisect.bisect_right(self.splits, v)
        return self._cat_index.get(str(value), k)

    # ----------------------------------------------------------------- reporting
    def labels(self) -> list[str]:
        k = self.n_bins - 2
        if self.kind == "numeric":
            edges = [-np.inf, *self.splits, np.inf]
            regular = [f"[{_fmt(edges[i])}, {_fmt(edges[i + 1])})" for i in range(k)]
            special = "Special (" + ", ".join(_fmt(c) for c in self.special_codes) + ")"
        else:
            regular = [", ".join(grp) for grp in self.categories]
            special = "Unseen category"
        return [*regular, special, "Missing"]

    def describe_bins(self, bins) -> str:
        """Plain description of a set of bins, merging adjacent numeric intervals."""
        k = self.n_bins - 2
        labels = self.labels()
        regular = sorted(b for b in bins if b < k)
        parts = []
        if regular and self.kind == "numeric" and regular == list(range(regular[0], regular[-1] + 1)):
            edges = [-np.inf, *self.splits, np.inf]
            parts.append(f"[{_fmt(edges[regular[0]])}, {_fmt(edges[regular[-1] + 1])})")
        elif regular:
            parts.append("{" + "; ".join(labels[b] for b in regular) + "}")
        parts += [labels[b] for b in sorted(bins) if b >= k]
        return " or ".join(parts)

    def table(self) -> pd.DataFrame:
        e = np.asarray(self.n_event)
        ne = np.asarray(self.n_nonevent)
        n = e + ne
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(n > 0, e / np.where(n > 0, n, 1), np.nan)
        return pd.DataFrame(
            {
                "characteristic": self.name,
                "bin": self.labels(),
                "n": n,
                "n_event": e,
                "n_nonevent": ne,
                "share": n / n.sum(),
                "event_rate": rate,
                "woe": self.woe,
                "iv": self.iv_bins,
                "woe_rule": self.woe_rule,
            }
        )

    def to_dict(self) -> dict:
        out = {
            k: getattr(self, k)
            for k in (
                "name",
                "kind",
                "trend",
                "splits",
                "categories",
                "special_codes",
                "n_event",
                "n_nonevent",
                "woe",
                "iv_bins",
                "woe_rule",
            )
        }
        if self.log_odds is not None:  # only the penalised form's bins carry it (classic files unchanged)
            out["log_odds"] = self.log_odds
        return out

    @classmethod
    def from_dict(cls, d: dict) -> FeatureBinning:
        return cls(**d)


def _fmt(v: float) -> str:
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.6g}"


def _as_float(values, name: str) -> np.ndarray:
    if isinstance(values, pd.Series):
        if values.dtype == object or isinstance(values.dtype, pd.StringDtype):
            out = pd.to_numeric(values, errors="coerce")
            bad = out.isna() & values.notna()
            if bad.any():
                first = values[bad].iloc[0]
                raise ValueError(f"{name} must be numeric; got {first!r} in {int(bad.sum())} rows")
            values = out
        return values.to_numpy(dtype=float, na_value=np.nan)
    return np.asarray(values, dtype=float)


# ---------------------------------------------------------------------- fitting
def _quantiles(x: np.ndarray, w: np.ndarray, probs: np.ndarray, weighted: bool) -> np.ndarray:
    if not weighted:
        return np.quantile(x, probs, method="inverted_cdf")
    order = np.argsort(x, kind="mergesort")
    cw = np.cumsum(w[order])
    pos = np.searchsorted(cw, probs * cw[-1], side="left")
    return x[order][np.minimum(pos, len(x) - 1)]


_PREBIN_SAMPLE = 25_000  # candidate cut points come from at most this many rows


def prebin_edges(x: np.ndarray, max_prebins: int, w: np.ndarray | None = None) -> np.ndarray:
    """Pre-bin edges read from the regular (not missing, not special) values ``x`` of a column or
    a sample of it: every distinct value but the least when there are at most ``max_prebins``,
    else the distinct ``max_prebins``-quantiles above the least value (weighted by ``w`` if given).
    The one rule of the in-memory fit and the out-of-core reservoir."""
    u = np.unique(x)
    if u.size <= max_prebins:
        return u[1:]
    probs = np.linspace(0.0, 1.0, max_prebins + 1)[1:-1]
    splits = np.unique(_quantiles(x, np.ones_like(x) if w is None else w, probs, w is not None))
    return splits[splits > u[0]]


def _prebin_numeric(x: np.ndarray, y: np.ndarray, w: np.ndarray, max_prebins: int, weighted: bool):
    """Pre-bins: every distinct value if there are few, else quantiles; counts on all rows.

    On large unweighted samples the cut points (distinct values or quantiles) are read from an
    evenly strided subsample of the rows, which only places candidate boundaries; every count
    and every later decision uses all rows.
    """
    xs = x[:: -(-len(x) // _PREBIN_SAMPLE)] if (not weighted and len(x) > 2 * _PREBIN_SAMPLE) else x
    splits = prebin_edges(xs, max_prebins, w if weighted else None)  # weighted: xs is x
    idx = np.searchsorted(splits, x, side="right")
    m = splits.size + 1
    return splits, np.bincount(idx, weights=y * w, minlength=m), np.bincount(idx, weights=w, minlength=m)


def _choose_trend(e, n, trend, min_bin_size, max_n_bins, min_gain, shape_penalty):
    """Fit the declared trend, or pick the best of the candidate shapes ("auto")."""
    if trend not in ("auto", "auto_monotonic"):
        return trend, merge_prebins(
            e, n, trend=trend, min_bin_size=min_bin_size, max_n_bins=max_n_bins, min_gain=min_gain
        )
    shapes = ["ascending", "descending"] + (["peak", "valley"] if trend == "auto" else [])
    # no merged binning beats every pre-bin on its own: when even that bound cannot pay the
    # unimodal penalty over the best monotone fit, the peak/valley searches are skipped
    free_ll = log_likelihood([(i, i + 1) for i in range(len(e)) if n[i] > 0], e, n)
    best = None
    for s in shapes:
        if s in ("peak", "valley") and free_ll - shape_penalty <= best[0] + 1e-9:
            continue
        plan = merge_prebins(e, n, trend=s, min_bin_size=min_bin_size, max_n_bins=max_n_bins, min_gain=min_gain)
        ll = log_likelihood(plan, e, n) - (shape_penalty if s in ("peak", "valley") else 0.0)
        if best is None or ll > best[0] + 1e-9:
            best = (ll, s, plan)
    return best[1], best[2]


@dataclass
class PrebinCounts:
    """Everything a characteristic's binning is fitted from: its pre-bins and their counts.

    ``kind`` is ``"numeric"`` or ``"categorical"``. Numeric: ``splits`` are the ascending pre-bin
    edges; pre-bin ``i`` holds the regular (not missing, not special) values ``v`` with
    ``splits[i-1] <= v < splits[i]`` (``searchsorted(splits, v, "right")``), so there are
    ``len(splits) + 1`` pre-bins. Categorical: ``categories`` are the category texts, one per
    pre-bin (``ordered``: in their declared order, bins are then runs of neighbours; otherwise any
    order). ``n_event`` / ``n_total`` are the summed weights of events / of all rows per pre-bin;
    ``special`` and ``missing`` are ``(n_event, n_total)`` of the special-code rows (numeric) and of
    the missing rows. ``special_codes`` are the numeric special codes the counts were taken with.
    Rows of weight zero count nowhere.
    """

    kind: str
    n_event: np.ndarray
    n_total: np.ndarray
    splits: np.ndarray = field(default_factory=lambda: np.empty(0))
    categories: list[str] = field(default_factory=list)
    ordered: bool = False
    special_codes: list[float] = field(default_factory=list)
    special: tuple[float, float] = (0.0, 0.0)
    missing: tuple[float, float] = (0.0, 0.0)


def prebin_counts(
    name: str,
    values,
    y: np.ndarray,
    *,
    kind: str,
    special_codes: list[float] | None = None,
    max_prebins: int = 50,
    sample_weight: np.ndarray | None = None,
    prebin_splits=None,
) -> PrebinCounts:
    """The :class:`PrebinCounts` of a raw column (``special_codes`` None: detected; ``prebin_splits``
    None: pre-bin edges from the data, see :func:`_prebin_numeric`)."""
    y = np.asarray(y, dtype=float)
    w = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    weighted = sample_weight is not None
    if weighted and (w == 0).any():  # rows of weight zero are as good as absent
        keep = w > 0
        values = values[keep] if isinstance(values, np.ndarray) else pd.Series(values).reset_index(drop=True)[keep]
        y, w = y[keep], w[keep]
    if kind == "numeric":
        x = _as_float(values, name)
        miss = np.isnan(x)
        specials = detect_special_codes(x) if special_codes is None else [float(c) for c in special_codes]
        spec = np.isin(x, specials) if specials else np.zeros_like(miss)
        reg = ~miss & ~spec
        if reg.any():
            if prebin_splits is None:
                splits, e, n = _prebin_numeric(x[reg], y[reg], w[reg], max_prebins, weighted)
            else:
                splits = np.asarray(prebin_splits, dtype=float)
                idx = np.searchsorted(splits, x[reg], side="right")
                m = splits.size + 1
                e = np.bincount(idx, weights=(y * w)[reg], minlength=m)
                n = np.bincount(idx, weights=w[reg], minlength=m)
        else:
            splits, e, n = np.empty(0), np.zeros(1), np.zeros(1)
        return PrebinCounts(
            kind,
            e,
            n,
            splits=splits,
            special_codes=specials,
            special=(float((y * w)[spec].sum()), float(w[spec].sum())),
            missing=(float((y * w)[miss].sum()), float(w[miss].sum())),
        )
    s = pd.Series(values, copy=False).reset_index(drop=True)
    miss = s.isna().to_numpy()
    cats = s[~miss].astype(str)
    df = pd.DataFrame({"c": cats.to_numpy(), "e": (y * w)[~miss], "n": w[~miss]})
    g = df.groupby("c", sort=True)[["e", "n"]].sum()
    ordered = isinstance(s.dtype, pd.CategoricalDtype) and bool(s.dtype.ordered)
    if ordered:
        g = g.loc[[c for c in map(str, s.dtype.categories) if c in g.index]]
    return PrebinCounts(
        kind,
        g["e"].to_numpy(),
        g["n"].to_numpy(),
        categories=[str(c) for c in g.index],
        ordered=ordered,
        missing=(float((y * w)[miss].sum()), float(w[miss].sum())),
    )


def _drop_empty_prebins(splits: np.ndarray, e: np.ndarray, n: np.ndarray):
    """Numeric pre-bins without rows joined to a neighbour (their edge removed): edges read from a
    sample or given by the user may leave some empty, while the merge expects rows in each."""
    empty = n <= 0
    if not empty.any() or empty.all():
        return splits, e, n
    keep = ~empty
    # an empty pre-bin i > 0 loses its left edge (splits[i-1]); an empty first pre-bin its right one
    drop_edge = np.zeros(splits.size, dtype=bool)
    for i in np.flatnonzero(empty):
        drop_edge[i - 1 if i > 0 else 0] = True
    kept_splits = splits[~drop_edge]
    return kept_splits, e[keep], n[keep]


def binning_from_counts(
    name: str,
    counts: PrebinCounts,
    *,
    trend: str = "auto",
    min_bin_size: float = 0.05,
    max_n_bins: int = 12,
    min_gain: float = 0.0,
    shape_penalty: float = 5.0,
    fine: bool = False,
) -> FeatureBinning:
    """Fit the binning of one characteristic from its pre-bin counts (the one definition:
    :func:`fit_feature_binning` counts a raw column and calls this).

    With ``fine=True`` (the penalised form's bins) pre-bins are merged only to reach
    ``min_bin_size`` and ``max_n_bins`` (no shape, no likelihood merging) and ``trend`` is recorded
    as given: the penalised fit imposes the trend on the bins' log-odds instead.
    """
    e, n = np.asarray(counts.n_event, dtype=float), np.asarray(counts.n_total, dtype=float)
    n_rows = float(n.sum() + counts.special[1] + counts.missing[1])
    min_rows = min_bin_size * n_rows if min_bin_size < 1 else float(min_bin_size)
    final_splits: list[float] = []
    groups: list[list[str]] = []
    specials = [float(c) for c in counts.special_codes]
    if counts.kind == "numeric":
        splits, e, n = _drop_empty_prebins(np.asarray(counts.splits, dtype=float), e, n)
        if n.sum() > 0:
            if fine:
                plan = merge_prebins(e, n, trend="none", min_bin_size=min_rows, max_n_bins=max_n_bins, min_gain=0.0)
            else:
                trend, plan = _choose_trend(e, n, trend, min_rows, max_n_bins, min_gain, shape_penalty)
            final_splits = [float(splits[a - 1]) for a, _ in plan[1:]]
            be = [float(e[a:b].sum()) for a, b in plan]
            bn = [float(n[a:b].sum()) for a, b in plan]
        else:
            be, bn = [0.0], [0.0]
        extra_e = [float(counts.special[0]), float(counts.missing[0])]
        extra_n = [float(counts.special[1]), float(counts.missing[1])]
    else:
        present = n > 0
        cats = [c for c, ok in zip(counts.categories, present, strict=True) if ok]
        e_cat, n_cat = e[present], n[present]
        if not counts.ordered:  # nominal: categories ordered by their (smoothed) event rate, then merged as a run
            by_name = sorted(range(len(cats)), key=lambda i: cats[i])
            cats, e_cat, n_cat = [cats[i] for i in by_name], e_cat[by_name], n_cat[by_name]
            prior = float(e.sum() + counts.missing[0]) / n_rows
            smooth = (e_cat + 20.0 * prior) / (n_cat + 20.0)  # order rare categories toward the mean
            order = np.argsort(smooth, kind="mergesort")
            cats, e_cat, n_cat = [cats[i] for i in order], e_cat[order], n_cat[order]
            trend = trend if fine else "ascending"
        if cats:
            if fine:
                plan = merge_prebins(
                    e_cat, n_cat, trend="none", min_bin_size=min_rows, max_n_bins=max_n_bins, min_gain=0.0
                )
            elif counts.ordered:
                trend, plan = _choose_trend(e_cat, n_cat, trend, min_rows, max_n_bins, min_gain, shape_penalty)
            else:
                plan = merge_prebins(
                    e_cat, n_cat, trend="ascending", min_bin_size=min_rows, max_n_bins=max_n_bins, min_gain=min_gain
                )
            groups = [cats[a:b] if counts.ordered else sorted(cats[a:b]) for a, b in plan]
            be = [float(e_cat[a:b].sum()) for a, b in plan]
            bn = [float(n_cat[a:b].sum()) for a, b in plan]
        else:
            groups, be, bn = [[]], [0.0], [0.0]
            trend = "ascending"
        specials = []
        extra_e, extra_n = [0.0, float(counts.missing[0])], [0.0, float(counts.missing[1])]
    e_all = np.array(be + extra_e)
    n_all = np.array(bn + extra_n)
    woe, iv, rule = woe_iv(e_all, n_all - e_all)
    return FeatureBinning(
        name=name,
        kind=counts.kind,
        trend=trend,
        splits=final_splits,
        categories=groups,
        special_codes=specials,
        n_event=e_all.tolist(),
        n_nonevent=(n_all - e_all).tolist(),
        woe=woe.tolist(),
        iv_bins=iv.tolist(),
        woe_rule=rule.tolist(),
    )


def fit_feature_binning(
    name: str,
    values,
    y: np.ndarray,
    *,
    kind: str,
    trend: str = "auto",
    special_codes: list[float] | None = None,
    max_prebins: int = 50,
    min_bin_size: float = 0.05,
    max_n_bins: int = 12,
    min_gain: float = 0.0,
    shape_penalty: float = 5.0,
    sample_weight: np.ndarray | None = None,
    prebin_splits=None,
) -> FeatureBinning:
    """Fit the binning of one characteristic on training data.

    ``min_bin_size`` is a share of the rows (< 1) or a row count (>= 1); ``trend`` is a shape of
    :data:`lendscore.features._merge.TRENDS`, ``"auto"`` (best of ascending, descending, peak and
    valley, unimodal shapes paying ``shape_penalty`` log-likelihood) or ``"auto_monotonic"``.
    ``prebin_splits`` (numeric columns) fixes the pre-bin edges instead of reading them from the
    data. The raw column is reduced to its :class:`PrebinCounts`, then
    :func:`binning_from_counts` fits the binning from those alone.
    """
    counts = prebin_counts(
        name,
        values,
        y,
        kind=kind,
        special_codes=special_codes,
        max_prebins=max_prebins,
        sample_weight=sample_weight,
        prebin_splits=prebin_splits,
    )
    return binning_from_counts(
        name,
        counts,
        trend=trend,
        min_bin_size=min_bin_size,
        max_n_bins=max_n_bins,
        min_gain=min_gain,
        shape_penalty=shape_penalty,
    )
