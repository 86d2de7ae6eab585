"""Prometheus' template helpers (humanize, humanize1024, ...) with Go's number formatting."""

from __future__ import annotations

import math
from decimal import Decimal


def go_float(value: float) -> str:
    """A float the way Go's `%v` prints it (`0.95`, `123456`, `1e+06`)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(map(str, digits))
    exp10 = len(text) - 1 + int(exponent)
    prefix = "-" if sign else ""
    if exp10 < -4 or exp10 >= 6:  # Go switches to %e at exponent 6 for shortest floats
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{exp10:+03d}"
    return prefix + _plain(text, exp10)


def _plain(digits: str, exp10: int) -> str:
    if exp10 < 0:
        return "0." + "0" * (-exp10 - 1) + digits
    if exp10 + 1 >= len(digits):
        return digits + "0" * (exp10 + 1 - len(digits))
    return digits[: exp10 + 1] + "." + digits[exp10 + 1 :]


def _g4(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.4g}"


def humanize(value: float) -> str:
    """SI prefixes: 1234567 -> `1.235M`, 0.0012 -> `1.2m`."""
    if value == 0 or math.isnan(value) or math.isinf(value):
        return _g4(value)
    prefix = ""
    if abs(value) >= 1:
        for step in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(value) < 1000:
                break
            prefix, value = step, value / 1000
        return f"{_g4(value)}{prefix}"
    for step in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(value) >= 1:
            break
        prefix, value = step, value * 1000
    return f"{_g4(value)}{prefix}"


def humanize1024(value: float) -> str:
    """Binary prefixes: 1048576 -> `1Mi`."""
    if abs(value) <= 1 or math.isnan(value) or math.isinf(value):
        return _g4(value)
    prefix = ""
    for step in ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(value) < 1024:
            break
        prefix, value = step, value / 1024
    return f"{_g4(value)}{prefix}"


def humanize_percentage(value: float) -> str:
    """Ratio to percent: 0.953 -> `95.3%`."""
    return f"{_g4(value * 100)}%"


def humanize_duration(value: float) -> str:
    """Seconds to `1d 2h 3m 4s`, or `250ms` below one second."""
    if math.isnan(value) or math.isinf(value):
        return _g4(value)
    if value == 0:
        return "0s"
    if abs(value) >= 1:
        return _clock(value)
    prefix = ""
    for step in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(value) >= 1:
            break
        prefix, value = step, value * 1000
    return f"{_g4(value)}{prefix}s"


def _clock(value: float) -> str:
    sign = "-" if value < 0 else ""
    days, rest = divmod(int(abs(value)), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
    if hours:
        return f"{sign}{hours}h {minutes}m {seconds}s"
    if minutes:
        return f"{sign}{minutes}m {seconds}s"
    return f"{sign}{_g4(abs(value))}s"
