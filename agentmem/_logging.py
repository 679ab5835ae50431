"""Logging for the command line and containers: a level and a text or JSON format.

A library does not configure logging on import; ``agentmem`` (the CLI) calls
:func:`configure_logging` from ``AGENTMEM_LOG_LEVEL`` / ``AGENTMEM_LOG_FORMAT``.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

__all__ = ["JsonFormatter", "configure_logging"]


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message (and the exception)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "WARNING", fmt: str = "text") -> None:
    """Send agentmem's records at ``level`` and up, and other libraries' warnings, to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json"
                         else logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=max(logging.WARNING, logging.getLevelName(level)),
                        handlers=[handler], force=True)
    logging.getLogger("agentmem").setLevel(level)
