"""Logs as JSON lines (one object per line: time, level, logger, process, message, exception), or plain text for a
terminal (``PROVENANCE_LOG_FORMAT=text``).

What is logged never carries a key, a password or an upload: the code logs hashes, addresses, counts and error
codes, never request bodies or headers. As a second line of defence, anything shaped like one of this service's API
keys (``pk_`` and 32+ URL-safe characters) is masked in every message; a private key has no shape of its own that
hashes do not share, so that rests on the first line (tests/api/test_logs.py checks both on a whole service run).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import UTC, datetime
from typing import Any

API_KEY_SHAPE = re.compile(r"pk_[A-Za-z0-9_-]{32,}")
NOISY = ("httpx", "web3", "urllib3", "alembic.runtime.migration", "faiss.loader")


def mask(text: str) -> str:
    return API_KEY_SHAPE.sub("pk_***", text)


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "message": mask(record.getMessage()),
        }
        if record.exc_info:
            entry["exception"] = mask(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class MaskedText(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


def log_formatter(kind: str | None = None) -> logging.Formatter:
    kind = kind or os.environ.get("PROVENANCE_LOG_FORMAT", "json")
    if kind == "text":
        return MaskedText("%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")
    return JsonLines()


def configure_logging(kind: str | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(log_formatter(kind))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def dict_config() -> dict[str, Any]:
    """The same format for servers configured by ``logging.config.dictConfig`` (granian's workers)."""
    formatter = {"()": "ledger.runtime.logs.log_formatter"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"provenance": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "provenance", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": "INFO"},
        "loggers": {name: {"level": "WARNING"} for name in NOISY},
    }
