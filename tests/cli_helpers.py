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
