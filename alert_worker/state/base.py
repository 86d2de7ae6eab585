"""The state store seam: one JSON snapshot per rule group, silences, and a bounded history."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from alert_worker.notify.pipeline import PipelineState
from alert_worker.notify.silences import Silence
from alert_worker.rules.state import RuleState


@dataclass
class GroupSnapshot:
    """Everything a rule group's evaluation reads and writes, saved atomically."""

    last_slot: float | None = None
    rules: dict[str, RuleState] = field(default_factory=dict)
    pipeline: PipelineState = field(default_factory=PipelineState)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    firing: list[dict[str, str]] = field(default_factory=list)

    def dumps(self) -> str:
        """The snapshot without its outbox (stored under its own key so it can be cleared cheaply)."""
        return json.dumps(
            {
                "last_slot": self.last_slot,
                "rules": {k: r.to_dict() for k, r in self.rules.items()},
                "pipeline": self.pipeline.to_dict(),
                "firing": self.firing,
            },
            separators=(",", ":"),
        )

    @classmethod
    def loads(cls, text: str | bytes | None, outbox: str | bytes | None = None) -> GroupSnapshot:
        data = json.loads(text) if text else {}
        return cls(
            last_slot=data.get("last_slot"),
            rules={k: RuleState.from_dict(r) for k, r in data.get("rules", {}).items()},
            pipeline=PipelineState.from_dict(data.get("pipeline", {})),
            outbox=list(json.loads(outbox)) if outbox else [],
            firing=list(data.get("firing", [])),
        )


@dataclass(frozen=True)
class HistoryQuery:
    """Filters and page of a history lookup (newest first)."""

    rule: str | None = None
    host: str | None = None
    kind: str | None = None
    start: float | None = None
    end: float | None = None
    limit: int = 100
    offset: int = 0


def history_matches(entry: Mapping[str, Any], q: HistoryQuery) -> bool:
    labels = entry.get("labels") or {}
    if q.rule is not None and entry.get("rule") != q.rule:
        return False
    if q.host is not None and labels.get("host_name") != q.host:
        return False
    return q.kind is None or entry.get("kind") == q.kind


class StateStore(Protocol):
    """Implemented by `MemoryStore` (tests, one process) and `RedisStore` (workers)."""

    def lock(self, group: str, ttl_s: float) -> AbstractContextManager[bool]: ...

    def load_group(self, group: str) -> GroupSnapshot: ...

    def save_group(self, group: str, snap: GroupSnapshot, history: Sequence[Mapping[str, Any]]) -> None: ...

    def clear_outbox(self, group: str) -> None: ...

    def firing_elsewhere(self, group: str) -> list[dict[str, str]]: ...

    def list_silences(self) -> list[Silence]: ...

    def put_silence(self, silence: Silence) -> None: ...

    def get_silence(self, silence_id: str) -> Silence | None: ...

    def add_history(self, entries: Sequence[Mapping[str, Any]]) -> None: ...

    def history(self, query: HistoryQuery) -> list[dict[str, Any]]: ...

    def groups(self) -> Iterator[str]: ...

    def api_rules(self) -> dict[str, dict[str, Any]]: ...

    def put_api_rule(self, name: str, data: Mapping[str, Any]) -> None: ...

    def delete_api_rule(self, name: str) -> bool: ...
