"""Population stability of the score and of every characteristic, per period.

Definitions (``a_i``, ``e_i``: shares of bin ``i`` in the period, "actual", and in the training
sample, "expected")::

    PSI = sum_i (a_i - e_i) * ln(a_i / e_i)

The score PSI is computed on the reference score bins (deciles of the training scores, open at both
ends); the CSI (characteristic stability index) of a characteristic is the same formula on the
model's own bins of that characteristic, Special and Missing bins included.

Flags (the usual rule of thumb): ``stable`` when PSI < 0.10, ``moderate`` when 0.10 <= PSI < 0.25,
``significant`` when PSI >= 0.25.

Zero-bin rule (explicit, never a silent epsilon):

- a bin empty in both samples carries no mass and contributes 0;
- when some bin is empty in exactly one sample (its term is infinite), ``zero_rule="add_half"``
  (the default) adds 0.5 to the count of *every* remaining bin of *both* samples (the
  Krichevsky-Trofimov / Jeffreys add-half estimate of the shares) and the row is marked
  ``smoothed = True``; ``zero_rule="inf"`` reports PSI = inf instead. Rows without an empty bin
  are computed on the raw shares, unchanged.

Sample-size-aware test beside the flags: a chi-square goodness-of-fit test of the period's bin
counts against ``n * e_i`` (the training shares taken as known). A PSI flag says *how much* the
distribution moved; the p-value says whether the move can be told apart from sampling noise at the
period's size (a large period rejects tiny shifts, a small one keeps large ones). Bins with no
training rows cannot enter the test: rows falling in them are counted in ``n_new_bin`` and
flagged, and the test uses the other rows.

Inputs: per period, the missing rate of every model input against its training missing rate (the
model's Missing-bin share, with an exact binomial test), and the out-of-range rate: numeric values
outside the [min, max] seen in training (when the reference holds the ranges) and categories never
seen in training.

Nothing here imports matplotlib; plots are in :mod:`lendscore.reports.monitoring`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
from scipy import stats

from lendscore.errors import ConfigError, DataError, SchemaError

__all__ = [
    "PSI_MODERATE",
    "PSI_SIGNIFICANT",
    "PSIResult",
    "MonitoringReference",
    "DriftResult",
    "psi",
    "psi_flag",
    "psi_rows",
    "build_reference",
    "reference_from_model",
    "period_labels",
    "bin_codes",
    "drift",
    "input_column",
    "application_frame",
    "warnings_by_period",
    "DECISION_COLUMNS",
]

PSI_MODERATE = 0.10
PSI_SIGNIFICANT = 0.25
ZeroRule = Literal["add_half", "inf"]
Period = Literal["D", "W", "M"]
PERIODS: tuple[Period, ...] = get_args(Period)
_ADD_HALF = 0.5
REFERENCE_KEY = "monitoring_reference"
#: Columns of the audit store's decisions frame; an input with one of these names (Lending Club's
#: ``grade``) must be logged as ``input.<name>``.
DECISION_COLUMNS = (
    "decision_id",
    "request_id",
    "created_at",
    "model_version",
    "policy_version",
    "outcome",
    "pd",
    "score",
    "grade",
)
INPUT_PREFIX = "input."


def application_frame(frame: pd.DataFrame, model) -> pd.DataFrame:
    """The application fields of a decisions frame under their own names: every ``input.<name>``
    column, and the model's fields given unprefixed when they are not a decision column."""
    cols: dict[str, pd.Series] = {}
    for c in frame.columns:
        if str(c).startswith(INPUT_PREFIX):
            cols[str(c)[len(INPUT_PREFIX) :]] = frame[c]
    spec = getattr(model, "inputs_", None)
    names = [*model.feature_names_in_, *(spec.names if spec is not None else ())]
    for name in names:
        if name not in cols and name in frame.columns and name not in DECISION_COLUMNS:
            cols[name] = frame[name]
    return pd.DataFrame(cols, index=frame.index)


def input_column(frame: pd.DataFrame, name: str) -> str | None:
    """Column of ``frame`` holding model input ``name``: ``input.<name>`` if present, else ``name``
    unless that is a decision column (``grade``, ``score``...), else None."""
    if INPUT_PREFIX + name in frame.columns:
        return INPUT_PREFIX + name
    if name in frame.columns and name not in DECISION_COLUMNS:
        return name
    return None


def psi_flag(value: float) -> str:
    """``stable`` (< 0.10), ``moderate`` (0.10 to < 0.25) or ``significant`` (>= 0.25); NaN -> ``n/a``."""
    if value != value:
        return "n/a"
    if value >= PSI_SIGNIFICANT:
        return "significant"
    if value >= PSI_MODERATE:
        return "moderate"
    return "stable"


@dataclass(frozen=True)
class PSIResult:
    """PSI of one sample against a reference, with its flag and the goodness-of-fit test."""

    psi: float
    flag: str
    smoothed: bool
    n: int
    chi2: float
    df: int
    p_value: float
    n_new_bin: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def psi_rows(expected: np.ndarray, actual: np.ndarray, *, zero_rule: ZeroRule = "add_half") -> dict[str, np.ndarray]:
    """PSI and chi-square test of each row of ``actual`` (periods x bins) against ``expected`` (bins).

    Counts may be weighted (floats). Returns arrays ``psi, smoothed, n, chi2, df, p_value,
    n_new_bin`` of one value per row; a row with no counts gets NaN.
    """
    if zero_rule not in ("add_half", "inf"):
        raise ConfigError(f"zero_rule must be 'add_half' or 'inf'; got {zero_rule!r}")
    e = np.asarray(expected, dtype=float)
    a = np.atleast_2d(np.asarray(actual, dtype=float))
    if a.shape[1] != e.size:
        raise DataError(f"actual counts must have {e.size} bins like the reference; got {a.shape[1]}")
    if (e < 0).any() or (a < 0).any():
        raise DataError("bin counts must be >= 0")
    if e.sum() <= 0:
        raise DataError("the reference (expected) counts are all zero")
    n = a.sum(axis=1)
    both_empty = (a == 0) & (e == 0)[None, :]
    one_empty = (a == 0) ^ (e == 0)[None, :]
    smoothed = one_empty.any(axis=1) & (zero_rule == "add_half")
    a_adj = np.where(smoothed[:, None] & ~both_empty, a + _ADD_HALF, a)
    e_adj = np.where(smoothed[:, None] & ~both_empty, e[None, :] + _ADD_HALF, np.broadcast_to(e, a.shape))
    with np.errstate(divide="ignore", invalid="ignore"):
        a_sh = a_adj / a_adj.sum(axis=1, keepdims=True)
        e_sh = e_adj / e_adj.sum(axis=1, keepdims=True)
        terms = np.where(both_empty, 0.0, (a_sh - e_sh) * np.log(a_sh / e_sh))
    value = terms.sum(axis=1)
    value = np.where(one_empty.any(axis=1) & ~smoothed, np.inf, value)
    value = np.where(n > 0, value, np.nan)
    # goodness of fit on the bins that had training rows
    supported = e > 0
    n_new = a[:, ~supported].sum(axis=1)
    n_sup = n - n_new
    share = e[supported] / e[supported].sum()
    exp_counts = n_sup[:, None] * share[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = np.where(exp_counts > 0, (a[:, supported] - exp_counts) ** 2 / exp_counts, 0.0).sum(axis=1)
    df = int(supported.sum()) - 1
    p = stats.chi2.sf(chi2, df) if df > 0 else np.full(chi2.shape, np.nan)
    p = np.where(n_sup > 0, p, np.nan)
    chi2 = np.where(n_sup > 0, chi2, np.nan)
    return {
        "psi": value,
        "smoothed": smoothed,
        "n": n,
        "chi2": chi2,
        "df": np.full(n.shape, df),
        "p_value": p,
        "n_new_bin": n_new,
    }


def psi(expected, actual, *, zero_rule: ZeroRule = "add_half") -> PSIResult:
    """PSI of one sample's bin counts ``actual`` against reference bin counts ``expected``.

    See the module docstring for the zero-bin rule and the goodness-of-fit test.
    """
    r = psi_rows(np.asarray(expected, dtype=float), np.asarray(actual, dtype=float)[None, :], zero_rule=zero_rule)
    value = float(r["psi"][0])
    return PSIResult(
        psi=value,
        flag=psi_flag(value),
        smoothed=bool(r["smoothed"][0]),
        n=int(round(r["n"][0])),
        chi2=float(r["chi2"][0]),
        df=int(r["df"][0]),
        p_value=float(r["p_value"][0]),
        n_new_bin=int(round(r["n_new_bin"][0])),
    )


# ---------------------------------------------------------------------------- reference
@dataclass
class MonitoringReference:
    """The training distribution a model is monitored against (JSON-friendly).

    ``score_edges`` are the inner edges of the score bins (the outer bins are open);
    ``score_counts`` has ``len(score_edges) + 1`` entries. ``characteristics`` maps a model input
    to its training counts per model bin (Special and Missing bins last). ``missing_rate`` is the
    training missing rate per input, ``ranges`` the [min, max] of numeric inputs in training.
    ``source`` says where the numbers come from.
    """

    characteristics: dict[str, list[float]]
    missing_rate: dict[str, float]
    score_edges: list[float] | None = None
    score_counts: list[float] | None = None
    score_range: list[float] | None = None
    ranges: dict[str, list[float]] = field(default_factory=dict)
    n_rows: int | None = None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MonitoringReference:
        return cls(**d)


def bin_codes(binning, values) -> np.ndarray:
    """Bin index of every value under a fitted :class:`~lendscore.features.binning.FeatureBinning`.

    Numeric characteristics use ``binning.bin_index``; categorical ones map each distinct value
    once with ``binning.index_of`` (same result as ``bin_index``, fast on a million rows).
    """
    if binning.kind == "numeric":
        return binning.bin_index(values)
    codes, uniques = pd.factorize(pd.Series(values, copy=False), use_na_sentinel=True)
    lookup = np.array([binning.index_of(u) for u in uniques] + [binning.n_bins - 1], dtype=np.int64)
    return lookup[codes]  # code -1 (missing) picks the last entry, the Missing bin


def _scores_of(model, X: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.score_details(X)["score"], dtype=float)


def build_reference(model, X_train: pd.DataFrame, *, n_score_bins: int = 10) -> MonitoringReference:
    """Reference distribution from the training rows: score deciles, bin counts, missing rates, ranges.

    Store it in the model file with ``model.save(path, monitoring_reference=ref.to_dict())`` so
    monitoring needs no training data later.
    """
    if n_score_bins < 2:
        raise ConfigError(f"n_score_bins must be >= 2; got {n_score_bins!r}")
    score = _scores_of(model, X_train)
    inner = np.unique(np.quantile(score, np.linspace(0, 1, n_score_bins + 1)[1:-1]))
    counts = np.bincount(np.searchsorted(inner, score, side="right"), minlength=inner.size + 1)
    chars, missing, ranges = {}, {}, {}
    for c, b in model.binnings_.items():
        if c not in X_train.columns:
            continue
        idx = bin_codes(b, X_train[c])
        chars[c] = np.bincount(idx, minlength=b.n_bins).astype(float).tolist()
        missing[c] = float(X_train[c].isna().mean())
        if b.kind == "numeric":
            x = pd.to_numeric(X_train[c], errors="raise").to_numpy(dtype=float, na_value=np.nan)
            if np.isfinite(x).any():
                ranges[c] = [float(np.nanmin(x)), float(np.nanmax(x))]
    return MonitoringReference(
        characteristics=chars,
        missing_rate=missing,
        score_edges=inner.tolist(),
        score_counts=counts.astype(float).tolist(),
        score_range=[float(score.min()), float(score.max())],
        ranges=ranges,
        n_rows=int(len(X_train)),
        source="training rows",
    )


def reference_from_model(model) -> MonitoringReference:
    """The reference stored in the model file, or else the one the model's bins alone give.

    Without a stored reference, characteristic counts are the binning's training counts
    (``n_event + n_nonevent``; weighted counts if the model was fitted with weights), missing rates
    the Missing-bin shares, and there is no score distribution nor numeric range (score PSI and
    numeric out-of-range are then reported as not available).
    """
    stored = (getattr(model, "metadata_", None) or {}).get(REFERENCE_KEY)
    if stored:
        return MonitoringReference.from_dict(stored)
    chars, missing = {}, {}
    for c, b in model.binnings_.items():
        n = np.asarray(b.n_event, dtype=float) + np.asarray(b.n_nonevent, dtype=float)
        chars[c] = n.tolist()
        missing[c] = float(n[-1] / n.sum()) if n.sum() > 0 else float("nan")
    fp = getattr(model, "data_fingerprint_", None) or {}
    return MonitoringReference(
        characteristics=chars,
        missing_rate=missing,
        n_rows=fp.get("n_rows"),
        source="model bins (training counts); no score reference stored",
    )


# ---------------------------------------------------------------------------- per period
def check_period(period: str) -> Period:
    """``period`` if it is one of :data:`PERIODS`; ConfigError naming them otherwise."""
    if period not in PERIODS:
        raise ConfigError(f"period must be 'D', 'W' or 'M'; got {period!r}")
    return period


def period_labels(times, period: Period = "M") -> pd.Series:
    """Period label (e.g. ``2011-03``) of each timestamp; time zones are converted to UTC first."""
    period = check_period(period)
    t = pd.Series(times, copy=False)
    if not pd.api.types.is_datetime64_any_dtype(t):
        try:
            t = pd.to_datetime(t, utc=True, format="ISO8601")
        except (ValueError, TypeError) as exc:
            raise DataError(f"created_at must hold dates; cannot parse: {exc}", column="created_at") from exc
    if getattr(t.dt, "tz", None) is not None:
        t = t.dt.tz_convert("UTC").dt.tz_localize(None)
    if t.isna().any():
        raise DataError(f"created_at must not be missing; got {int(t.isna().sum())} missing", column="created_at")
    return t.dt.to_period(period).astype(str)


@dataclass
class DriftResult:
    """Drift tables, one row per period (and characteristic or input).

    - ``score``: ``period, n, psi, flag, smoothed, chi2, df, p_value, n_new_bin``.
    - ``characteristics``: ``period, characteristic`` then the same columns (the CSI).
    - ``bins``: ``period, characteristic, bin, label, expected_share, actual_share`` (the score is
      characteristic ``"score"``), for plots and drill-down.
    - ``inputs``: ``period, input, n, n_missing, missing_rate, train_missing_rate, missing_shift,
      missing_p_value, n_out_of_range, out_of_range_rate, range_check``.
    - ``warnings``: ``period, field, rule, n, n_rows, rate``: the input warnings a decision reports
      (:meth:`Scorecard.input_warnings`: ``unseen_category``, ``below_training_range``,
      ``above_training_range``) counted per period; ``n_rows`` is the period's rows.
    """

    period: str
    score: pd.DataFrame
    characteristics: pd.DataFrame
    bins: pd.DataFrame
    inputs: pd.DataFrame
    reference: MonitoringReference
    notes: list[str] = field(default_factory=list)
    warnings: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["period", "field", "rule", "n", "n_rows", "rate"])
    )

    def worst(self) -> pd.DataFrame:
        """Per period, the characteristic with the highest CSI."""
        c = self.characteristics
        if c.empty:
            return c
        return c.loc[c.groupby("period")["psi"].idxmax()].reset_index(drop=True)


def _stability_frame(periods: list[str], name: str | None, r: dict[str, np.ndarray]) -> pd.DataFrame:
    out = pd.DataFrame({"period": periods})
    if name is not None:
        out["characteristic"] = name
    out["n"] = r["n"].round().astype(np.int64)
    out["psi"] = r["psi"]
    out["flag"] = [psi_flag(v) for v in r["psi"]]
    out["smoothed"] = r["smoothed"]
    out["chi2"] = r["chi2"]
    out["df"] = r["df"].astype(np.int64)
    out["p_value"] = r["p_value"]
    out["n_new_bin"] = r["n_new_bin"].round().astype(np.int64)
    return out


def _bins_frame(periods, name, labels, expected, counts) -> pd.DataFrame:
    e = np.asarray(expected, dtype=float)
    tot = counts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(tot > 0, counts / np.where(tot > 0, tot, 1), np.nan)
    P, B = counts.shape
    return pd.DataFrame(
        {
            "period": np.repeat(periods, B),
            "characteristic": name,
            "bin": np.tile(np.arange(B), P),
            "label": np.tile(np.asarray(labels, dtype=object), P),
            "expected_share": np.tile(e / e.sum(), P),
            "actual_share": a.ravel(),
        }
    )


def _score_labels(edges: list[float]) -> list[str]:
    full = [-np.inf, *edges, np.inf]
    return [f"[{lo:.0f}, {hi:.0f})" for lo, hi in pairwise(full)]


def drift(
    decisions: pd.DataFrame,
    model,
    reference: MonitoringReference | None = None,
    *,
    period: Period = "M",
    time_column: str = "created_at",
    score_column: str = "score",
    zero_rule: ZeroRule = "add_half",
    alpha: float = 0.05,
    warnings: pd.DataFrame | None = None,
) -> DriftResult:
    """Score PSI, CSI per characteristic and input missing / out-of-range shifts, per period.

    Parameters
    ----------
    decisions
        Logged decisions or a file of applications: ``time_column`` plus the model's inputs
        as columns (``input.<name>`` when the name is a decision column, see :func:`input_column`), and ``score_column`` (when absent, the score is computed with ``model``).
        Rows of all model versions are pooled: filter ``model_version`` first to watch one model.
    model
        The fitted scorecard whose bins define the characteristics.
    reference
        The training distribution; by default :func:`reference_from_model`.
    warnings
        The input warnings of the rows (``row`` = position in ``decisions``, ``field``, ``rule``),
        as :func:`~lendscore.monitoring.sources.load_monitoring_data` lists them; by default
        ``model.input_warnings`` of the frame's application fields (:func:`application_frame`).
    """
    if time_column not in decisions.columns:
        raise SchemaError(
            f"decisions must have a {time_column!r} column; got {list(decisions.columns)[:12]}", column=time_column
        )
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must be in (0, 1); got {alpha!r}")
    ref = reference if reference is not None else reference_from_model(model)
    notes: list[str] = []
    labels = period_labels(decisions[time_column], period)
    pcode, periods = pd.factorize(labels, sort=True)
    periods = list(periods)
    P = len(periods)

    # score PSI
    score_frame = pd.DataFrame()
    bins_frames = []
    if ref.score_edges is not None and ref.score_counts is not None and P:
        if score_column in decisions.columns:
            score = pd.to_numeric(decisions[score_column], errors="raise").to_numpy(dtype=float)
        else:
            apps = application_frame(decisions, model)
            spec = getattr(model, "inputs_", None)
            derived = set(spec.derivation.outputs) if spec is not None else set()
            absent = [c for c in model.feature_names_in_ if c not in apps.columns and c not in derived]
            if absent:
                raise SchemaError(
                    f"no {score_column!r} column and model inputs {absent[:5]} are missing: cannot score",
                    column=absent[0],
                )
            score = _scores_of(model, apps)
            notes.append(f"no {score_column!r} column: scores computed with the model")
        edges = np.asarray(ref.score_edges, dtype=float)
        sb = np.searchsorted(edges, score, side="right")
        counts = _count(pcode, sb, P, edges.size + 1)
        score_frame = _stability_frame(
            periods, None, psi_rows(np.asarray(ref.score_counts), counts, zero_rule=zero_rule)
        )
        bins_frames.append(_bins_frame(periods, "score", _score_labels(ref.score_edges), ref.score_counts, counts))
    else:
        notes.append(
            "score PSI not available: the reference holds no training score distribution "
            "(save the model with a monitoring_reference)"
        )

    # CSI per characteristic and input checks
    csi_frames, input_rows = [], []
    for c in model.selected_features_:
        if input_column(decisions, c) is None:
            notes.append(
                f"characteristic {c!r} is not in the decisions (as {c!r} or {INPUT_PREFIX + c!r}): "
                "CSI not computed (lendscore.monitoring.load_monitoring_data derives it from the "
                "application's raw fields)"
            )
        elif c not in ref.characteristics:
            notes.append(f"characteristic {c!r} has no reference counts: CSI not computed")
    for c, b in model.binnings_.items():
        col = input_column(decisions, c)
        if col is None:
            continue
        idx = bin_codes(b, decisions[col])
        if c in model.selected_features_ and c in ref.characteristics and P:
            counts = _count(pcode, idx, P, b.n_bins)
            exp = np.asarray(ref.characteristics[c], dtype=float)
            csi_frames.append(_stability_frame(periods, c, psi_rows(exp, counts, zero_rule=zero_rule)))
            bins_frames.append(_bins_frame(periods, c, b.labels(), exp, counts))
        input_rows.append(_input_checks(c, b, decisions[col], idx, pcode, periods, ref))
    characteristics = (
        pd.concat(csi_frames, ignore_index=True)
        if csi_frames
        else pd.DataFrame(
            columns=["period", "characteristic", "n", "psi", "flag", "smoothed", "chi2", "df", "p_value", "n_new_bin"]
        )
    )
    inputs = pd.concat(input_rows, ignore_index=True) if input_rows else pd.DataFrame()
    bins = pd.concat(bins_frames, ignore_index=True) if bins_frames else pd.DataFrame()
    if warnings is None and len(decisions):
        try:
            warnings = model.input_warnings(application_frame(decisions, model))
        except (DataError, SchemaError) as exc:  # a value the derivation refuses: drift still reported
            notes.append(f"input warnings not counted: {exc}")
    return DriftResult(
        period=period,
        score=score_frame,
        characteristics=characteristics,
        bins=bins,
        inputs=inputs,
        reference=ref,
        notes=notes,
        warnings=warnings_by_period(warnings, pcode, periods),
    )


def warnings_by_period(warnings: pd.DataFrame | None, pcode: np.ndarray, periods: list[str]) -> pd.DataFrame:
    """Input warnings (``row``, ``field``, ``rule``) counted per period: ``period, field, rule, n,
    n_rows, rate`` (``rate`` = ``n / n_rows``, ``n_rows`` the period's rows), in period order."""
    cols = ["period", "field", "rule", "n", "n_rows", "rate"]
    if warnings is None or len(warnings) == 0 or not len(periods):
        return pd.DataFrame(columns=cols)
    rows = warnings["row"].to_numpy(dtype=np.int64)
    if rows.min() < 0 or rows.max() >= len(pcode):
        raise DataError(f"warnings name row {int(rows.max())} of a frame of {len(pcode)} rows")
    per = np.bincount(pcode, minlength=len(periods))
    w = pd.DataFrame(
        {
            "p": pcode[rows],
            "field": warnings["field"].astype(str).to_numpy(),
            "rule": warnings["rule"].astype(str).to_numpy(),
        }
    )
    g = w.groupby(["p", "field", "rule"], sort=True).size().reset_index(name="n")
    out = pd.DataFrame(
        {
            "period": np.asarray(periods, dtype=object)[g["p"].to_numpy()],
            "field": g["field"],
            "rule": g["rule"],
            "n": g["n"].astype(np.int64),
            "n_rows": per[g["p"].to_numpy()],
        }
    )
    out["rate"] = out["n"] / out["n_rows"]
    return out[cols]


def _count(pcode: np.ndarray, idx: np.ndarray, n_periods: int, n_bins: int) -> np.ndarray:
    key = pcode.astype(np.int64) * n_bins + idx
    return np.bincount(key, minlength=n_periods * n_bins).reshape(n_periods, n_bins).astype(float)


def _input_checks(name, binning, values: pd.Series, idx: np.ndarray, pcode, periods, ref) -> pd.DataFrame:
    P = len(periods)
    k = binning.n_bins - 2
    n = np.bincount(pcode, minlength=P)
    miss = np.bincount(pcode, weights=(idx == k + 1).astype(float), minlength=P)
    if binning.kind == "numeric":
        rng = ref.ranges.get(name)
        if rng is None:
            oor = np.full(P, np.nan)
            check = "not available (no training range stored)"
        else:
            x = pd.to_numeric(values, errors="raise").to_numpy(dtype=float, na_value=np.nan)
            bad = (x < rng[0]) | (x > rng[1])
            oor = np.bincount(pcode, weights=bad.astype(float), minlength=P)
            check = f"outside training range [{rng[0]:.6g}, {rng[1]:.6g}]"
    else:
        oor = np.bincount(pcode, weights=(idx == k).astype(float), minlength=P)
        check = "category not seen in training"
    base = float(ref.missing_rate.get(name, np.nan))
    pvals = []
    for m, nn in zip(miss, n, strict=True):
        if base != base or nn == 0:
            pvals.append(np.nan)
        elif base in (0.0, 1.0):
            pvals.append(1.0 if (m == 0 if base == 0.0 else m == nn) else 0.0)
        else:
            pvals.append(float(stats.binomtest(int(m), int(nn), base).pvalue))
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(n > 0, miss / np.maximum(n, 1), np.nan)
        oor_rate = np.where(n > 0, oor / np.maximum(n, 1), np.nan)
    return pd.DataFrame(
        {
            "period": periods,
            "input": name,
            "n": n.astype(np.int64),
            "n_missing": miss.astype(np.int64),
            "missing_rate": rate,
            "train_missing_rate": base,
            "missing_shift": rate - base,
            "missing_p_value": pvals,
            "n_out_of_range": oor,
            "out_of_range_rate": oor_rate,
            "range_check": check,
        }
    )
