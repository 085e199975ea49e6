"""Structured JSON logs: one object per line. Never log raw inputs, personal data or keys."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import traceback

__all__ = ["JsonFormatter", "configure_logging"]

_RESERVED = set(vars(logging.makeLogRecord({})))


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "event", ...extra fields}``; tracebacks without exception messages."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        out.update({k: v for k, v in vars(record).items() if k not in _RESERVED and not k.startswith("_")})
        if record.exc_info and record.exc_info[0] is not None:
            etype, _, tb = record.exc_info
            out["exc_type"] = etype.__name__
            # frames only: an exception message may quote request values (personal data)
            out["stack"] = "".join(traceback.format_tb(tb))
        return json.dumps(out, default=str, separators=(",", ":"))


def configure_logging(level: str = "INFO", stream=None) -> None:
    """Send ``lendscore`` and ``uvicorn`` logs to ``stream`` (stderr) as JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("lendscore", "uvicorn", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers[:] = [handler]
        lg.setLevel(level)
        lg.propagate = False
    logging.getLogger("uvicorn.access").disabled = True
