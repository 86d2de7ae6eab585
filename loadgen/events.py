"""The event log: every action and scenario start, progress, finish and failure (bounded, in memory)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

Severity = Literal["info", "success", "warning", "critical"]
KEEP = 1000


def utc_now() -> datetime:
    """Timezone-aware now."""
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    """RFC 3339 with a Z suffix."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Event:
    """One entry of the log."""

    id: int
    timestamp: datetime
    type: str
    severity: Severity
    message: str
    attributes: Mapping[str, str | float | int | bool] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "id": self.id,
            "timestamp": iso(self.timestamp),
            "type": self.type,
            "severity": self.severity,
            "message": self.message,
            "attributes": dict(self.attributes),
        }


Listener = Callable[[Event], None]


class EventLog:
    """Thread-safe bounded log with listeners (telemetry exports each event as an OTLP log record)."""

    def __init__(self, keep: int = KEEP, clock: Callable[[], datetime] = utc_now) -> None:
        self._lock = threading.Lock()
        self._events: deque[Event] = deque(maxlen=keep)
        self._next_id = 1
        self._clock = clock
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        """Call `listener` for every future event."""
        self._listeners.append(listener)

    def emit(
        self, type_: str, message: str, severity: Severity = "info", **attributes: str | float | int | bool
    ) -> Event:
        """Append an event and notify listeners."""
        with self._lock:
            event = Event(self._next_id, self._clock(), type_, severity, message, attributes)
            self._next_id += 1
            self._events.append(event)
        for listener in self._listeners:
            listener(event)
        return event

    def since(self, after_id: int = 0, limit: int = 200) -> list[Event]:
        """Events with id > `after_id`, oldest first, at most `limit` (the newest ones)."""
        with self._lock:
            found = [e for e in self._events if e.id > after_id]
        return found[-limit:]

    @property
    def last_id(self) -> int:
        """Id of the newest event (0 when empty)."""
        with self._lock:
            return self._next_id - 1
