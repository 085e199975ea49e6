"""Pairwise terms as two-way tables of points (issue 14, item 2): an experiment, not the library.

Run with the harness's Python, this repository's ``src`` first on the path::

    BENCH_DATA_DIR=../shared/data ../shared/bench/.venv/bin/python benchmarks/pairs_experiment.py \
        --bench ../shared/bench [--datasets gmsc,lendingclub,belanche,german] [--groups 6]

What it tries, on the harness's splits (training rows only for every choice):

1. Main effects: ``Scorecard(form="penalised", max_rules=0)`` (fine bins, fusion penalty by AIC).
2. FAST (Lou, Caruana, Gehrke and Hooker, KDD 2013) ranks every pair of the selected
   characteristics: from the main-effect model's gradients ``g = p - y`` and hessians
   ``h = p (1 - p)``, the two-way table of sums over the pair's fine bins; the pair's score is the
   best one-cut-per-axis 2 x 2 split, ``max over cuts of sum over the 4 quadrants of G^2 / H``
   (from 2-D cumulative sums, every cut at once).
3. For the top pairs, in FAST order, a two-way table on a coarse grid of each side's fine bins (up
   to ``--groups`` runs of adjacent regular fine bins of about equal weight; Special and Missing
   each their own row / column) is fitted with the main effects (and the pairs kept before) as an
   offset, by Newton's method with a 2-D fusion penalty (squared differences of horizontally and
   vertically adjacent regular cells; a ridge on the Special / Missing cells and a tiny one on all,
   so that the table is identified); the penalty is chosen per pair by AIC on a grid. A pair is
   kept when it lowers the deviance of a validation split (20 % of the training window,
   stratified) by more than ``--min-gain``; at most ``--max-pairs`` pairs.
4. Final model: the main effects refitted on the whole training window, then the kept pairs
   (same grids, penalty re-chosen by AIC) fitted stage-wise on it, in the same order.

Printed per dataset: test AUC with DeLong 95 % intervals of classic (rules), penalised (rules,
the current default of the form), penalised mains only, and penalised mains + pairs, with the
paired difference (pairs - penalised with rules); EBM's and LightGBM's AUC are read from the
harness's stored results. Writes benchmarks/results/pairs_experiment.json.

The pair fit is written out (a small dense Newton per pair) because no well-kept library fits a
logistic model with an offset and a 2-D difference penalty on a bincount information matrix.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy import linalg, special

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from frontier_bench import _peer, delong  # noqa: E402

LAMBDA_GRID = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)  # times the fitted rows' binomial information


def fast_scores(codes: dict[str, np.ndarray], nbins: dict[str, int], g: np.ndarray, h: np.ndarray) -> list:
    """[(gain, a, b)] for every pair, best first: FAST's best 2 x 2 split of the pair's table."""
    names = list(codes)
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            na, nb = nbins[a], nbins[b]
            code = codes[a] * nb + codes[b]
            G = np.bincount(code, weights=g, minlength=na * nb).reshape(na, nb)
            H = np.bincount(code, weights=h, minlength=na * nb).reshape(na, nb)
            # cumulative sums: the lower-left quadrant of cut (i, j) is rows <= i, columns <= j
            cG, cH = G.cumsum(0).cumsum(1), H.cumsum(0).cumsum(1)
            tG, tH = cG[-1, -1], cH[-1, -1]
            rG, rH = cG[:, -1:], cH[:, -1:]  # rows <= i, all columns
            kG, kH = cG[-1:, :], cH[-1:, :]  # all rows, columns <= j
            quads = [
                (cG, cH),
                (rG - cG, rH - cH),
                (kG - cG, kH - cH),
                (tG - rG - kG + cG, tH - rH - kH + cH),
            ]
            gain = sum(np.where(qh > 1e-9, qg**2 / np.maximum(qh, 1e-9), 0.0) for qg, qh in quads)
            out.append((float(gain[:-1, :-1].max()) if na > 1 and nb > 1 else 0.0, a, b))
    return sorted(out, reverse=True)


def groups_of(weights: np.ndarray, n_groups: int) -> np.ndarray:
    """Group of every fine bin: the regular bins (all but the last two, Special and Missing) in up
    to ``n_groups`` runs of adjacent bins, by merging the adjacent pair of least joint weight
    until ``n_groups`` remain (a heavy bin, such as "no late payment", stays on its own);
    Special and Missing their own groups."""
    k = len(weights) - 2
    runs = [[i] for i in range(k)]
    wt = [float(weights[i]) for i in range(k)]
    while len(runs) > n_groups:
        i = int(np.argmin([wt[j] + wt[j + 1] for j in range(len(runs) - 1)]))
        runs[i : i + 2] = [runs[i] + runs[i + 1]]
        wt[i : i + 2] = [wt[i] + wt[i + 1]]
    out = np.empty(k + 2, dtype=np.intp)
    for g, run in enumerate(runs):
        out[run] = g
    out[k], out[k + 1] = len(runs), len(runs) + 1
    return out


def fusion_matrix(ga: int, gb: int) -> np.ndarray:
    """Penalty Hessian (up to the factor lam) of a (ga+2) x (gb+2) table: squared differences of
    adjacent regular cells across and down, a unit ridge on the Special / Missing cells, and a
    1e-4 ridge on every cell (identifiability: the fusion leaves a constant table unpenalised)."""
    ra, rb = ga + 2, gb + 2
    n = ra * rb
    rows = []
    for i in range(ga):
        for j in range(gb):
            if i + 1 < ga:
                rows.append((i * rb + j, (i + 1) * rb + j))
            if j + 1 < gb:
                rows.append((i * rb + j, i * rb + j + 1))
    D = np.zeros((len(rows), n))
    for r, (p, q) in enumerate(rows):
        D[r, p], D[r, q] = 1.0, -1.0
    P = D.T @ D + 1e-4 * np.eye(n)
    edge = np.zeros((ra, rb), dtype=bool)
    edge[ga:, :] = True
    edge[:, gb:] = True
    P[np.diag_indices(n)] += edge.ravel().astype(float)
    return P


def fit_table(cell: np.ndarray, n_cells: int, y, w, offset, P, scale) -> tuple[np.ndarray, float, float]:
    """(cell log-odds, lam, AIC) of the table with the least AIC over LAMBDA_GRID * scale."""
    best = None
    u = np.zeros(n_cells)
    for g in sorted(LAMBDA_GRID, reverse=True):
        lam = g * scale
        for _ in range(30):
            eta = offset + u[cell]
            p = special.expit(eta)
            grad = np.bincount(cell, weights=w * (p - y), minlength=n_cells) + 2 * lam * P @ u
            hd = np.bincount(cell, weights=w * p * (1 - p), minlength=n_cells)
            M = np.diag(hd) + 2 * lam * P
            step = linalg.solve(M, -grad, assume_a="pos")
            u = u + step
            if np.max(np.abs(step)) < 1e-7:
                break
        eta = offset + u[cell]
        p = special.expit(eta)
        dev = 2 * float(np.sum(w * (np.logaddexp(0, eta) - y * eta)))
        hd = np.bincount(cell, weights=w * p * (1 - p), minlength=n_cells)
        M = np.diag(hd) + 2 * lam * P
        edf = float(np.trace(linalg.solve(M, np.diag(hd), assume_a="pos")))
        aic = dev + 2 * edf
        if best is None or aic < best[2]:
            best = (u.copy(), lam, aic)
    return best


def deviance(y, w, eta) -> float:
    return 2 * float(np.sum(w * (np.logaddexp(0, eta) - y * eta)))


class PairModel:
    """Main effects (a penalised ``Scorecard`` without rules) plus stage-wise pair tables."""

    def __init__(self, Scorecard, n_groups: int):
        self.Scorecard, self.n_groups = Scorecard, n_groups

    def fit_mains(self, X, y):
        self.mains = self.Scorecard(form="penalised", max_rules=0).fit(X, y)
        self.names = list(self.mains.selected_features_)
        return self

    def codes(self, X) -> dict[str, np.ndarray]:
        return {c: self.mains.binnings_[c].bin_index(X[c]) for c in self.names}

    def pair_grid(self, a, b):
        ba, bb = self.mains.binnings_[a], self.mains.binnings_[b]
        wa = np.asarray(ba.n_event, float) + np.asarray(ba.n_nonevent, float)
        wb = np.asarray(bb.n_event, float) + np.asarray(bb.n_nonevent, float)
        return groups_of(wa, self.n_groups), groups_of(wb, self.n_groups)

    def table_fit(self, grid, codes, y, w, offset, a, b):
        ga, gb = grid
        na, nb = int(ga.max()) + 1, int(gb.max()) + 1
        cell = ga[codes[a]] * nb + gb[codes[b]]
        scale = float(np.sum(w) * y.mean() * (1 - y.mean()))
        u, lam, _ = fit_table(cell, na * nb, y, w, offset, fusion_matrix(na - 2, nb - 2), scale)
        return u, cell

    def contribution(self, X, pairs):
        codes = self.codes(X)
        eta = self.mains.decision_function(X)
        for a, b, grid, u in pairs:
            nb = int(grid[1].max()) + 1
            eta = eta + u[grid[0][codes[a]] * nb + grid[1][codes[b]]]
        return eta


def select_pairs(Scorecard, X, y, n_groups, max_pairs, min_gain, n_candidates, seed=0):
    """Pairs kept on a validation split of the training window, in FAST order."""
    rng = np.random.default_rng(seed)
    val = np.zeros(len(y), dtype=bool)
    for cls in (0, 1):
        idx = np.flatnonzero(y == cls)
        val[rng.choice(idx, size=len(idx) // 5, replace=False)] = True
    Xf, yf, Xv, yv = X[~val], y[~val], X[val], y[val]
    pm = PairModel(Scorecard, n_groups).fit_mains(Xf, yf)
    cf, cv = pm.codes(Xf), pm.codes(Xv)
    ef, ev = pm.mains.decision_function(Xf), pm.mains.decision_function(Xv)
    p = special.expit(ef)
    nbins = {c: pm.mains.binnings_[c].n_bins for c in pm.names}
    ranked = fast_scores(cf, nbins, p - yf, p * (1 - p))
    wf, wv = np.ones(len(yf)), np.ones(len(yv))
    kept, base = [], deviance(yv, wv, ev)
    for _gain, a, b in ranked[:n_candidates]:
        grid = pm.pair_grid(a, b)
        u, cell = pm.table_fit(grid, cf, yf, wf, ef, a, b)
        nb = int(grid[1].max()) + 1
        ev_new = ev + u[grid[0][cv[a]] * nb + grid[1][cv[b]]]
        d = deviance(yv, wv, ev_new)
        if base - d > min_gain:
            kept.append((a, b))
            ef, ev, base = ef + u[cell], ev_new, d
            if len(kept) >= max_pairs:
                break
    return kept, len(ranked)


def fit_final(Scorecard, X, y, n_groups, kept):
    pm = PairModel(Scorecard, n_groups).fit_mains(X, y)
    codes = pm.codes(X)
    eta = pm.mains.decision_function(X)
    w = np.ones(len(y))
    pairs = []
    for a, b in kept:
        if a not in pm.names or b not in pm.names:
            continue
        grid = pm.pair_grid(a, b)
        u, cell = pm.table_fit(grid, codes, y, w, eta, a, b)
        eta = eta + u[cell]
        pairs.append((a, b, grid, u))
    return pm, pairs


def _auc(r: dict) -> str:
    return f"{r['auc']:.4f} [{r['ci'][0]:.4f}, {r['ci'][1]:.4f}]"


def _peer_auc(r: dict | None) -> str:
    return "n/a" if r is None else f"{r['auc']:.4f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", type=Path, default=ROOT.parent / "shared" / "bench")
    ap.add_argument("--datasets", default="gmsc,lendingclub,belanche,german")
    ap.add_argument("--groups", type=int, default=6)
    ap.add_argument("--max-pairs", type=int, default=10)
    ap.add_argument("--min-gain", type=float, default=0.0)
    ap.add_argument("--candidates", type=int, default=0, help="pairs tried in FAST order (0: 3 x characteristics)")
    ap.add_argument("--out", default="pairs_experiment.json")
    args = ap.parse_args()
    sys.path.insert(0, str(args.bench))
    sys.path.insert(0, str(ROOT / "src"))
    import datasets  # the harness's loader (same splits, seed 42)

    from lendscore import Scorecard

    rows = []
    for name in args.datasets.split(","):
        s = datasets.load(name)
        y_tr = np.asarray(s.y_train).astype(int)
        y = np.asarray(s.y_test).astype(int)
        pd_ = {}
        for label, kw in (("classic", {}), ("penalised_rules", {"form": "penalised"})):
            pd_[label] = Scorecard(**kw).fit(s.X_train, y_tr).decision_function(s.X_test)
        t0 = time.perf_counter()
        n_sel = len(Scorecard(form="penalised", max_rules=0).fit(s.X_train, y_tr).selected_features_)
        n_cand = args.candidates or 3 * n_sel
        kept, n_pairs = select_pairs(
            Scorecard, s.X_train.reset_index(drop=True), y_tr, args.groups, args.max_pairs, args.min_gain, n_cand
        )
        pm, pairs = fit_final(Scorecard, s.X_train, y_tr, args.groups, kept)
        fit_s = time.perf_counter() - t0
        pd_["penalised_mains"] = pm.mains.decision_function(s.X_test)
        pd_["penalised_pairs"] = pm.contribution(s.X_test, pairs)
        stored = {"results": []}
        for fname in (f"{name}.json", f"ebm_{name}.json"):
            if (args.bench / "results" / fname).exists():
                stored["results"] += json.loads((args.bench / "results" / fname).read_text())["results"]
        row = {
            "dataset": name,
            "groups": args.groups,
            "min_gain": args.min_gain,
            "max_pairs": args.max_pairs,
            "pairs_screened": n_pairs,
            "pairs_tried": n_cand,
            "pairs_kept": [f"{a} x {b}" for a, b in kept],
            "pairs_fit_s": fit_s,
            **{k: delong(y, v) for k, v in pd_.items()},
            "pairs_minus_rules": delong(y, pd_["penalised_pairs"], pd_["penalised_rules"]),
            "ebm": _peer(stored, "ebm"),
            "lightgbm": _peer(stored, "lightgbm"),
        }
        rows.append(row)
        d = row["pairs_minus_rules"]
        print(
            f"| {name} | {_auc(row['classic'])} | {_auc(row['penalised_rules'])} | {_auc(row['penalised_mains'])} "
            f"| {_auc(row['penalised_pairs'])} | {d['diff']:+.4f} [{d['diff_ci'][0]:+.4f}, {d['diff_ci'][1]:+.4f}] "
            f"| {_peer_auc(row['ebm'])} | {_peer_auc(row['lightgbm'])} | {len(kept)}/{n_cand} of {n_pairs} |",
            flush=True,
        )
    (ROOT / "benchmarks" / "results" / args.out).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
