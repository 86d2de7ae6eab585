"""Request bodies for Heron's HTTP APIs: strict JSON parsing and short echoes of bad input."""

from __future__ import annotations

import json
import reprlib
from typing import Any

MAX_BODY_BYTES = 1024 * 1024
"""The largest request body a Heron API reads (its bodies are a few hundred bytes); larger is a 413."""

_SHORT = reprlib.Repr()  # keyword arguments need Python 3.12
_SHORT.maxstring = _SHORT.maxother = 120


def shorten(value: object) -> str:
    """`repr(value)` cut to about 120 characters, so an error never echoes a huge input back."""
    return _SHORT.repr(value)


class DuplicateKey(ValueError):
    """A JSON object names the same key twice (JSON would silently keep the last)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKey(key)
        out[key] = value
    return out


def loads_strict(raw: bytes | str) -> Any:
    """Parse JSON; DuplicateKey for a repeated key, ValueError (with a reason) for anything not JSON.

    Nesting deeper than the parser allows is a ValueError too, not a RecursionError.
    """
    try:
        return json.loads(raw, object_pairs_hook=_unique_keys)
    except DuplicateKey:
        raise
    except json.JSONDecodeError as exc:
        raise ValueError(exc.msg) from None
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise ValueError("not UTF-8 JSON text, or nested too deep") from None
