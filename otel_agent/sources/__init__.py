"""Where readings come from: Linux procfs under a root, or psutil on any platform."""

from __future__ import annotations

import sys
from typing import Protocol

from otel_agent.collectors.filters import Filters
from otel_agent.models import Readings

SOURCES = ("auto", "procfs", "psutil")


class Source(Protocol):
    """Takes one set of readings from the host."""

    def read(self) -> Readings: ...

    def close(self) -> None: ...


def make_source(kind: str, root: str, filters: Filters, statvfs_timeout: float, process_states: bool = True) -> Source:
    """Build the source named by `kind`; "auto" reads procfs on Linux and psutil elsewhere."""
    if kind == "procfs" or (kind == "auto" and sys.platform.startswith("linux")):
        from otel_agent.sources.procfs import ProcfsSource  # lazy: psutil is not needed on Linux

        return ProcfsSource(root, filters, statvfs_timeout, process_states=process_states)
    from otel_agent.sources.psutil_source import PsutilSource  # lazy: only off Linux

    return PsutilSource(filters, statvfs_timeout, process_states=process_states)


__all__ = ["SOURCES", "Source", "make_source"]
