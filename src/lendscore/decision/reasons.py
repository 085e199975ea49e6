"""Principal reasons for adverse action (decline or refer), as US Regulation B expects of scoring.

For each characteristic, the *shortfall* is ``reference points - applicant points``; the reference
is the characteristic's maximum points or the average points of applicants at the cut-off (the
policy chooses). Characteristics are ranked by shortfall, largest first; ties are broken by the
characteristic name so the result never depends on dict order. Only positive shortfalls count.
Each characteristic maps to a :class:`ReasonCode` from an editable TOML catalogue; several
characteristics mapping to one code give that code once (at its largest shortfall). At most
``max_reasons`` codes (four by default) are returned.

Catalogue format (``_files/reasons.toml``)::

    version = "2026.1"
    fallback = "S99"                      # code for characteristics no entry matches (optional)
    [codes.S01]
    kind = "score"                        # "score" (from points) or "policy" (from a rule)
    text = "Delinquency on accounts"
    characteristics = ["delinq_2yrs", "mths_since_last_delinq*"]   # names or fnmatch patterns
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from lendscore.decision._toml import line_of
from lendscore.errors import PolicyError

__all__ = ["Catalogue", "ReasonCode", "load_catalogue", "principal_reasons"]

_TIE_DECIMALS = 9


@dataclass(frozen=True)
class ReasonCode:
    """A reason code and its plain sentence; ``characteristic``/``shortfall`` set when from points."""

    code: str
    text: str
    kind: Literal["score", "policy"] = "score"
    characteristic: str | None = None
    shortfall: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out: dict[str, Any] = {"code": self.code, "text": self.text, "kind": self.kind}
        if self.characteristic is not None:
            out["characteristic"] = self.characteristic
            out["shortfall"] = self.shortfall
        return out


class _CodeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    text: str = Field(min_length=1)
    kind: Literal["score", "policy"] = "score"
    characteristics: list[str] = Field(default_factory=list)


class _CatalogueSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: str
    fallback: str | None = None
    codes: dict[str, _CodeSpec]


@dataclass(frozen=True)
class Catalogue:
    """The reason-code catalogue: codes, texts and which characteristics map to which code."""

    version: str
    codes: Mapping[str, ReasonCode]
    patterns: tuple[tuple[str, str], ...]  # (pattern, code), in file order
    fallback: str | None = None

    def __contains__(self, code: object) -> bool:
        return code in self.codes

    def get(self, code: str) -> ReasonCode:
        """The reason code ``code``; PolicyError when the catalogue lacks it."""
        try:
            return self.codes[code]
        except KeyError:
            raise PolicyError(f"reason code {code!r} is not in the catalogue (version {self.version})") from None

    @cached_property
    def _memo(self) -> dict[str, ReasonCode]:
        """characteristic -> code, filled by :meth:`code_for` (kept in the instance's ``__dict__``,
        which a frozen dataclass allows; not a field, so equality and ``replace`` ignore it)."""
        return {}

    def code_for(self, characteristic: str) -> ReasonCode:
        """The code of a characteristic: exact name first, then patterns in file order, then fallback.

        Answers are memoised per catalogue (a catalogue is immutable), so the pattern scan runs
        once per characteristic, not once per decision (the decision engine asks for the model's
        characteristics at start-up, so a characteristic without a code fails there).
        """
        memo = self._memo
        code = memo.get(characteristic)
        if code is None:
            code = memo[characteristic] = self._lookup(characteristic)
        return code

    def _lookup(self, characteristic: str) -> ReasonCode:
        for pattern, code in self.patterns:
            if pattern == characteristic:
                return self.codes[code]
        for pattern, code in self.patterns:
            if fnmatch.fnmatchcase(characteristic, pattern):
                return self.codes[code]
        if self.fallback is None:
            raise PolicyError(
                f"characteristic {characteristic!r} maps to no reason code and the catalogue has no fallback"
            )
        return self.codes[self.fallback]


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Load a catalogue TOML file (default: the bundled ``reasons.toml``), strictly validated."""
    if path is None:
        source = resources.files("lendscore.decision").joinpath("_files/reasons.toml").read_text("utf-8")
        name = "reasons.toml (bundled)"
    else:
        source, name = Path(path).read_text(encoding="utf-8"), str(path)

    try:
        spec = _CatalogueSpec.model_validate(tomllib.loads(source))
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{name}: not valid TOML: {exc}") from exc
    except pydantic.ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = tuple(err["loc"])
        raise PolicyError(f"{name}, line {line_of(source, loc)}: {'.'.join(map(str, loc))}: {err['msg']}") from exc
    codes = {c: ReasonCode(code=c, text=s.text, kind=s.kind) for c, s in spec.codes.items()}
    if spec.fallback is not None and spec.fallback not in codes:
        raise PolicyError(f"{name}, line {line_of(source, ('fallback',))}: fallback {spec.fallback!r} is not a code")
    patterns = tuple((p, c) for c, s in spec.codes.items() for p in s.characteristics)
    return Catalogue(version=spec.version, codes=codes, patterns=patterns, fallback=spec.fallback)


def principal_reasons(
    points: Mapping[str, float],
    reference: Mapping[str, float],
    catalogue: Catalogue,
    max_reasons: int = 4,
) -> list[ReasonCode]:
    """The codes of the characteristics whose points fall furthest below the reference.

    ``points`` and ``reference`` map characteristic -> points; a characteristic missing from
    ``reference`` is an error (the reference must cover the model). Returns at most
    ``max_reasons`` distinct codes, largest shortfall first, ties broken by characteristic name.
    """
    if max_reasons < 1:
        raise PolicyError(f"max_reasons must be >= 1; got {max_reasons}")
    missing = sorted(set(points) - set(reference))
    if missing:
        raise PolicyError(f"reference points lack characteristics {missing}")
    gaps = sorted(
        ((round(float(reference[c]) - float(p), _TIE_DECIMALS), c) for c, p in points.items()),
        key=lambda t: (-t[0], t[1]),
    )
    out: list[ReasonCode] = []
    seen: set[str] = set()
    for gap, characteristic in gaps:
        if gap <= 0 or len(out) == max_reasons:
            break
        code = catalogue.code_for(characteristic)
        if code.code in seen:
            continue
        seen.add(code.code)
        out.append(replace(code, characteristic=characteristic, shortfall=gap))
    return out
