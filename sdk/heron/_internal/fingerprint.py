"""A stable fingerprint per error site, for grouping: type plus the code path, not line numbers or messages."""

from __future__ import annotations

import hashlib
import os
import traceback

_MAX_FRAMES = 8


def exception_type_name(exc: BaseException) -> str:
    """Fully qualified type name, as in error.type / exception.type."""
    cls = type(exc)
    module = cls.__module__
    return cls.__qualname__ if module in {"builtins", "__main__"} else f"{module}.{cls.__qualname__}"


def fingerprint(exc: BaseException) -> str:
    """16 hex chars that stay the same when the same error happens at the same place again."""
    parts = [exception_type_name(exc)]
    frames = traceback.extract_tb(exc.__traceback__)[-_MAX_FRAMES:] if exc.__traceback__ else []
    parts.extend(f"{os.path.basename(frame.filename)}:{frame.name}" for frame in frames)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
