"""Helpers for the service's tests, load test and crash test (not used by the service itself).

- :func:`train_demo_model`: a scorecard fitted on the bundled Lending Club data (before 2011),
  its file declaring the Lending Club profile's inputs and derivation;
- :func:`demo_keys` / :func:`write_settings`: fresh random keys per role and a settings TOML;
- :func:`sample_applications`: realistic request bodies from the bundled data (prepared rows, or
  raw applications as an origination system sends them);
- :class:`ServerProcess`: ``lendscore serve`` in a subprocess on a free loopback port;
- :class:`RawClient`: a tiny keep-alive HTTP/1.1 client on asyncio streams (low overhead, so a
  load generator sharing the machine leaves the CPU to the server).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lendscore.service.security import hash_key, new_key

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "RawClient",
    "ServerProcess",
    "cached_demo_model",
    "demo_keys",
    "free_port",
    "sample_applications",
    "test_client",
    "train_demo_model",
    "write_settings",
]

ROLES = ("scorer", "officer", "admin")


def train_demo_model(path: Path) -> Path:
    """Fit a scorecard on Lending Club 2007-2010 and save it to ``path`` (a few seconds); its file
    declares the profile's inputs (raw fields, value rules, the derivation of NTH and credit age)."""
    import lendscore
    from lendscore.data import get_profile, load_bundled, prepare

    profile = get_profile("lending_club_2007_2011")
    X, y, t, _ = prepare(load_bundled("lending_club"), profile)
    train = _issue_dates(t) < "2011-01-01"
    lendscore.Scorecard().fit(X[train], y[train], inputs=profile).save(path)
    return Path(path)


def _issue_dates(t: pd.Series | None) -> pd.Series:
    """The application dates :func:`~lendscore.data.prepare` gives for the Lending Club profile
    (its ``time_column``), by which the demo data is split."""
    if t is None:
        raise RuntimeError("the lending_club_2007_2011 profile gave no issue dates (its time_column)")
    return t


def demo_keys() -> dict[str, str]:
    """One fresh random key per role: {role: key}."""
    return {role: new_key() for role in ROLES}


def write_settings(path: Path, *, model: Path | None, audit_url: str, keys: dict[str, str], **extra: Any) -> Path:
    """A settings TOML with the keys' hashes (never the keys); ``model=None`` with ``registry_dir=...``."""
    lines = [f"audit_url = {json.dumps(audit_url)}"]
    if model is not None:
        lines.append(f"model_path = {json.dumps(str(model))}")
    lines += [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    for role, key in keys.items():
        lines += ["[[api_keys]]", f'name = "{role}-client"', f'role = "{role}"', f'hash = "{hash_key(key)}"']
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Path(path)


RAW_DERIVED = ("installment", "credit_age_months", "nth", "nth_ratio")
"""Lending Club fields a raw application does not carry: the demo model's derivation computes them."""


def sample_applications(n: int, seed: int = 0, *, raw: bool = False) -> list[dict[str, Any]]:
    """``n`` request bodies: applicant rows of the bundled data (2011) with finances and a loan.

    ``raw=False``: the prepared rows (derived fields such as ``nth`` and ``credit_age_months``
    included, no dates). ``raw=True``: the application as an origination system sends it: the
    fields a person is asked for, with ``issue_d`` and ``earliest_cr_line`` as ISO dates and none of
    :data:`RAW_DERIVED` (the model derives them).
    """
    import numpy as np
    import pandas as pd

    from lendscore.data import get_profile, load_bundled, prepare

    frame = load_bundled("lending_club")
    X, _, t, _ = prepare(frame, get_profile("lending_club_2007_2011"))
    X = X[_issue_dates(t) >= "2011-01-01"]
    rng = np.random.default_rng(seed)
    rows = X.iloc[rng.integers(0, len(X), n)]
    if raw:
        dates = frame.loc[rows.index, ["issue_d", "earliest_cr_line"]]
        rows = rows.drop(columns=[c for c in RAW_DERIVED if c in rows.columns])
        for c in dates.columns:
            rows[c] = [None if pd.isna(v) else pd.Timestamp(v).date().isoformat() for v in dates[c]]
    out = []
    for i, row in enumerate(rows.to_dict(orient="records")):
        applicant = {
            k: (
                None
                if (isinstance(v, float) and v != v) or v is pd.NA
                else (float(v) if isinstance(v, (int, float, np.number)) and not isinstance(v, bool) else str(v))
            )
            for k, v in row.items()
        }
        income = float(applicant.get("annual_inc") or 48000.0) / 12.0
        out.append(
            {
                "applicant": applicant,
                "finances": {
                    "gross_income": round(income, 2),
                    "existing_obligations": round(float(rng.uniform(0, 0.3)) * income, 2),
                    "dependants": int(rng.integers(0, 4)),
                },
                "loan": {
                    "amount": float(applicant.get("loan_amnt") or 10000.0),
                    "annual_rate": 0.12,
                    "term_months": int(applicant.get("term") or 36),
                },
                "applicant_id": f"APP-{seed}-{i}",
            }
        )
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """``python -m lendscore serve`` on 127.0.0.1:<free port>; stdout/stderr go to ``log_path``."""

    def __init__(self, settings_path: Path, log_path: Path, env: dict[str, str] | None = None):
        self.port = free_port()
        self.settings_path = settings_path
        self.log_path = log_path
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> ServerProcess:
        import httpx

        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lendscore",
                "serve",
                "--settings",
                str(self.settings_path),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.proc.returncode}; log:\n{Path(self.log_path).read_text()[-3000:]}"
                )
            try:
                if httpx.get(self.base_url + "/readyz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"server not ready after {timeout}s; log:\n{Path(self.log_path).read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs (the crash test's point)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


class RawClient:
    """One keep-alive HTTP/1.1 connection: ``await request(method, path, body, headers)`` -> (status, body)."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> RawClient:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def _streams(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """The connection's reader and writer (connecting first if there is none)."""
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self.reader, self.writer

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        reader, writer = await self._streams()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        if body:
            head.append("Content-Type: application/json")
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionError("connection closed by the server")
        status = int(status_line.split()[1])
        length, close = 0, False
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value.strip())
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        data = await reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return status, data

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self.writer.wait_closed()
            self.writer = self.reader = None


def cached_demo_model(directory: Path) -> Path:
    """The demo model in ``directory`` (trained on first use; test modules share it)."""
    path = Path(directory) / "lendscore-demo-model.json"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp.json")
        train_demo_model(tmp)
        os.replace(tmp, path)
    return path


def test_client(app: Any, **kwargs: Any) -> Any:
    """``fastapi.testclient.TestClient`` imported without Starlette's notice that it prefers
    ``httpx2`` over ``httpx`` (third-party noise; the project's warnings-as-errors would turn it
    into a failure)."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient` is deprecated")
        from fastapi.testclient import TestClient
    return TestClient(app, **kwargs)


test_client.__dict__["__test__"] = False  # not a pytest test (mypy knows no attributes of a function)
