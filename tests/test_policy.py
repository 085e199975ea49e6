"""Credit policy TOML: the bundled default loads; bad files are refused naming the line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lendscore.decision.policy import line_of, load_policy, parse_policy
from lendscore.errors import PolicyError

GOOD = """\
version = "test-1"
basis = "score"

[[bands]]
outcome = "decline"
min = -inf
max = 500

[[bands]]
outcome = "refer"
min = 500
max = 550
reason = "P20"

[[bands]]
outcome = "approve"
min = 550
max = inf

[[knockouts]]
name = "under_age"
when = [{ field = "age", op = "<", value = 18 }]
reason = "P01"

[affordability]
min_nth_share = 0.4
max_foir = 0.5
"""


def _line(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line number of the ``occurrence``-th line containing ``needle``."""
    hits = [i for i, ln in enumerate(text.splitlines(), start=1) if needle in ln]
    return hits[occurrence - 1]


def _refused(text: str, tmp_path: Path) -> str:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    message = str(info.value)
    assert str(path) in message
    return message


def _line_in(message: str) -> int:
    match = re.search(r"line (\d+)", message)
    assert match, message
    return int(match.group(1))


def test_default_policy_loads() -> None:
    policy = load_policy()
    assert [b.outcome for b in policy.bands] == ["decline", "refer", "approve"]
    assert policy.affordability is not None and policy.affordability.min_nth_share == 0.40
    assert policy.affordability.max_foir == 0.50
    assert [k.name for k in policy.knockouts][:2] == ["under_age", "bankruptcy"]


def test_good_policy_and_band_lookup() -> None:
    policy = parse_policy(GOOD)
    assert policy.band_for(499.9).outcome == "decline"
    assert policy.band_for(500).outcome == "refer"  # half-open [min, max)
    assert policy.band_for(550).outcome == "approve"
    assert policy.band_for(1e9).outcome == "approve"


def test_overlapping_bands_name_the_line(tmp_path: Path) -> None:
    bad = GOOD.replace("min = 550", "min = 540")
    message = _refused(bad, tmp_path)
    assert "overlap" in message and "bands.2.min" in message
    assert _line_in(message) == _line(bad, "min = 540")


def test_gap_between_bands_names_the_line(tmp_path: Path) -> None:
    bad = GOOD.replace("min = 500", "min = 510")
    message = _refused(bad, tmp_path)
    assert "gap" in message and "510" in message
    assert _line_in(message) == _line(bad, "min = 510")


def test_unknown_key_names_the_line(tmp_path: Path) -> None:
    bad = GOOD.replace('reason = "P20"', 'reason = "P20"\ncolour = "amber"')
    message = _refused(bad, tmp_path)
    assert "colour" in message and "Extra inputs" in message
    assert _line_in(message) == _line(bad, "colour")


def test_unknown_top_level_key_and_bad_value(tmp_path: Path) -> None:
    bad = GOOD.replace('basis = "score"', 'basis = "score"\nsecret_mode = true')
    assert _line_in(_refused(bad, tmp_path)) == _line(bad, "secret_mode")
    bad = GOOD.replace('outcome = "refer"', 'outcome = "maybe"')
    message = _refused(bad, tmp_path)
    assert "bands.1.outcome" in message and "maybe" in message
    assert _line_in(message) == _line(bad, '"maybe"')


def test_unknown_reason_code_names_the_line(tmp_path: Path) -> None:
    bad = GOOD.replace('reason = "P01"', 'reason = "X42"')
    message = _refused(bad, tmp_path)
    assert "X42" in message and "catalogue" in message
    assert _line_in(message) == _line(bad, "X42")
    bad = GOOD + '\n[affordability.reason_codes]\nfoir = "NOPE"\n'
    assert _line_in(_refused(bad, tmp_path)) == _line(bad, "NOPE")


def test_band_outcomes_must_not_worsen_with_score(tmp_path: Path) -> None:
    bad = GOOD.replace('outcome = "approve"', 'outcome = "decline"', 1).replace(
        'outcome = "decline"\nmin = -inf', 'outcome = "approve"\nmin = -inf'
    )
    message = _refused(bad, tmp_path)
    assert "worse" in message


def test_pd_bands_tile_unit_interval(tmp_path: Path) -> None:
    pd_policy = """version = "pd-1"\nbasis = "pd"\n[[bands]]\noutcome = "approve"\nmin = 0\nmax = 0.1
[[bands]]\noutcome = "decline"\nmin = 0.1\nmax = 0.9\n"""
    message = _refused(pd_policy, tmp_path)
    assert "[0, 1]" in message
    ok = parse_policy(pd_policy.replace("max = 0.9", "max = 1"))
    assert ok.band_for(0.05).outcome == "approve" and ok.band_for(1.0).outcome == "decline"


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    assert "not valid TOML" in _refused("version = \n", tmp_path)
    with pytest.raises(PolicyError, match="cannot be read"):
        load_policy(tmp_path / "nope.toml")


def test_line_of_tracks_arrays_of_tables() -> None:
    assert line_of(GOOD, ("bands", 1, "reason")) == _line(GOOD, 'reason = "P20"')
    assert line_of(GOOD, ("bands", 2)) == _line(GOOD, "[[bands]]", 3)
    assert line_of(GOOD, ("knockouts", 0, "when", 0, "op")) == _line(GOOD, "when =")
    assert line_of(GOOD, ("affordability", "max_foir")) == _line(GOOD, "max_foir")
    assert line_of(GOOD, ("nowhere",)) == 1
