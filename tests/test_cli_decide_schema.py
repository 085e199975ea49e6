"""``lendscore decide`` takes the one applicant schema of the HTTP API: the model's fields and the raw
fields its derivation reads, optional finances / loan / applicant_id; absent means missing; an
unknown field or an unreadable raw value is refused by name; applicant_id and warnings are carried."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import lendscore
from cli_helpers import flat, lending_club_sample, run, train_out_of_time


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    csv = tmp_path_factory.mktemp("decide") / "lc.csv"
    lending_club_sample(8_000, seed=1).to_csv(csv, index=False)
    return train_out_of_time(csv, tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def raw_applicants():
    rows = lending_club_sample(8_000, seed=2)
    rows = rows[rows["issue_d"] >= "2011-01-01"].head(40).drop(columns=["loan_status", "installment"])
    return [
        {k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in rows.to_dict("records")
    ]


def _decide(model_dir, applicant, capsys, *extra):
    return run(
        ["decide", "--model", str(model_dir / "model.json"), "--applicant", json.dumps(applicant), *extra], capsys
    )


def test_raw_applicant_without_instalment_scores_as_predict_one(model_dir, raw_applicants, capsys):
    model = lendscore.load(model_dir / "model.json")
    for a in raw_applicants[:10]:
        code, text = _decide(model_dir, {**a, "applicant_id": "A-1"}, capsys)
        assert code == 0, text
        d = json.loads(text)
        assert d["applicant_id"] == "A-1" and d["application"]["issue_d"] == a["issue_d"]
        assert d["pd"] == pytest.approx(model.predict_one(a)["pd"], abs=1e-12)
        assert d["pd"] == pytest.approx(model.predict_proba(pd.DataFrame([a]))[0, 1], abs=1e-12)


def test_http_body_shape_is_accepted_too(model_dir, raw_applicants, capsys):
    a = raw_applicants[0]
    code, flat_text = _decide(model_dir, a, capsys)
    code2, body_text = _decide(model_dir, {"applicant": a, "applicant_id": "B-7"}, capsys)
    assert code == code2 == 0
    one, two = json.loads(flat_text), json.loads(body_text)
    assert one["pd"] == two["pd"] and two["applicant_id"] == "B-7"


def test_absent_fields_are_missing_not_an_error(model_dir, capsys):
    code, text = _decide(model_dir, {"term": 36, "int_rate": 0.12}, capsys)
    assert code == 0, text
    d = json.loads(text)
    assert d["points"]["annual_inc"] == pytest.approx(
        lendscore.load(model_dir / "model.json").predict_one({"term": 36, "int_rate": 0.12})["points"]["annual_inc"]
    )


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"fico": 700}, ["fico", "unknown field"]),
        ({"earliest_cr_line": "2011-13-45"}, ["earliest_cr_line", "ISO date", "2011-13-45"]),
        ({"earliest_cr_line": "2012-06-01"}, ["earliest_cr_line", "must not be after the application date"]),
        ({"annual_inc": -5}, ["annual_inc", "must be >= 0", "-5"]),
    ],
)
def test_bad_input_is_refused_by_field_and_rule(model_dir, raw_applicants, tmp_path, capsys, change, words):
    out = tmp_path / "decisions.jsonl"
    code, text = _decide(model_dir, {**raw_applicants[0], **change}, capsys, "--output", str(out))
    assert code == 2, text
    for w in words:
        assert w in flat(text)
    assert "Traceback" not in text and not out.exists()


def test_unseen_category_is_scored_by_rule_and_reported(model_dir, raw_applicants, capsys):
    code, text = _decide(model_dir, {**raw_applicants[0], "purpose": "Debt Consolidation"}, capsys)
    assert code == 0, text
    assert {"field": "purpose", "rule": "unseen_category", "value": "Debt Consolidation"} in json.loads(text)[
        "warnings"
    ]


def test_finances_give_the_nth_the_model_uses(model_dir, raw_applicants, capsys):
    a = {
        **raw_applicants[0],
        "finances": {"gross_income": 5000.0, "existing_obligations": 400.0},
        "loan": {"amount": 12_000.0, "annual_rate": 0.11, "term_months": 36},
    }
    code, text = _decide(model_dir, a, capsys)
    assert code == 0, text
    d = json.loads(text)
    model = lendscore.load(model_dir / "model.json")
    used = model.derive(
        pd.DataFrame(
            [
                {
                    **{k: v for k, v in d["application"].items() if k not in ("finances", "loan")},
                    **{f"finances.{k}": v for k, v in d["application"]["finances"].items()},
                    **{f"loan.{k}": v for k, v in d["application"]["loan"].items()},
                }
            ]
        )
    )
    assert used.loc[0, "nth"] == d["affordability"]["nth"]
    assert used.loc[0, "nth_ratio"] == d["affordability"]["nth_share"]
    assert d["application"]["finances"]["deductions"] == pytest.approx(1000.0)  # the policy's 20 %, stated


def test_csv_input_with_dotted_columns_keeps_ids(model_dir, raw_applicants, tmp_path, capsys):
    rows = pd.DataFrame(raw_applicants[:15]).assign(applicant_id=[f"C{i}" for i in range(15)])
    rows["finances.gross_income"] = 4000.0
    rows["loan.amount"], rows["loan.annual_rate"], rows["loan.term_months"] = 9000.0, 0.1, 36
    src, out = tmp_path / "apps.csv", tmp_path / "d.csv"
    rows.to_csv(src, index=False)
    code, text = run(
        ["decide", "--model", str(model_dir / "model.json"), "--input", str(src), "--output", str(out)], capsys
    )
    assert code == 0, text
    got = pd.read_csv(out)
    assert got["applicant_id"].tolist() == rows["applicant_id"].tolist()
    model = lendscore.load(model_dir / "model.json")
    singles = [
        model.predict_one(
            {
                **a,
                "finances": {"gross_income": 4000.0, "deductions": 800.0},
                "loan": {"amount": 9000.0, "annual_rate": 0.1, "term_months": 36},
            }
        )["pd"]
        for a in raw_applicants[:15]
    ]
    assert got["pd"].to_numpy() == pytest.approx(singles, abs=1e-12)


def test_an_applicant_file_that_does_not_exist_is_named(model_dir, tmp_path, capsys):
    code, text = _decide_file(model_dir, tmp_path / "nope.json", capsys)
    assert code == 2 and "nope.json" in flat(text) and "internal error" not in text


def _decide_file(model_dir, path, capsys):
    return run(["decide", "--model", str(model_dir / "model.json"), "--applicant", str(path)], capsys)
