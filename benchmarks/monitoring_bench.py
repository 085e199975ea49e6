"""Benchmark: drift and realised performance on one million logged decisions (target < 10 s).

Builds a frame shaped like the audit store's ``decisions_frame()`` (decision_id, request_id,
created_at, model_version, policy_version, outcome, pd, score, grade and the applicant's inputs)
with 1,000,000 rows: Lending Club applications resampled with replacement (numeric inputs jittered
by +-5 %), spread over 12 months of 2011, scored by a scorecard trained on 2007-2009 loans; one
outcome per decision. Generating and scoring the rows is not timed; timed are:

- ``validate_outcomes`` of 1M outcomes against the 1M decisions,
- ``drift`` (score PSI, CSI of every characteristic, missing and out-of-range of every input, monthly),
- ``performance_by_vintage`` (rates, AUC, KS per vintage, calibration by grade).

Run: ``python benchmarks/monitoring_bench.py [--rows N]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd


def make_frames(n_rows: int, seed: int = 0):
    import lendscore
    from lendscore.data import get_profile, load_bundled, prepare
    from lendscore.monitoring import build_reference
    from lendscore.monitoring.drift import DECISION_COLUMNS, REFERENCE_KEY

    X, y, t, _ = prepare(load_bundled("lending_club"), get_profile("lending_club_2007_2011"))
    train = (t < "2010-01-01").to_numpy()
    model = lendscore.Scorecard().fit(X[train], y[train])
    model.metadata_ = {REFERENCE_KEY: build_reference(model, X[train]).to_dict()}
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(X), n_rows)
    apps = X.iloc[pick].reset_index(drop=True)
    for c in apps.columns:
        if pd.api.types.is_float_dtype(apps[c]) and c not in ("term",):
            apps[c] = apps[c] * rng.uniform(0.95, 1.05, n_rows)
    det = model.score_details(apps)
    start = pd.Timestamp("2011-01-01", tz="UTC")
    created = start + pd.to_timedelta(np.sort(rng.uniform(0, 365 * 86400, n_rows)), unit="s")
    score = det["score"].to_numpy()
    decisions = pd.DataFrame(
        {
            "decision_id": [f"d{i:07d}" for i in range(n_rows)],
            "request_id": [f"r{i:07d}" for i in range(n_rows)],
            "created_at": created,
            "model_version": "v1",
            "policy_version": "2026.1-example",
            "outcome": np.where(score >= 555, "approve", np.where(score >= 530, "refer", "decline")),
            "pd": det["pd"].to_numpy(),
            "score": score,
            "grade": det["grade"].to_numpy(),
        }
    )
    inputs = apps.rename(columns={c: "input." + c for c in apps.columns if c in DECISION_COLUMNS})
    decisions = pd.concat([decisions, inputs], axis=1)
    defaulted = (rng.random(n_rows) < decisions["pd"].to_numpy() * 1.1).astype(int)
    outcomes = pd.DataFrame(
        {
            "decision_id": decisions["decision_id"],
            "defaulted": defaulted,
            "reported_at": created + pd.Timedelta(days=400),
            "outcome_date": created + pd.Timedelta(days=380),
        }
    )
    return model, decisions, outcomes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    from lendscore.monitoring import drift, performance_by_vintage, validate_outcomes

    t0 = time.perf_counter()
    model, decisions, outcomes = make_frames(args.rows)
    print(
        f"generated and scored {len(decisions):,} decisions with {decisions.shape[1]} columns "
        f"in {time.perf_counter() - t0:.1f} s (not timed)"
    )
    timings = {}
    t = time.perf_counter()
    accepted, rejections = validate_outcomes(outcomes, decisions)
    timings["validate_outcomes"] = time.perf_counter() - t
    t = time.perf_counter()
    d = drift(decisions, model, period="M")
    timings["drift"] = time.perf_counter() - t
    t = time.perf_counter()
    p = performance_by_vintage(decisions, accepted, as_of="2013-06-30", maturity_months=12)
    timings["performance"] = time.perf_counter() - t
    total = timings["drift"] + timings["performance"]
    for k, v in timings.items():
        print(f"{k:>18}: {v:6.2f} s")
    print(
        f"drift + performance: {total:.2f} s for {len(decisions):,} decisions "
        f"({'within' if total < 10 else 'OVER'} the 10 s target); "
        f"{len(d.characteristics)} CSI rows, {len(d.inputs)} input rows, {len(p.vintages)} vintages, "
        f"{rejections.n_accepted:,} outcomes accepted"
    )


if __name__ == "__main__":
    main()
