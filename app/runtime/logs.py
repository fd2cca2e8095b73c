"""Logs: one line per event, rendered by structlog from the standard library's records: readable lines on a
development terminal, JSON lines elsewhere (LOG_FORMAT). Every line carries the request id of the request it
was written in, and SSN-shaped text is redacted from it."""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal, TextIO

import orjson
import structlog
from structlog.types import EventDict, Processor, WrappedLogger

from app.pii import redact_ssns
from app.settings import Settings, get_settings
from persistence.db import audit_context

Format = Literal["json", "console"]

DISCONNECTS = {"WebSocketDisconnected", "WebSocketDisconnect", "ClientDisconnected"}
# Third-party INFO lines that are step-by-step details: DEBUG here. pgserver narrates every start; alembic
# announces its dialect before the useful "Running upgrade" lines.
CHATTY = ("pgserver",)
CHATTY_MESSAGES = ("Context impl ", "Will assume ")


class DisconnectFilter(logging.Filter):
    """A client that went away (a subscription closed at shutdown, a dropped socket) is news, not an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and type(error).__name__ in DISCONNECTS:
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args, record.exc_info, record.exc_text = "client disconnected", None, None, None
        return True


class ChattyFilter(logging.Filter):
    """INFO lines of the CHATTY loggers become DEBUG ones, written only when the level lets DEBUG through."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and (record.name.split(".")[0] in CHATTY or (
                record.name == "alembic.runtime.migration" and str(record.msg).startswith(CHATTY_MESSAGES))):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return record.levelno >= self.level


def add_request_id(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    """The id of the request (or bulk row) being served while the line was written (app.runtime.request_log)."""
    stamp = audit_context.get()
    if stamp is not None and stamp.request_id and not event.get("request_id"):
        event["request_id"] = stamp.request_id
    return event


FIRST = ("time", "level", "logger", "message")


def tidy(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    """time, level, logger and message first; uvicorn's duplicate `color_message` dropped."""
    event.pop("color_message", None)
    return {**{key: event[key] for key in FIRST if key in event}, **event}


def _dumps(value: Any, **_: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def redacted(renderer: Processor) -> Processor:
    """The renderer's line with SSN-shaped text replaced, whatever field it came in."""

    def render(logger: WrappedLogger, method: str, event: EventDict) -> str:
        return redact_ssns(str(renderer(logger, method, event)))

    return render


SHARED: list[Processor] = [
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
    structlog.stdlib.ExtraAdder(),
    add_request_id,
]


def formatter(kind: Format) -> logging.Formatter:
    """The formatter of log lines: JSON objects (time, level, logger, message, request_id, the record's extra
    fields, exception) or a readable console line with the same fields."""
    if kind == "json":
        final: list[Processor] = [structlog.processors.format_exc_info, structlog.processors.EventRenamer("message"),
                                  tidy, redacted(structlog.processors.JSONRenderer(serializer=_dumps))]
    else:
        final = [tidy, redacted(structlog.dev.ConsoleRenderer(colors=True, sort_keys=False, timestamp_key="time"))]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=SHARED,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
    )


def log_format(settings: Settings, stream: TextIO) -> Format:
    """LOG_FORMAT, or with `auto`: readable lines in development on a terminal, JSON anywhere else."""
    if settings.log_format != "auto":
        return settings.log_format
    return "console" if settings.env == "development" and stream.isatty() else "json"


def configure_logging(settings: Settings | None = None, level: int = logging.INFO) -> None:
    """Route every record (ours, uvicorn's, the libraries') through one handler on stderr."""
    settings = settings or get_settings()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format(settings, sys.stderr)))
    handler.addFilter(DisconnectFilter())
    handler.addFilter(ChattyFilter(level))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
