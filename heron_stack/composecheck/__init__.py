"""docker-compose.yml checked without Docker: schema, files it mounts, health checks, drift from `heron up`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One finding, named by service (empty for a top-level one) and field."""

    service: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"service {self.service!r}, " if self.service else ""
        return f"{where}field {self.field!r}: {self.message}"
