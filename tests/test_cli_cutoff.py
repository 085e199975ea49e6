"""``lendscore cutoff`` as a user meets it: a model, raw validation rows and a copy of the default policy;
the chosen cut-off lands in the policy file (which still loads), the trade-off table prints, the plot is
written, and bad input exits 2 naming the problem.
"""

from __future__ import annotations

import shutil
from importlib import resources

import numpy as np
import pandas as pd
import pytest

import lendscore
from cli_helpers import flat, lending_club_sample, run, train_out_of_time
from lendscore.decision import choose_cutoff, load_policy, profit_table

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A model trained on 2009-2010 loans and the raw 2011 loans as validation data."""
    raw = lending_club_sample(6_000, seed=1)
    root = tmp_path_factory.mktemp("cutoff")
    raw.to_csv(root / "lc.csv", index=False)
    raw[raw["issue_d"] >= "2011-01-01"].to_csv(root / "validation.csv", index=False)
    return train_out_of_time(root / "lc.csv", root / "model") / "model.json", root / "validation.csv"


@pytest.fixture
def policy(tmp_path):
    path = tmp_path / "policy.toml"
    with resources.as_file(resources.files("lendscore.decision").joinpath("_files/policy_default.toml")) as src:
        shutil.copyfile(src, path)
    return path


def _cutoff(files, policy, *extra):
    model, data = files
    return [
        "cutoff",
        "--model",
        str(model),
        "--data",
        str(data),
        "--target",
        "loan_status",
        "--bad",
        "Charged Off",
        "--policy",
        str(policy),
        *extra,
    ]


def test_cutoff_is_written_into_the_policy_and_plotted(files, policy, tmp_path, capsys):
    # a refer band from 450, low enough for wherever this model's max-profit cut-off falls
    policy.write_text(policy.read_text().replace("max = 530", "max = 450").replace("min = 530", "min = 450"))
    before = load_policy(policy)
    assert before.cutoff is None
    plot = tmp_path / "out.png"
    code, text = run(_cutoff(files, policy, "--lgd", "0.6", "--margin", "0.15", "--plot", str(plot)), capsys)
    assert code == 0, text

    # the same choice made in Python on the same rows (features derived from the raw rows as in training)
    model_path, data = files
    model = lendscore.load(model_path)
    frame = pd.read_csv(data)
    y = (frame["loan_status"] == "Charged Off").astype(int).to_numpy()
    score = model.score_details(frame.drop(columns="loan_status"))["score"].to_numpy()
    table = profit_table(score, y, lgd=0.6, margin=0.15)
    choice = choose_cutoff(table)

    # the trade-off table
    assert f"Cut-off trade-off (max profit); chosen {choice.cutoff:g}" in flat(text)
    for head in ("cut-off", "approve", "exp. loss", "profit", "recall"):
        assert head in text
    assert f"wrote cut-off {choice.cutoff:g} into" in flat(text)

    # the policy file: rewritten in place, still valid, comments kept
    after = load_policy(policy)
    approve = next(i for i, b in enumerate(after.bands) if b.outcome == "approve")
    assert after.bands[approve].min == pytest.approx(choice.cutoff)
    assert after.bands[approve - 1].max == pytest.approx(choice.cutoff)
    assert after.cutoff.score == pytest.approx(choice.cutoff) and after.cutoff.method == "max profit"
    assert after.cutoff.approval_rate == pytest.approx(np.mean(score >= choice.cutoff))
    assert after.cutoff.bad_rate == pytest.approx(y[score >= choice.cutoff].mean())
    assert [b.outcome for b in after.bands] == [b.outcome for b in before.bands]
    assert after.knockouts == before.knockouts and after.affordability == before.affordability
    assert "`lendscore cutoff` rewrites this line" in policy.read_text()

    # the plot
    assert plot.read_bytes()[:8] == PNG_MAGIC and plot.stat().st_size > 10_000

    # a second run replaces the [cutoff] table instead of adding another
    code, text = run(_cutoff(files, policy, "--max-bad-rate", "0.10", "--target-approval", "0.3"), capsys)
    assert code == 0, text
    assert policy.read_text().count("[cutoff]") == 1
    again = load_policy(policy)
    assert again.cutoff.method == "max profit, approval rate >= 0.3, bad rate <= 0.1"
    assert again.cutoff.bad_rate <= 0.10 and again.cutoff.approval_rate >= 0.3


def test_dry_run_leaves_the_policy_alone(files, policy, capsys):
    text_before = policy.read_text()
    code, text = run(_cutoff(files, policy, "--dry-run"), capsys)
    assert code == 0 and "chosen" in text
    assert policy.read_text() == text_before


def test_policy_with_an_unknown_key_is_refused_naming_the_line(files, policy, tmp_path, capsys):
    lines = policy.read_text().splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.startswith('outcome = "refer"'))
    lines.insert(at + 1, 'colour = "amber"')
    policy.write_text("\n".join(lines) + "\n")
    text_before = policy.read_text()
    plot = tmp_path / "out.png"
    code, msg = run(_cutoff(files, policy, "--plot", str(plot)), capsys)
    assert code == 2, msg
    assert f"line {at + 2}" in flat(msg) and "colour" in flat(msg) and "Traceback" not in msg
    assert policy.read_text() == text_before
    assert not plot.exists()  # refused before any output
    assert "Cut-off trade-off" not in msg


def test_cutoff_that_would_break_the_bands_is_refused_and_nothing_written(files, policy, capsys):
    # approving 95% puts the cut-off below the refer band's minimum (530): the bands would not tile
    text_before = policy.read_text()
    code, msg = run(_cutoff(files, policy, "--target-approval", "0.95"), capsys)
    assert code == 2 and "line" in flat(msg) and "is not above the refer band's min 530" in flat(msg)
    assert "Traceback" not in msg
    assert policy.read_text() == text_before


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--target-approval", "1.5"], "no cut-off satisfies the constraints"),
        (["--lgd", "1.5"], "lgd must be in [0, 1]; got 1.5"),
    ],
)
def test_impossible_settings_exit_2(files, policy, extra, needle, capsys):
    code, msg = run(_cutoff(files, policy, *extra), capsys)
    assert code == 2 and needle in flat(msg) and "Traceback" not in msg


def test_missing_target_column_is_named(files, policy, capsys):
    model, data = files
    code, msg = run(
        [
            "cutoff",
            "--model",
            str(model),
            "--data",
            str(data),
            "--target",
            "defaulted",
            "--bad",
            "1",
            "--policy",
            str(policy),
        ],
        capsys,
    )
    assert code == 2 and "'defaulted'" in flat(msg) and "missing" in flat(msg)
