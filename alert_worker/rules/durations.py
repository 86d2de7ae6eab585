"""Prometheus duration strings (`1h30m`, `5m`, `90s`, `250ms`) to seconds and back."""

from __future__ import annotations

import math
import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, "y": 31536000.0}
_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
MAX_SECONDS = (2**63 - 1) // 1_000_000_000  # Prometheus' longest duration, in whole seconds
_WHOLE = re.compile(r"^((\d+)(ms|s|m|h|d|w|y))+$")


def parse_duration(text: str) -> float:
    """Seconds in a Prometheus duration; raises ValueError naming the allowed form."""
    value = str(text).strip()
    if value == "0":
        return 0.0
    if not _WHOLE.match(value):
        raise ValueError(f"invalid duration {str(text)[:100]!r}; use Prometheus form such as 30s, 5m, 1h30m")
    try:
        seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(value))
    except (OverflowError, ValueError):  # a number too large for a float, or too many digits for int()
        seconds = math.inf
    if seconds > MAX_SECONDS:
        raise ValueError(f"duration {value[:100]!r} is too long; at most {format_duration(MAX_SECONDS)} (292 years)")
    return seconds


def format_duration(seconds: float) -> str:
    """Shortest Prometheus form of `seconds` (`0s` for zero)."""
    if seconds <= 0:
        return "0s"
    millis = round(seconds * 1000)
    out = []
    for unit, size in (("d", 86400000), ("h", 3600000), ("m", 60000), ("s", 1000), ("ms", 1)):
        count, millis = divmod(millis, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)
