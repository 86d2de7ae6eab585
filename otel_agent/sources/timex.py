"""The kernel clock discipline through adjtimex(2) in read-only mode: offset, error bound, sync state."""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

from otel_agent.models import ClockReading

STA_NANO = 0x2000
"""Status bit: offset is in nanoseconds rather than microseconds."""
TIME_ERROR = 5
"""adjtimex return value while the clock is not synchronized to a time source."""
_LONG_FIELDS = (
    "offset", "freq", "maxerror", "esterror", "status_", "constant", "precision", "tolerance", "tv_sec", "tv_usec",
    "tick", "ppsfreq", "jitter", "shift_", "stabil", "jitcnt", "calcnt", "errcnt", "stbcnt",
)  # fmt: skip


class Timex(ctypes.Structure):
    """struct timex from <sys/timex.h> (Linux); `status`, `shift` and `tai` are ints, the rest longs."""

    _fields_ = [
        ("modes", ctypes.c_uint),
        *((name, ctypes.c_int if name in ("status_", "shift_") else ctypes.c_long) for name in _LONG_FIELDS),
        ("tai", ctypes.c_int),
        ("_reserved", ctypes.c_int * 11),
    ]


def clock_reading(state: int, tx: Timex) -> ClockReading:
    """Seconds from the values adjtimex filled in (pure, so tests pass both unit flavours)."""
    divisor = 1e9 if tx.status_ & STA_NANO else 1e6
    return ClockReading(tx.offset / divisor, tx.maxerror / 1e6, state != TIME_ERROR)


def _libc_adjtimex() -> Callable[[ctypes._Pointer[Timex]], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        fn = libc.adjtimex
    except (OSError, AttributeError):  # not Linux/glibc-like: no clock readings
        return None
    fn.argtypes = [ctypes.POINTER(Timex)]
    fn.restype = ctypes.c_int
    return fn


class ClockReader:
    """Reads the clock state once per cycle; modes = 0 only reads, so no privilege is needed."""

    def __init__(self) -> None:
        self._adjtimex = _libc_adjtimex()

    def read(self) -> ClockReading | None:
        if self._adjtimex is None:
            return None
        tx = Timex()
        state = self._adjtimex(ctypes.pointer(tx))
        return None if state < 0 else clock_reading(state, tx)
