"""Never break the host app: internal errors are logged once per site, raised only under the SDK's tests."""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from heron._internal import env
from heron._internal.exceptions import HeronInternalError

P = ParamSpec("P")
R = TypeVar("R")

# Propagation off: the SDK's own complaints must not loop back into the exported logs.
internal_logger = logging.getLogger("heron.internal")
internal_logger.propagate = False
if not internal_logger.handlers:
    internal_logger.addHandler(logging.StreamHandler())

_seen: set[str] = set()
_seen_lock = threading.Lock()


def reinit_after_fork() -> None:
    """A lock held by another thread at fork time is never released in the child."""
    global _seen_lock  # noqa: PLW0603 - a fresh lock in a forked child
    _seen_lock = threading.Lock()


def raise_internal() -> bool:
    """True when internal errors should propagate (the SDK's own test suite)."""
    return os.environ.get(env.HERON_SDK_RAISE_INTERNAL, "").strip().lower() in {"1", "true", "yes", "on"}


def report_internal_error(where: str, exc: BaseException) -> None:
    """Log an internal failure the first time it happens at `where`; re-raise under tests."""
    if raise_internal():
        raise HeronInternalError(f"heron internal error in {where}: {exc!r}") from exc
    with _seen_lock:
        first = where not in _seen
        _seen.add(where)
    if first:
        internal_logger.warning("heron: internal error in %s (reported once, app unaffected)", where, exc_info=exc)


@contextmanager
def internal_errors(where: str) -> Iterator[None]:
    """Swallow and report any error raised by SDK code in the block."""
    try:
        yield
    except Exception as exc:
        report_internal_error(where, exc)


def guarded(where: str, default: Any = None) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate an SDK function so its failures are reported and `default` is returned."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return func(*args, **kwargs)
            except Exception as exc:
                report_internal_error(where, exc)
                result: R = default
                return result

        return wrapper

    return decorate
