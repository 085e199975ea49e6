"""Helpers for tests that drive the command line in process (``lendscore.cli.main``)."""

from __future__ import annotations

import pytest

from lendscore.cli import main


def run(argv, capsys) -> tuple[int, str]:
    """Exit code and everything printed (stdout + stderr) of ``lendscore ARGV``."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
        raise SystemExit(0)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out + out.err


def flat(text: str) -> str:
    """The console wraps long messages at its width: compare them on one line."""
    return " ".join(text.split())


LC_PROFILE = "lending_club_2007_2011"


def lending_club_sample(n: int, seed: int):
    """``n`` policy loans (Charged Off / Fully Paid) issued 2009-06 .. 2011-12 from the bundled
    Lending Club file, sorted by issue date (2011 is the out-of-time year)."""
    from lendscore.data import load_bundled

    raw = load_bundled("lending_club")
    raw = raw[raw["loan_status"].isin(["Charged Off", "Fully Paid"]) & (raw["issue_d"] >= "2009-06-01")]
    return raw.sample(n, random_state=seed).sort_values("issue_d")


def train_out_of_time(csv, out):
    """``lendscore train CSV --profile lending_club_2007_2011 --test-from 2011-01-01 --out OUT``; ``OUT``."""
    with pytest.raises(SystemExit) as exc:
        main(["train", str(csv), "--profile", LC_PROFILE, "--test-from", "2011-01-01", "--out", str(out)])
        raise SystemExit(0)
    assert exc.value.code in (0, None)
    return out
