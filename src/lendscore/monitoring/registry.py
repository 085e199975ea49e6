"""Model registry: versioned model files with their metadata, a state each, and a history.

Layout of a registry directory::

    <root>/index.json            the index (written atomically: temporary file + rename)
    <root>/models/<version>.json the model files, copied in at registration (never edited)

A model is in one state: ``candidate`` (registered, may be shadow-scored), ``champion`` (serves
decisions; at most one) or ``retired``. Every state change is appended to ``history`` with who,
when and why, and the states before and after it, so any change can be undone:
:meth:`Registry.rollback` restores the states before the latest change not yet undone (and
records the rollback itself); promoting an older version again works too.

The challenger (shadow-scored beside the champion, never deciding) is the most recently
registered candidate, unless one was named with :meth:`Registry.set_challenger`.

A model is loaded (format, checksum and content checked by :func:`lendscore.load`) when it is
registered and again before it is promoted: a model that fails to load is never promoted; the
refusal is recorded in the history.
"""

from __future__ import annotations

import builtins
import datetime as _dt
import getpass
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from lendscore.errors import ArtifactError, ConfigError, ModelError

__all__ = ["STATES", "Registry", "ModelEntry"]

STATES = ("candidate", "champion", "retired")
State = Literal["candidate", "champion", "retired"]
INDEX_FORMAT = "lendscore.registry"
INDEX_VERSION = 1
_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
ModelEntry = dict[str, Any]


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (containers)
        return "unknown"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Registry:
    """A model registry in directory ``root`` (created on first registration).

    ``clock`` returns the ISO timestamp recorded with each change (injectable for tests).
    """

    def __init__(self, root, *, clock: Callable[[], str] | None = None):
        self.root = Path(root)
        self.clock = clock or _now

    # ------------------------------------------------------------------ storage
    @property
    def index_path(self) -> Path:
        return self.root / "index.json"

    def _read(self) -> dict[str, Any]:
        if not self.index_path.exists():
            return {"format": INDEX_FORMAT, "format_version": INDEX_VERSION, "models": {}, "history": []}
        try:
            doc = json.loads(self.index_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelError(f"{self.index_path}: cannot read the registry index: {exc}") from exc
        if doc.get("format") != INDEX_FORMAT or doc.get("format_version") != INDEX_VERSION:
            raise ModelError(
                f"{self.index_path}: not a lendscore registry index (format {doc.get('format')!r}, "
                f"version {doc.get('format_version')!r})"
            )
        return doc

    def _write(self, doc: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".index-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.index_path)

    @contextmanager
    def _locked(self):
        """Exclusive lock on the registry while reading, changing and writing the index."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as fh:
            try:
                import fcntl
            except ImportError:  # pragma: no cover - non-POSIX
                yield
                return
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    # ------------------------------------------------------------------ queries
    def list(self) -> list[ModelEntry]:
        """Every registered model (registration order)."""
        return list(self._read()["models"].values())

    def get(self, version: str) -> ModelEntry:
        models = self._read()["models"]
        if version not in models:
            raise ModelError(
                f"model version {version!r} is not in the registry {self.root} (registered: {list(models) or 'none'})"
            )
        return models[version]

    def history(self) -> builtins.list[dict[str, Any]]:  # builtins: the method list() shadows the type here
        return list(self._read()["history"])

    def path_of(self, version: str) -> Path:
        return self.root / self.get(version)["file"]

    def champion(self) -> tuple[str, Path]:
        """``(version, path)`` of the champion; ``ModelError`` when there is none."""
        champs = [m for m in self.list() if m["state"] == "champion"]
        if not champs:
            raise ModelError(f"the registry {self.root} has no champion; promote a model first")
        return champs[0]["version"], self.root / champs[0]["file"]

    def challenger(self) -> tuple[str, Path] | None:
        """``(version, path)`` of the challenger to shadow-score, or None.

        The candidate named by :meth:`set_challenger` if it is still a candidate, otherwise the most
        recently registered candidate.
        """
        doc = self._read()
        cands = [m for m in doc["models"].values() if m["state"] == "candidate"]
        if not cands:
            return None
        named = doc.get("challenger")
        chosen = next((m for m in cands if m["version"] == named), cands[-1])
        return chosen["version"], self.root / chosen["file"]

    # ------------------------------------------------------------------ changes
    def register(
        self,
        model_path,
        *,
        version: str | None = None,
        by: str | None = None,
        why: str = "",
        metrics: dict[str, Any] | None = None,
        training_window: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        source: str | None = None,
    ) -> ModelEntry:
        """Copy a model file into the registry as a ``candidate`` and return its entry.

        The file must load (:func:`lendscore.load`). ``version`` defaults to ``v<n>``; training
        window and metrics default to those in the model's metadata. ``source`` is recorded as
        where the file comes from (default: ``model_path``).
        """
        import lendscore

        src = Path(model_path)
        model = lendscore.load(src)  # raises ArtifactError: never registered
        meta = dict(getattr(model, "metadata_", {}) or {})
        with self._locked():
            doc = self._read()
            version = version or f"v{len(doc['models']) + 1}"
            if not _VERSION_RE.match(version):
                raise ConfigError(f"version must be 1-80 letters, digits, '.', '_' or '-'; got {version!r}")
            if version in doc["models"]:
                raise ConfigError(f"model version {version!r} is already registered")
            rel = f"models/{version}.json"
            (self.root / "models").mkdir(parents=True, exist_ok=True)
            tmp = self.root / "models" / f".{version}.tmp"
            shutil.copyfile(src, tmp)
            os.replace(tmp, self.root / rel)
            entry = {
                "version": version,
                "state": "candidate",
                "file": rel,
                "sha256": _sha256(self.root / rel),
                "source": source or str(src),
                "registered_at": self.clock(),
                "registered_by": by or _user(),
                "why": why,
                "training_window": training_window or meta.get("training_window"),
                "data_fingerprint": getattr(model, "data_fingerprint_", None),
                "metrics": metrics if metrics is not None else meta.get("metrics"),
                "model_created_at": meta.get("created_at"),
                "lendscore_version": meta.get("lendscore_version"),
                "selected_features": list(model.selected_features_),
                **(extra or {}),
            }
            doc["models"][version] = entry
            self._record(doc, "register", version, by, why, {version: None}, {version: "candidate"})
            self._write(doc)
        return entry

    def promote(self, version: str, *, by: str | None = None, why: str = "") -> ModelEntry:
        """Make ``version`` the champion; the previous champion is retired. The model must load."""
        import lendscore

        with self._locked():
            doc = self._read()
            entry = self._entry(doc, version)
            path = self.root / entry["file"]
            try:
                if _sha256(path) != entry["sha256"]:
                    raise ArtifactError(f"{path}: file changed since registration (sha256 mismatch)")
                lendscore.load(path)
            except (ArtifactError, OSError) as exc:
                self._record(doc, "promote_refused", version, by, f"{why} | refused: {exc}", {}, {})
                self._write(doc)
                raise ArtifactError(f"model {version!r} cannot be promoted: it fails to load: {exc}") from exc
            if entry["state"] == "champion":
                raise ConfigError(f"model {version!r} is already the champion")
            before, after = {version: entry["state"]}, {version: "champion"}
            for m in doc["models"].values():
                if m["state"] == "champion":
                    before[m["version"]], after[m["version"]] = "champion", "retired"
            self._apply(doc, after)
            self._record(doc, "promote", version, by, why, before, after)
            self._write(doc)
            return doc["models"][version]

    def retire(self, version: str, *, by: str | None = None, why: str = "", force: bool = False) -> ModelEntry:
        """Retire ``version``. Retiring the champion leaves no champion: it needs ``force=True``."""
        with self._locked():
            doc = self._read()
            entry = self._entry(doc, version)
            if entry["state"] == "retired":
                raise ConfigError(f"model {version!r} is already retired")
            if entry["state"] == "champion" and not force:
                raise ConfigError(
                    f"model {version!r} is the champion: promote another model instead, "
                    "or retire it with force=True (the service then has no model)"
                )
            before, after = {version: entry["state"]}, {version: "retired"}
            self._apply(doc, after)
            self._record(doc, "retire", version, by, why, before, after)
            self._write(doc)
            return doc["models"][version]

    def set_challenger(self, version: str | None, *, by: str | None = None, why: str = "") -> None:
        """Name the candidate to shadow-score (None: the most recent candidate)."""
        with self._locked():
            doc = self._read()
            if version is not None and self._entry(doc, version)["state"] != "candidate":
                raise ConfigError(
                    f"the challenger must be a candidate; {version!r} is {doc['models'][version]['state']}"
                )
            previous = doc.get("challenger")
            doc["challenger"] = version
            self._record(doc, "set_challenger", version, by, why, {"challenger": previous}, {"challenger": version})
            self._write(doc)

    def rollback(self, *, by: str | None = None, why: str = "") -> dict[str, Any]:
        """Undo the latest state change (promote, retire, set_challenger) not yet undone.

        Restores the states recorded before it and appends a ``rollback`` event; returns that event.
        Registrations are not undone (retire the model instead).
        """
        with self._locked():
            doc = self._read()
            undone = {h["undoes"] for h in doc["history"] if h["action"] == "rollback"}
            target = next(
                (
                    h
                    for h in reversed(doc["history"])
                    if h["action"] in ("promote", "retire", "set_challenger") and h["seq"] not in undone
                ),
                None,
            )
            if target is None:
                raise ConfigError("nothing to roll back: no promote, retire or set_challenger left to undo")
            if target["action"] == "set_challenger":
                doc["challenger"] = target["before"]["challenger"]
                before, after = target["after"], target["before"]
            else:
                current = {v: doc["models"][v]["state"] for v in target["before"]}
                if current != target["after"]:
                    raise ConfigError(
                        f"cannot roll back event {target['seq']} ({target['action']} "
                        f"{target['version']}): states changed since ({current})"
                    )
                before, after = current, dict(target["before"])
                self._apply(doc, after)
            event = self._record(
                doc,
                "rollback",
                target["version"],
                by,
                why or f"undo {target['action']} of {target['version']}",
                before,
                after,
            )
            event["undoes"] = target["seq"]
            self._write(doc)
            return event

    # ------------------------------------------------------------------ helpers
    def _entry(self, doc, version) -> ModelEntry:
        if version not in doc["models"]:
            raise ModelError(
                f"model version {version!r} is not in the registry {self.root} "
                f"(registered: {list(doc['models']) or 'none'})"
            )
        return doc["models"][version]

    @staticmethod
    def _apply(doc, states: dict[str, str]) -> None:
        for v, s in states.items():
            if s not in STATES:
                raise ConfigError(f"state must be one of {STATES}; got {s!r}")
            doc["models"][v]["state"] = s

    def _record(self, doc, action, version, by, why, before, after) -> dict[str, Any]:
        event = {
            "seq": len(doc["history"]) + 1,
            "at": self.clock(),
            "by": by or _user(),
            "action": action,
            "version": version,
            "why": why,
            "before": before,
            "after": after,
        }
        doc["history"].append(event)
        return event
