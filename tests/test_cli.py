"""The command line as a user meets it: train, score, decide, demo, and bad input (exit 2, no traceback)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import lendscore
from cli_helpers import flat, lending_club_sample, run, train_out_of_time
from lendscore.data import bundled_path, load_bundled


@pytest.fixture(scope="module")
def lc_csv(tmp_path_factory):
    """A 12,000-row slice of the bundled Lending Club file (policy loans, 2009-2011)."""
    path = tmp_path_factory.mktemp("cli") / "lc.csv"
    lending_club_sample(12_000, seed=0).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def trained(lc_csv, tmp_path_factory):
    return train_out_of_time(lc_csv, tmp_path_factory.mktemp("model"))


def test_train_writes_model_report_and_metrics(trained):
    assert {p.name for p in trained.iterdir()} == {"model.json", "report.html", "report.json", "metrics.json"}
    metrics = json.loads((trained / "metrics.json").read_text())
    assert set(metrics) == {"train", "test", "fit_seconds"}
    for key in ("auc", "gini", "ks", "brier", "log_loss", "accuracy", "precision", "recall", "f1", "threshold"):
        assert 0 <= metrics["test"][key] <= 1
    assert metrics["test"]["auc"] > 0.62
    model = lendscore.load(trained / "model.json")
    assert model.metadata_["training_window"]["end"] < "2011-01-01" <= model.metadata_["test_window"]["start"]


def test_score_adds_pd_score_grade_and_points(trained, lc_csv, tmp_path, capsys):
    out = tmp_path / "scored.csv"
    code, text = run(
        [
            "score",
            "--model",
            str(trained / "model.json"),
            "--input",
            str(lc_csv),
            "--output",
            str(out),
            "--batch-size",
            "5000",
        ],
        capsys,
    )
    assert code == 0, text
    scored = pd.read_csv(out)
    # outputs are always prefixed: the Lending Club file has its own "grade" column, kept as it is
    assert {"lendscore_pd", "lendscore_score", "lendscore_grade"} <= set(scored.columns)
    assert any(c.startswith("lendscore_points_") for c in scored.columns)
    assert len(scored) == 12_000
    assert scored["grade"].tolist() == pd.read_csv(lc_csv)["grade"].tolist()
    # raw rows scored by the CLI (features derived on the fly) == prepared rows scored in Python
    from lendscore.data import get_profile, prepare

    X, _, _, _ = prepare(pd.read_csv(lc_csv), get_profile("lending_club_2007_2011"))
    expected = lendscore.load(trained / "model.json").score_details(X)["score"]
    assert len(X) > 11_900
    assert scored.loc[X.index, "lendscore_score"].to_numpy() == pytest.approx(expected.to_numpy(), abs=1e-9)


def test_decide_one_applicant_json(trained, capsys):
    row = load_bundled("lending_club").iloc[100].to_dict()
    applicant = {
        k: (None if isinstance(v, float) and v != v else v) for k, v in row.items() if k != "loan_status"
    }  # raw application fields; derived features are computed
    applicant["finances"] = {"gross_income": 4000.0, "existing_obligations": 300.0}
    applicant["loan"] = {"amount": 10000.0, "annual_rate": 0.12, "term_months": 36}
    code, text = run(["decide", "--model", str(trained / "model.json"), "--applicant", json.dumps(applicant)], capsys)
    assert code == 0, text
    decision = json.loads(text)
    assert decision["outcome"] in ("approve", "refer", "decline")
    assert decision["affordability"]["new_instalment"] == pytest.approx(332.14, abs=0.01)


def test_target_with_more_than_two_values_is_refused_and_nothing_written(tmp_path, capsys):
    src = tmp_path / "all_statuses.csv"
    load_bundled("lending_club").head(3000).to_csv(src, index=False)
    out = tmp_path / "out"
    code, text = run(["train", str(src), "--target", "loan_status", "--bad", "Charged Off", "--out", str(out)], capsys)
    assert code == 2
    assert "loan_status" in text and "two values" in text and "Traceback" not in text
    assert not out.exists()


def test_unknown_config_key_is_refused_by_name(lc_csv, tmp_path, capsys):
    cfg = tmp_path / "scorecard.toml"
    cfg.write_text("[scorecard]\nmax_n_bins = 8\nmax_bins_typo = 3\n")
    code, text = run(
        [
            "train",
            str(lc_csv),
            "--profile",
            "lending_club_2007_2011",
            "--config",
            str(cfg),
            "--out",
            str(tmp_path / "out"),
        ],
        capsys,
    )
    assert code == 2 and "max_bins_typo" in text and "unknown key" in text
    assert not (tmp_path / "out").exists()


def test_truncated_model_is_refused_with_the_reason(trained, tmp_path, capsys):
    bad = tmp_path / "model.json"
    text = (trained / "model.json").read_text()
    bad.write_text(text[: len(text) // 2])
    code, msg = run(
        [
            "score",
            "--model",
            str(bad),
            "--input",
            str(bundled_path("german_credit")),
            "--output",
            str(tmp_path / "x.csv"),
        ],
        capsys,
    )
    assert code == 2 and "truncated" in msg and "Traceback" not in msg


def test_missing_data_file_names_the_file(tmp_path, capsys):
    code, text = run(["train", str(tmp_path / "nope.csv"), "--target", "y", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "nope.csv" in text


def test_demo_runs_end_to_end(tmp_path, capsys):
    code, text = run(["demo", "--out", str(tmp_path / "demo")], capsys)
    assert code == 0, text
    assert "validation metrics" in text and "net take-home" in text
    assert (tmp_path / "demo" / "report.html").stat().st_size > 100_000


def test_score_parquet_keeps_input_columns_and_matches_python(trained, lc_csv, tmp_path, capsys):
    src = tmp_path / "applicants.parquet"
    raw = pd.read_csv(lc_csv)
    raw.to_parquet(src, index=False)
    out = tmp_path / "scored.parquet"
    code, text = run(
        [
            "score",
            "--model",
            str(trained / "model.json"),
            "--input",
            str(src),
            "--output",
            str(out),
            "--batch-size",
            "4000",
        ],
        capsys,
    )
    assert code == 0, text
    scored = pd.read_parquet(out)
    assert list(scored.columns[: raw.shape[1]]) == list(raw.columns)  # inputs kept, in order
    assert scored["loan_amnt"].tolist() == raw["loan_amnt"].tolist()
    from lendscore.data import get_profile, prepare

    X, _, _, _ = prepare(raw, get_profile("lending_club_2007_2011"))
    expected = lendscore.load(trained / "model.json").score_details(X)
    assert scored.loc[X.index, "lendscore_score"].to_numpy() == pytest.approx(expected["score"].to_numpy(), abs=1e-9)
    assert scored.loc[X.index, "lendscore_grade"].tolist() == expected["grade"].tolist()


def test_score_lists_values_scored_by_a_declared_rule(trained, lc_csv, tmp_path, capsys):
    raw = pd.read_csv(lc_csv).head(300)
    raw.loc[raw.index[:7], "purpose"] = "Debt Consolidation"  # a category never seen in training
    src, out = tmp_path / "a.csv", tmp_path / "s.csv"
    raw.to_csv(src, index=False)
    code, text = run(
        ["score", "--model", str(trained / "model.json"), "--input", str(src), "--output", str(out)], capsys
    )
    assert code == 0, text
    scored = pd.read_csv(out, keep_default_na=False)
    model = lendscore.load(trained / "model.json")
    expected = model.input_warnings(raw.drop(columns="loan_status"))
    if "purpose" in model.table_.inputs:
        assert scored["lendscore_warnings"].str.contains("purpose:unseen_category").sum() == 7
    assert (scored["lendscore_warnings"] != "").sum() == expected["row"].nunique() > 0
    assert f"{expected['row'].nunique()} rows have values scored by a declared rule" in flat(text)


# ---------------------------------------------------------------------------- train --segment
def test_train_segment_shows_discrimination_by_a_raw_column(lc_csv, tmp_path, capsys):
    out = tmp_path / "seg"
    argv = ["train", str(lc_csv), "--profile", "lending_club_2007_2011", "--test-from", "2011-01-01"]
    code, text = run([*argv, "--segment", "addr_state", "--out", str(out)], capsys)  # not a model input
    assert code == 0, text
    seg = json.loads((out / "report.json").read_text())["segments"]
    assert seg["column"] == "addr_state" and seg["sample"] == "test"
    assert sum(r["n"] for r in seg["rows"]) == json.loads((out / "metrics.json").read_text())["test"]["n"]
    assert any(r["too_small"] for r in seg["rows"]) and any(r["auc"] for r in seg["rows"])
    assert '<section id="segments">' in (out / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("column", "message"),
    [("no_such_column", "segment column 'no_such_column' not found"), ("branch", "'branch' has a single value")],
)
def test_train_refuses_a_missing_or_single_valued_segment(lc_csv, tmp_path, capsys, column, message):
    data = tmp_path / "lc.csv"
    pd.read_csv(lc_csv).assign(branch="north").to_csv(data, index=False)
    out = tmp_path / "out"
    argv = ["train", str(data), "--profile", "lending_club_2007_2011", "--test-from", "2011-01-01"]
    code, text = run([*argv, "--segment", column, "--out", str(out)], capsys)
    assert code == 2 and message in flat(text) and "Traceback" not in text
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["lc.csv"]
