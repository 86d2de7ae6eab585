"""Keep bot tokens, webhook URLs and passwords out of logs, errors and reprs."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

REDACTED = "***"
# Telegram tokens look like 123456:ABC-def; they also appear inside /bot<token>/ paths.
_TELEGRAM_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
_BOT_PATH = re.compile(r"(https?://[^/\s]+/bot)[^/\s]+")
_WEBHOOK_PATH = re.compile(
    r"(https?://(?:hooks\.slack\.com/services|(?:\w+\.)?discord(?:app)?\.com/api/webhooks)/)[^\s\"'<>]+"
)
_URL_USERINFO = re.compile(r"(https?://)[^/\s:@]+:[^/\s@]+@")


class Redactor:
    """Replaces every registered secret (and well-known secret shapes) in a string."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        # Very short values would redact ordinary words; real tokens are long.
        self._secrets.update(s for s in secrets if s and len(s) >= 6)

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        text = _BOT_PATH.sub(rf"\g<1>{REDACTED}", text)
        text = _TELEGRAM_TOKEN.sub(REDACTED, text)
        text = _WEBHOOK_PATH.sub(rf"\g<1>{REDACTED}", text)
        return _URL_USERINFO.sub(rf"\g<1>{REDACTED}@", text)

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"


#: Process-wide redactor: channels register their secrets here when they are built.
redactor = Redactor()


def redact(text: str) -> str:
    """`text` with every known secret replaced by ``***``."""
    return redactor(text)


class RedactingFilter(logging.Filter):
    """Logging filter that redacts secrets from the formatted message and exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = redact(message), None
        if record.exc_info:
            # Formatters print exc_text when exc_info is gone: hand them the redacted traceback.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> RedactingFilter:
    """Attach a `RedactingFilter` to every handler of `logger` (the root logger by default)."""
    target = logger or logging.getLogger()
    flt = RedactingFilter()
    for handler in target.handlers:
        handler.addFilter(flt)
    target.addFilter(flt)
    return flt
