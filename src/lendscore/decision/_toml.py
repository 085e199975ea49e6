"""Where a key sits in a TOML file, for error messages that name the line (policy and reasons)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

__all__ = ["line_of"]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r'^\s*((?:[A-Za-z0-9_-]+|"[^"]*")(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"))*)\s*=')


def _split_key(key: str) -> tuple[str, ...]:
    return tuple(p.strip().strip('"') for p in key.split("."))


def line_of(source: str, loc: Sequence[Any]) -> int:
    """The 1-based line of the TOML key at ``loc`` (a pydantic error location), best effort.

    Tracks ``[table]`` and ``[[array]]`` headers (with their indices) and ``key = value`` lines; the
    line whose path is the longest prefix of ``loc`` wins. Returns 1 when nothing matches.
    """
    target = tuple(str(p) for p in loc)
    counters: dict[tuple[str, ...], int] = {}
    current: tuple[str, ...] = ()
    best_len, best_line = 0, 1

    def resolve(parts: tuple[str, ...]) -> tuple[str, ...]:
        out: tuple[str, ...] = ()
        for p in parts:
            out += (p,)
            if out in counters:
                out += (str(counters[out]),)
        return out

    for lineno, line in enumerate(source.splitlines(), start=1):
        header, key = _HEADER.match(line), _KEY.match(line)
        if header:
            parts = _split_key(header.group(2))
            if header.group(1) == "[[":
                base = resolve(parts[:-1]) + (parts[-1],)
                counters[base] = counters.get(base, -1) + 1
                current = base + (str(counters[base]),)
            else:
                current = resolve(parts)
            path = current
        elif key:
            path = current + _split_key(key.group(1))
        else:
            continue
        if len(path) > best_len and target[: len(path)] == path:
            best_len, best_line = len(path), lineno
    return best_line
