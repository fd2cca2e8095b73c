"""Structured JSON logs; SSN-shaped text is redacted from every line."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

from app.pii import redact_ssns
from persistence.db import audit_context

_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class RequestIdFilter(logging.Filter):
    """Stamps every record written while a request runs with its request id (app.runtime.request_log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        stamp = audit_context.get()
        if stamp is not None and not getattr(record, "request_id", None):
            record.request_id = stamp.request_id
        return True


DISCONNECTS = {"WebSocketDisconnected", "WebSocketDisconnect", "ClientDisconnected"}


class DisconnectFilter(logging.Filter):
    """A client that went away (a subscription closed at shutdown, a dropped socket) is news, not an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and type(error).__name__ in DISCONNECTS:
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args, record.exc_info, record.exc_text = "client disconnected", None, None, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                                 "level": record.levelname.lower(), "logger": record.name,
                                 "message": record.getMessage()}
        for key, value in vars(record).items():
            if key not in _STANDARD:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact_ssns(orjson.dumps(entry, default=str).decode())


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler.addFilter(DisconnectFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
