"""Choose the score cut-off that maximises profit on validation data.

An applicant is approved when ``score >= cutoff``. On the approved applicants, with observed
outcomes (event = default = bad = 1)::

    revenue       = margin * sum(exposure of approved goods)
    expected_loss = lgd * sum(exposure of approved bads)
    cost          = cost_per_application * n            (every application is processed)
    profit        = revenue - expected_loss - cost

Classification metrics treat a decline as predicting "bad": precision = bads declined / declined,
recall = bads declined / all bads, accuracy = (bads declined + goods approved) / n. Undefined
ratios (no approvals, no declines) are NaN.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lendscore.errors import PolicyError

__all__ = ["CutoffChoice", "choose_cutoff", "cutoff_reference_points", "profit_table", "write_cutoff"]

TABLE_COLUMNS = [
    "cutoff",
    "n_approved",
    "n_event_approved",
    "approval_rate",
    "bad_rate",
    "expected_loss",
    "revenue",
    "cost",
    "profit",
    "accuracy",
    "precision",
    "recall",
    "f1",
]


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def profit_table(
    score: Any,
    y: Any,
    *,
    lgd: float,
    margin: float,
    exposure: float | Any = 1.0,
    cost_per_application: float = 0.0,
    cutoffs: Any = None,
    max_cutoffs: int = 200,
) -> pd.DataFrame:
    """The trade-off table, one row per cut-off (ascending). See the module docstring.

    ``cutoffs`` defaults to every distinct score (or ``max_cutoffs`` quantiles when there are
    more), plus ``inf`` (approve nobody).
    """
    s = np.asarray(score, dtype=float)
    t = np.asarray(y)
    if s.ndim != 1 or s.shape != t.shape or s.size == 0:
        raise PolicyError(f"score and y must be 1-d of the same non-zero length; got {s.shape} and {t.shape}")
    if np.isnan(s).any():
        raise PolicyError(f"score has {int(np.isnan(s).sum())} NaN values")
    if not np.isin(t, [0, 1]).all():
        raise PolicyError("y must be 0 (good) / 1 (bad, event)")
    for name, value, lo, hi in (
        ("lgd", lgd, 0, 1),
        ("margin", margin, 0, math.inf),
        ("cost_per_application", cost_per_application, 0, math.inf),
    ):
        if not lo <= value <= hi:
            raise PolicyError(f"{name} must be in [{lo}, {hi}]; got {value}")
    e = np.broadcast_to(np.asarray(exposure, dtype=float), s.shape)
    if (e < 0).any() or np.isnan(e).any():
        raise PolicyError("exposure must be >= 0 and not NaN")
    t = t.astype(float)
    if cutoffs is None:
        uniq = np.unique(s)
        if uniq.size > max_cutoffs:
            uniq = np.unique(np.quantile(s, np.linspace(0, 1, max_cutoffs)))
        cutoffs = np.append(uniq, np.inf)
    c = np.sort(np.asarray(cutoffs, dtype=float))

    order = np.argsort(s, kind="stable")
    s_sorted = s[order]
    cum = lambda v: np.concatenate([[0.0], np.cumsum(v[order])])
    bad, good = cum(t), cum(1 - t)
    bad_exp, good_exp = cum(t * e), cum((1 - t) * e)
    k = np.searchsorted(s_sorted, c, side="left")  # number declined at each cut-off
    n = s.size
    n_app = n - k
    bad_app, good_app = bad[-1] - bad[k], good[-1] - good[k]
    bad_dec = bad[k]
    revenue = margin * (good_exp[-1] - good_exp[k])
    loss = lgd * (bad_exp[-1] - bad_exp[k])
    cost = np.full(c.shape, cost_per_application * n)
    precision = _ratio(bad_dec, k.astype(float))
    recall = _ratio(bad_dec, np.full(c.shape, bad[-1]))
    f1 = _ratio(2 * bad_dec, k + bad[-1])  # 2TP / (2TP + FP + FN) = 2TP / (declined + all bads)
    return pd.DataFrame(
        {
            "cutoff": c,
            "n_approved": n_app,
            "n_event_approved": bad_app.astype(int),
            "approval_rate": n_app / n,
            "bad_rate": _ratio(bad_app, n_app.astype(float)),
            "expected_loss": loss,
            "revenue": revenue,
            "cost": cost,
            "profit": revenue - loss - cost,
            "accuracy": (bad_dec + good_app) / n,
            "precision": precision,
            "recall": recall,
            "f1": f1,
        }
    )[TABLE_COLUMNS]


@dataclass(frozen=True)
class CutoffChoice:
    """The chosen cut-off, its row of the table and the rule used."""

    cutoff: float
    row: dict[str, float]
    method: str


def choose_cutoff(
    table: pd.DataFrame, *, target_approval_rate: float | None = None, max_bad_rate: float | None = None
) -> CutoffChoice:
    """The most profitable cut-off, subject to an approval rate >= target and a bad rate <= cap.

    Ties in profit go to the higher cut-off (fewer approvals for the same profit).
    """
    ok = np.isfinite(table["cutoff"].to_numpy())
    method = "max profit"
    if target_approval_rate is not None:
        ok &= table["approval_rate"].to_numpy() >= target_approval_rate
        method += f", approval rate >= {target_approval_rate:g}"
    if max_bad_rate is not None:
        ok &= table["bad_rate"].fillna(0.0).to_numpy() <= max_bad_rate
        method += f", bad rate <= {max_bad_rate:g}"
    if not ok.any():
        raise PolicyError(f"no cut-off satisfies the constraints ({method})")
    feasible = table[ok]
    best = feasible["profit"].max()
    row = feasible[feasible["profit"] == best].iloc[-1]
    return CutoffChoice(cutoff=float(row["cutoff"]), row={k: float(v) for k, v in row.items()}, method=method)


def cutoff_reference_points(details: pd.DataFrame, cutoff: float, *, n_nearest: int = 100) -> dict[str, float]:
    """Average points per characteristic of the ``n_nearest`` applicants whose score is nearest the cut-off."""
    cols = [c for c in details.columns if c.startswith("points_")]
    if not cols:
        raise PolicyError("details has no points_<characteristic> columns")
    near = details.loc[(details["score"] - cutoff).abs().sort_values(kind="stable").index[:n_nearest]]
    return {c.removeprefix("points_"): float(near[c].mean()) for c in cols}


_NUM_LINE = re.compile(r"^(\s*(?:min|max)\s*=\s*)([^#\s]+)(.*)$")
_CUTOFF_HEADER = re.compile(r"^\s*\[cutoff\]\s*(#.*)?$")


def _toml_value(v: Any) -> str:
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(float(v))


def write_cutoff(path: str | Path, choice: CutoffChoice) -> None:
    """Set the lowest approve band's ``min`` (and the band below's ``max``) to the chosen cut-off.

    Edits those two lines in place (comments survive), replaces or appends a ``[cutoff]`` table,
    and re-validates the file; the file is not changed when the result would be invalid.
    """
    from lendscore.decision.policy import line_of, load_policy, parse_policy

    p = Path(path)
    policy = load_policy(p)
    if policy.basis != "score":
        raise PolicyError(f"{p}: basis must be 'score' to write a score cut-off; got {policy.basis!r}")
    i = next((j for j, b in enumerate(policy.bands) if b.outcome == "approve"), None)
    if i is None:
        raise PolicyError(f"{p}: no band has outcome 'approve'")
    text = p.read_text(encoding="utf-8")
    if i and not choice.cutoff > policy.bands[i - 1].min:
        below = policy.bands[i - 1]
        raise PolicyError(
            f"{p}, line {line_of(text, ('bands', i - 1, 'min'))}: cut-off {choice.cutoff:g} is not above the "
            f"{below.outcome} band's min {below.min:g}, so the bands would not tile; lower that band's min "
            "(and the max of the band under it) first, or choose a higher cut-off"
        )
    lines = text.splitlines()
    edits = [(("bands", i, "min"), choice.cutoff)] + ([(("bands", i - 1, "max"), choice.cutoff)] if i else [])
    for loc, value in edits:
        n = line_of(text, loc) - 1
        m = _NUM_LINE.match(lines[n])
        if not m or not m.group(1).strip().startswith(str(loc[-1])):
            raise PolicyError(f"{p}, line {n + 1}: cannot find '{loc[-1]} = ...' for band {loc[1]} to rewrite")
        lines[n] = f"{m.group(1)}{_toml_value(value)}{m.group(3)}"
    start = next((j for j, ln in enumerate(lines) if _CUTOFF_HEADER.match(ln)), None)
    if start is not None:
        end = next((j for j in range(start + 1, len(lines)) if lines[j].lstrip().startswith("[")), len(lines))
        del lines[start:end]
    record = {
        "score": choice.cutoff,
        "method": choice.method,
        "approval_rate": choice.row.get("approval_rate"),
        "bad_rate": choice.row.get("bad_rate"),
        "profit": choice.row.get("profit"),
    }
    lines += ["", "[cutoff]  # written by `lendscore cutoff`"]
    lines += [
        f"{k} = {_toml_value(v)}"
        for k, v in record.items()
        if v is not None and not (isinstance(v, float) and math.isnan(v))
    ]
    new_text = "\n".join(lines) + "\n"
    parse_policy(new_text, name=str(p))
    p.write_text(new_text, encoding="utf-8")
