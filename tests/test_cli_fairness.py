"""``lendscore fairness`` on the German credit data: the same figures as ``fairness_report`` called
directly, groups read from a separate file joined by id, small groups named and not judged, bad
group columns refused by name."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import lendscore
from cli_helpers import flat, run
from lendscore.data import load_bundled, random_split
from lendscore.decision import fairness_report, german_credit_groups

PROTECTED = ["age_years", "personal_status_and_sex", "foreign_worker"]


@pytest.fixture(scope="module")
def german(tmp_path_factory):
    d = tmp_path_factory.mktemp("fair")
    raw = load_bundled("german_credit").reset_index(drop=True)
    y = (raw["credit_risk"] == 2).astype(int)
    features = [c for c in raw.columns if c not in (*PROTECTED, "credit_risk")]
    train, test = random_split(y, test_size=0.3, seed=42)
    model = lendscore.Scorecard().fit(raw.loc[train, features], y[train])
    model.save(d / "model.json")
    held = raw.loc[test].assign(app_id=lambda f: [f"G{i}" for i in f.index])
    groups = german_credit_groups(held).assign(app_id=held["app_id"].to_numpy())
    held[[*features, "credit_risk", "app_id"]].to_csv(d / "apps.csv", index=False)
    groups.to_csv(d / "groups.csv", index=False)
    details = model.score_details(held[features])
    return d, held, groups, details


def test_figures_equal_fairness_report(german, capsys):
    d, held, groups, details = german
    out = d / "fair.json"
    code, text = run(
        [
            "fairness",
            str(d / "apps.csv"),
            "--groups",
            str(d / "groups.csv"),
            "--id-column",
            "app_id",
            "--group",
            "age_band",
            "--model",
            str(d / "model.json"),
            "--target",
            "credit_risk",
            "--bad",
            "2",
            "--approval-rate",
            "0.7",
            "--out",
            str(out),
            "--plot",
            str(d / "fair.png"),
        ],
        capsys,
    )
    assert code == 0, text
    doc = json.loads(out.read_text())
    score = details["score"].to_numpy()
    want = fairness_report(
        score,
        (held["credit_risk"] == 2).astype(int),
        groups["age_band"],
        cutoff=doc["cutoff"],
        pds=details["pd"].to_numpy(),
        attribute="age_band",
    ).by_group
    got = pd.DataFrame(doc["by_group"]).set_index("age_band")
    for col in ("n", "approval_rate", "default_rate", "air", "smd", "mean_pd"):
        np.testing.assert_allclose(got[col].to_numpy(dtype=float), want[col].to_numpy(dtype=float), rtol=1e-12)
    assert abs((score >= doc["cutoff"]).mean() - 0.7) < 0.02
    assert (d / "fair.png").stat().st_size > 5_000
    assert "AIR" in text and "<25" in text


def test_small_groups_are_named_not_dropped(german, capsys):
    d, *_ = german
    code, text = run(
        [
            "fairness",
            str(d / "apps.csv"),
            "--groups",
            str(d / "groups.csv"),
            "--id-column",
            "app_id",
            "--group",
            "personal_status",
            "--model",
            str(d / "model.json"),
            "--target",
            "credit_risk",
            "--bad",
            "2",
            "--cutoff",
            "540",
            "--min-group-size",
            "40",
            "--out",
            str(d / "p.json"),
        ],
        capsys,
    )
    assert code == 0, text
    doc = json.loads((d / "p.json").read_text())
    sizes = {r["personal_status"]: r["n"] for r in doc["by_group"]}
    assert len(sizes) == 4 and sorted(doc["too_small"]) == sorted(g for g, n in sizes.items() if n < 40)
    assert doc["too_small"] and "too small to judge" in flat(text)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--group", "ethnicity"], ["ethnicity", "is missing"]),
        (["--group", "foreign"], ["foreign", "single value"]),
        (["--group", "age_band"], ["exactly one of --cutoff"]),
    ],
)
def test_bad_group_columns_are_refused_by_name(german, capsys, args, words):
    d, held, *_ = german
    src = d / "one.csv"
    held.assign(foreign="yes").to_csv(src, index=False)
    extra = [] if "exactly one" in words[0] else ["--cutoff", "540"]
    code, text = run(
        [
            "fairness",
            str(src),
            "--model",
            str(d / "model.json"),
            "--target",
            "credit_risk",
            "--bad",
            "2",
            *args,
            *extra,
            *(["--groups", str(d / "groups.csv"), "--id-column", "app_id"] if args[1] == "age_band" else []),
        ],
        capsys,
    )
    assert code == 2, text
    for w in words:
        assert w in flat(text)
