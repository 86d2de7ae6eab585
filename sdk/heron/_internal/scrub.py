"""Pure secret scrubbing for attribute maps and log text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[REDACTED]"
DEFAULT_KEY_PATTERNS = (
    r"authorization",
    r"cookie",
    r"passw(or)?d",
    r"passwd",
    r"secret",
    r"token",
    r"api[-_.]?key",
    r"credential",
    r"private[-_.]?key",
    r"session[-_.]?id",
)
# user:password@ in any URL; the user stays, the password goes.
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]+)@")
_VERDICT_LIMIT = 4096
_SAFE_KEYS = frozenset({"http.request.header.content-type", "url.path", "http.route"})


class Scrubber:
    """Redacts values of secret-looking keys and credentials embedded in URLs or text."""

    def __init__(self, extra_patterns: Iterable[str] = ()) -> None:
        patterns = [*DEFAULT_KEY_PATTERNS, *extra_patterns]
        self._key = re.compile("|".join(f"(?:{pattern})" for pattern in patterns), re.IGNORECASE)
        names = "|".join(f"(?:{pattern})" for pattern in patterns)
        # key=value or key: value pairs inside free text (query strings, log messages, JSON-ish).
        self._pair = re.compile(
            rf"(?P<key>[\w.-]*(?:{names})[\w.-]*)(?P<sep>[\"']?\s*[=:]\s*[\"']?)(?P<value>(?:(?:bearer|basic|token|digest)\s+)?[^\s&,;\"']+)",
            re.IGNORECASE,
        )
        self._verdicts: dict[str, bool] = {}

    def secret_key(self, key: str) -> bool:
        """True when values under `key` are secrets."""
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = key not in _SAFE_KEYS and self._key.search(key) is not None
            if len(self._verdicts) >= _VERDICT_LIMIT:  # keys are few; a flood of distinct ones is not cached
                self._verdicts.clear()
            self._verdicts[key] = verdict
        return verdict

    def text(self, value: str) -> str:
        """Redact URL credentials and key=value secrets inside a string."""
        # Both patterns need a ":" or "=" (URL credentials: "://"): most values have neither.
        if ":" not in value and "=" not in value:
            return value
        if "://" in value:
            value = _URL_CREDENTIALS.sub(rf"\g<scheme>\g<user>:{REDACTED}@", value)
        if self._pair.search(value) is None:
            return value
        return self._pair.sub(rf"\g<key>\g<sep>{REDACTED}", value)

    def value(self, value: Any) -> Any:
        """Scrub one attribute value (strings and sequences of strings)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, (list, tuple)):
            return type(value)(self.text(item) if isinstance(item, str) else item for item in value)
        return value

    def attributes(self, attributes: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """A scrubbed copy, or None when nothing needed scrubbing."""
        if not attributes:
            return None
        items = list(attributes.items())
        for index, (key, value) in enumerate(items):
            new = self.pair_value(key, value)
            if new != value:  # the first change: copy, then scrub the rest into the copy
                result = dict(items[:index])
                result[key] = new
                for rest_key, rest_value in items[index + 1 :]:
                    result[rest_key] = self.pair_value(rest_key, rest_value)
                return result
        return None

    def pair_value(self, key: str, value: Any) -> Any:
        """The value to keep under `key`: redacted for a secret key, else scrubbed as text."""
        return REDACTED if self.secret_key(key) and value not in (None, "") else self.value(value)
