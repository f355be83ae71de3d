"""How fscontrol logs: readable lines (the default) or, with `--log-format json`, one JSON object
a line (ts, level, logger, message and the record's extra fields) for a log collector. Either
way no secret reaches the output: a `Secret` shows as ***, and the configured secrets (the ESL
password, the database URL's password) are cut out of every message, field and traceback."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from urllib.parse import urlsplit

from .config.model import Secret

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
HIDDEN = "***"
# fields whose name says they hold a secret: never shown, whatever their type
_SECRET_NAMES = ("password", "passwd", "secret", "token", "authorization")
# the attributes every LogRecord has: anything else on a record is an extra field
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

_hidden: set[str] = set()


def hide(value: str | Secret | None) -> None:
    """Cut `value` out of everything logged from now on (shorter than 4 characters: ignored,
    it would mangle ordinary words)."""
    if isinstance(value, Secret):
        value = value.reveal()
    if value and len(value) >= 4:
        _hidden.add(value)


def hide_config_secrets(config) -> None:
    """The configured secrets: the ESL password and the password of the database URL."""
    hide(config.switch.esl_password)
    url = config.database.url.reveal()
    if url:
        try:
            hide(urlsplit(url).password)
        except ValueError:
            hide(url)


def scrub(text: str) -> str:
    for value in _hidden:
        if value in text:
            text = text.replace(value, HIDDEN)
    return text


def _field(key: str, value):
    if isinstance(value, Secret) or any(n in key.lower() for n in _SECRET_NAMES):
        return HIDDEN
    if isinstance(value, str):
        return scrub(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_field("", v) for v in value]
    if isinstance(value, dict):
        return {str(k): _field(str(k), v) for k, v in value.items()}
    return scrub(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts (ISO-8601 UTC, ms), level, logger, message, the record's extra
    fields (`log.info("...", extra={"call_id": ...})`), and `exception` with its traceback."""

    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": datetime.fromtimestamp(record.created, timezone.utc)
                       .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
               "level": record.levelname, "logger": record.name,
               "message": scrub(record.getMessage())}
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in out:
                out[key] = _field(key, value)
        if record.exc_info:
            out["exception"] = scrub(self.formatException(record.exc_info))
        elif record.exc_text:
            out["exception"] = scrub(record.exc_text)
        if record.stack_info:
            out["stack"] = scrub(self.formatStack(record.stack_info))
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The readable line, with the configured secrets cut out."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def setup(level: int, fmt: str = "text", stream=None) -> logging.Handler:
    """Log to `stream` (stderr) at `level` in `fmt` ("text" or "json"), replacing the root
    logger's handlers."""
    if fmt not in FORMATS:
        raise ValueError(f"log format {fmt!r}: one of {', '.join(FORMATS)}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
