"""The accuracy frontier (issue 14): classic against penalised form on the shared harness's splits.

Run with the harness's Python (it has the datasets module and its pinned stack), this repository's
``src`` first on the path::

    BENCH_DATA_DIR=../shared/data ../shared/bench/.venv/bin/python benchmarks/frontier_bench.py \
        --bench ../shared/bench [--datasets gmsc,lendingclub,belanche,german] [--repeats 3]

For each dataset: ``Scorecard()`` and ``Scorecard(form="penalised")`` with default arguments,
fitted ``--repeats`` times interleaved (median fit seconds, with the 1-minute load average), test
AUC with its DeLong 95 % interval and the DeLong interval of the paired difference penalised -
classic; EBM's and LightGBM's AUC (bootstrap interval) and fit seconds are read from the harness's
stored results (``results/<dataset>.json``), not re-run. Writes benchmarks/results/frontier.json.

DeLong's variance is written out here (Sun and Xu's midrank form, 2014) because neither
scikit-learn nor statsmodels has it; it is about fifteen lines.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]


def _placements(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """AUC and DeLong's structural components (V10 over events, V01 over non-events)."""
    pos, neg = scores[y == 1], scores[y == 0]
    m, n = len(pos), len(neg)
    r_all = stats.rankdata(np.concatenate([pos, neg]))
    r_pos, r_neg = stats.rankdata(pos), stats.rankdata(neg)
    v10 = (r_all[:m] - r_pos) / n
    v01 = 1.0 - (r_all[m:] - r_neg) / m
    return float(v10.mean()), v10, v01


def delong(y: np.ndarray, a: np.ndarray, b: np.ndarray | None = None) -> dict:
    """AUC of ``a`` with its DeLong 95 % interval; with ``b``, also the paired difference a - b."""
    auc_a, v10a, v01a = _placements(a, y)
    var_a = v10a.var(ddof=1) / len(v10a) + v01a.var(ddof=1) / len(v01a)
    out = {"auc": auc_a, "ci": [auc_a - 1.96 * var_a**0.5, auc_a + 1.96 * var_a**0.5]}
    if b is not None:
        auc_b, v10b, v01b = _placements(b, y)
        var_b = v10b.var(ddof=1) / len(v10b) + v01b.var(ddof=1) / len(v01b)
        cov = np.cov(v10a, v10b)[0, 1] / len(v10a) + np.cov(v01a, v01b)[0, 1] / len(v01a)
        sd = max(var_a + var_b - 2 * cov, 0.0) ** 0.5
        d = auc_a - auc_b
        out["diff"] = d
        out["diff_ci"] = [d - 1.96 * sd, d + 1.96 * sd]
    return out


def _peer(results: dict, name: str) -> dict | None:
    for r in results["results"]:
        if r["peer"] == name and r["status"] == "ok":
            return {"auc": r["auc"], "auc_ci95": r.get("auc_ci95"), "fit_s": r["fit_s"]}
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", type=Path, default=ROOT.parent / "shared" / "bench")
    ap.add_argument("--datasets", default="gmsc,lendingclub,belanche,german")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    sys.path.insert(0, str(args.bench))
    sys.path.insert(0, str(ROOT / "src"))
    import datasets  # the harness's loader (same splits, seed 42)

    from lendscore import Scorecard

    rows = []
    for name in args.datasets.split(","):
        s = datasets.load(name)
        y = np.asarray(s.y_test).astype(int)
        times: dict[str, list[float]] = {"classic": [], "penalised": []}
        pd_test: dict[str, np.ndarray] = {}
        loads = []
        for _ in range(args.repeats):
            for form in ("classic", "penalised"):
                loads.append(os.getloadavg()[0])
                t0 = time.perf_counter()
                model = Scorecard(form=form).fit(s.X_train, s.y_train)
                times[form].append(time.perf_counter() - t0)
                pd_test[form] = model.predict_proba(s.X_test)[:, 1]
        stored = json.loads((args.bench / "results" / f"{name}.json").read_text())
        row = {
            "dataset": name,
            "classic": {**delong(y, pd_test["classic"]), "fit_s": statistics.median(times["classic"])},
            "penalised": {
                **delong(y, pd_test["penalised"], pd_test["classic"]),
                "fit_s": statistics.median(times["penalised"]),
                "fit_s_runs": times["penalised"],
            },
            "ebm": _peer(stored, "ebm"),
            "lightgbm": _peer(stored, "lightgbm"),
            "load_average": [min(loads), max(loads)],
        }
        rows.append(row)
        c, p, e, g = row["classic"], row["penalised"], row["ebm"], row["lightgbm"]
        print(
            f"| {name} | {c['auc']:.4f} [{c['ci'][0]:.4f}, {c['ci'][1]:.4f}] | {p['auc']:.4f} "
            f"[{p['ci'][0]:.4f}, {p['ci'][1]:.4f}] | {p['diff']:+.4f} [{p['diff_ci'][0]:+.4f}, {p['diff_ci'][1]:+.4f}] "
            f"| {e['auc']:.4f} | {g['auc']:.4f} | {c['fit_s']:.2f} s | {p['fit_s']:.2f} s | {e['fit_s']:.0f} s "
            f"| {min(loads):.1f}-{max(loads):.1f} |",
            flush=True,
        )
    out = ROOT / "benchmarks" / "results" / "frontier.json"
    out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
