"""Principal reasons: ranking by shortfall, ties, distinct codes, at most four, catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest

from lendscore.decision.reasons import load_catalogue, principal_reasons
from lendscore.errors import PolicyError

CAT = load_catalogue()
MAX = {
    "revol_util": 40.0,
    "dti": 30.0,
    "inq_last_6mths": 25.0,
    "annual_inc": 35.0,
    "delinq_2yrs": 20.0,
    "pub_rec": 15.0,
    "emp_length": 10.0,
}


def test_bundled_catalogue_has_policy_and_score_codes() -> None:
    assert CAT.get("P12").kind == "policy"
    assert "minimum" in CAT.get("P12").text
    assert CAT.code_for("revol_util").code == "S03"
    assert CAT.code_for("RevolvingUtilizationOfUnsecuredLines").code == "S03"
    assert CAT.code_for("inq_last_12m").code == "S06"  # pattern "inq_*"
    assert CAT.code_for("something_new").code == "S99"  # fallback


def test_every_characteristic_of_the_bundled_lending_club_model_has_its_own_reason(lc_model):
    """An officer (and an applicant's adverse-action notice) should not read "other information"
    for a characteristic the model actually scores."""
    unmapped = {c for c in lc_model.selected_features_ if CAT.code_for(c).code == "S99"}
    assert not unmapped


def test_ranked_by_shortfall_with_name_tiebreak() -> None:
    points = {
        "revol_util": 10.0,
        "dti": 5.0,
        "inq_last_6mths": 20.0,
        "annual_inc": 30.0,
        "delinq_2yrs": 20.0,
        "pub_rec": 15.0,
        "emp_length": 10.0,
    }
    # shortfalls: revol_util 30, dti 25, annual_inc 5, inq_last_6mths 5, others 0
    reasons = principal_reasons(points, MAX, CAT)
    assert [r.characteristic for r in reasons] == ["revol_util", "dti", "annual_inc", "inq_last_6mths"]
    assert [r.code for r in reasons] == ["S03", "S08", "S07", "S06"]
    assert [r.shortfall for r in reasons] == [30.0, 25.0, 5.0, 5.0]
    shuffled = dict(reversed(list(points.items())))
    assert principal_reasons(shuffled, MAX, CAT) == reasons  # independent of dict order


def test_at_most_four_distinct_codes_and_only_shortfalls() -> None:
    points = {k: 0.0 for k in MAX}
    reasons = principal_reasons(points, MAX, CAT)
    assert len(reasons) == 4
    assert len({r.code for r in reasons}) == 4
    # pub_rec (S02) and delinq_2yrs (S01) differ; add a second S01 characteristic: one S01 only.
    ref = {"delinq_2yrs": 50.0, "mths_since_last_delinq": 49.0, "dti": 10.0}
    got = principal_reasons({k: 0.0 for k in ref}, ref, CAT, max_reasons=4)
    assert [r.code for r in got] == ["S01", "S08"]
    assert principal_reasons(MAX, MAX, CAT) == []  # at the reference: no reasons


def test_reference_must_cover_points_and_max_reasons_positive() -> None:
    with pytest.raises(PolicyError, match="dti"):
        principal_reasons({"dti": 1.0}, {"revol_util": 2.0}, CAT)
    with pytest.raises(PolicyError, match="max_reasons"):
        principal_reasons({"dti": 1.0}, {"dti": 2.0}, CAT, max_reasons=0)


def test_catalogue_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "reasons.toml"
    path.write_text('version = "x"\n[codes.A1]\ntext = "a"\nwording = "b"\n', encoding="utf-8")
    with pytest.raises(PolicyError, match=r"line 4: codes.A1.wording"):
        load_catalogue(path)
    path.write_text('version = "x"\nfallback = "Z"\n[codes.A1]\ntext = "a"\n', encoding="utf-8")
    with pytest.raises(PolicyError, match=r"line 2: fallback 'Z'"):
        load_catalogue(path)
    path.write_text('version = "x"\n[codes.A1]\ntext = "a"\n', encoding="utf-8")
    with pytest.raises(PolicyError, match="no fallback"):
        load_catalogue(path).code_for("dti")
