"""The state store seam: each rule group's state in parts, silences, and a bounded history."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from alert_worker.notify.pipeline import PipelineState
from alert_worker.notify.silences import Silence
from alert_worker.rules.state import RuleState


@dataclass
class GroupSnapshot:
    """Everything a rule group's evaluation reads and writes, saved atomically.

    Stored in parts so an evaluation that changed nothing writes only its slot marker: the marker
    (`[last_slot, evaluated_at]`, written every run; every rule's `last_eval` is that run's time), the
    state (a field per rule, alert, notification group and cooldown: alert_worker.state.fields), the
    firing label sets and the outbox.
    """

    last_slot: float | None = None
    rules: dict[str, RuleState] = field(default_factory=dict)
    pipeline: PipelineState = field(default_factory=PipelineState)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    firing: list[dict[str, str]] = field(default_factory=list)
    legacy: bool = False
    """Loaded from the single JSON key written before the state had a field per alert: save writes every field."""
    version: bytes | None = None
    """The token of the stored state this was loaded from (RedisStore; None: no state stored)."""

    def evaluated_at(self) -> float | None:
        return max((r.last_eval for r in self.rules.values() if r.last_eval is not None), default=None)

    def marker(self) -> str:
        """The part written on every evaluation: the slot and the evaluation time."""
        return json.dumps([self.last_slot if self.last_slot is not None else -1.0, self.evaluated_at()])

    @classmethod
    def assemble(
        cls,
        rules: dict[str, RuleState],
        pipeline: PipelineState,
        outbox: str | bytes | None,
        marker: str | bytes | None,
        firing: list[dict[str, str]],
    ) -> GroupSnapshot:
        """A snapshot from its stored parts (rules as stored, without their evaluation time)."""
        last_slot, evaluated_at = parse_marker(marker) if marker else (None, None)
        if evaluated_at is not None:
            rules = {k: replace(r, last_eval=evaluated_at) for k, r in rules.items()}
        return cls(last_slot, rules, pipeline, list(json.loads(outbox)) if outbox else [], firing)

    @classmethod
    def loads(
        cls, text: str | bytes | None, outbox: str | bytes | None = None, marker: str | bytes | None = None
    ) -> GroupSnapshot:
        """A snapshot from the single JSON key it was stored as before it had a field per alert."""
        data = json.loads(text) if text else {}
        last_slot, evaluated_at = data.get("last_slot"), None
        if marker:
            last_slot, evaluated_at = parse_marker(marker)
        rules = {k: RuleState.from_dict(r) for k, r in data.get("rules", {}).items()}
        if evaluated_at is not None:
            rules = {k: replace(r, last_eval=evaluated_at) for k, r in rules.items()}
        return cls(
            last_slot=last_slot,
            rules=rules,
            pipeline=PipelineState.from_dict(data.get("pipeline", {})),
            outbox=list(json.loads(outbox)) if outbox else [],
            firing=list(data.get("firing", [])),  # snapshots written before the firing list had its own key
            legacy=bool(text),
        )


def parse_marker(raw: str | bytes) -> tuple[float | None, float | None]:
    """(last_slot, evaluated_at) from a slot marker; a bare number is a marker written before it held the time."""
    value = json.loads(raw)
    if isinstance(value, list):
        slot, at = value
    else:
        slot, at = value, None
    return (None if slot is None or slot < 0 else float(slot)), (None if at is None else float(at))


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

    def save_group(
        self,
        group: str,
        snap: GroupSnapshot,
        history: Sequence[Mapping[str, Any]],
        *,
        previous: GroupSnapshot | None = None,
    ) -> None:
        """Save `snap` unless this slot was saved already; parts equal to `previous` (as loaded) are not rewritten."""
        ...

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
