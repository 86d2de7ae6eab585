"""In-memory state store for tests and single-process runs (`rules backtest`)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from alert_worker.exceptions import StaleEvaluationError
from alert_worker.notify.silences import Silence
from alert_worker.state import fields
from alert_worker.state.base import GroupSnapshot, HistoryQuery, history_matches, parse_marker


class MemoryStore:
    """Same behaviour as RedisStore, kept in this process (state stored as the same encoded fields)."""

    def __init__(self, history_limit: int = 100_000) -> None:
        self._groups: dict[str, dict[str, str]] = {}
        self._firing: dict[str, list[dict[str, str]]] = {}
        self._outboxes: dict[str, str] = {}
        self._slots: dict[str, str] = {}
        self._api_rules: dict[str, str] = {}
        self._silences: dict[str, Silence] = {}
        self._history: list[dict[str, Any]] = []
        self._history_limit = history_limit
        self._locks: dict[str, threading.Lock] = {}

    @contextmanager
    def lock(self, group: str, ttl_s: float) -> Iterator[bool]:
        lock = self._locks.setdefault(group, threading.Lock())
        acquired = lock.acquire(blocking=False)
        try:
            yield acquired
        finally:
            if acquired:
                lock.release()

    def load_group(self, group: str) -> GroupSnapshot:
        rules, pipeline = fields.decode(self._groups.get(group, {}))
        firing = list(self._firing.get(group, []))
        return GroupSnapshot.assemble(rules, pipeline, self._outboxes.get(group), self._slots.get(group), firing)

    def save_group(
        self,
        group: str,
        snap: GroupSnapshot,
        history: Sequence[Mapping[str, Any]],
        *,
        previous: GroupSnapshot | None = None,
    ) -> None:
        marker = self._slots.get(group)
        saved = parse_marker(marker)[0] if marker is not None else None
        if saved is not None and snap.last_slot is not None and saved >= snap.last_slot:
            raise StaleEvaluationError(f"group {group!r} slot {snap.last_slot} was already evaluated")
        self._slots[group] = snap.marker()
        if previous is None:  # nothing known of what is stored: replace it all
            self._write("state", group)
            self._groups[group] = fields.encode_all(snap.rules, snap.pipeline)
        elif change := fields.changes(snap.rules, snap.pipeline, previous.rules, previous.pipeline):
            self._write("state", group)
            stored = self._groups.setdefault(group, {})
            stored.update(change.set)
            for name in change.delete:
                stored.pop(name, None)
        if previous is None or snap.firing != previous.firing:
            self._write("firing", group)
            self._firing[group] = list(snap.firing)
        if snap.outbox or previous is None:
            self._write("outbox", group)
            self._outboxes[group] = json.dumps(snap.outbox)
        self.add_history(history)

    def _write(self, part: str, group: str) -> None:
        """Called before a part other than the slot marker is written (a seam for counting writes)."""

    def clear_outbox(self, group: str) -> None:
        self._outboxes.pop(group, None)

    def firing_elsewhere(self, group: str) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        for name, firing in self._firing.items():
            if name != group:
                out.extend(firing)
        return out

    def list_silences(self) -> list[Silence]:
        return sorted(self._silences.values(), key=lambda s: s.created_at)

    def put_silence(self, silence: Silence) -> None:
        self._silences[silence.id] = silence

    def get_silence(self, silence_id: str) -> Silence | None:
        return self._silences.get(silence_id)

    def add_history(self, entries: Sequence[Mapping[str, Any]]) -> None:
        self._history.extend(dict(e) for e in entries)
        self._history.sort(key=lambda e: e["at"])
        del self._history[: max(0, len(self._history) - self._history_limit)]

    def history(self, query: HistoryQuery) -> list[dict[str, Any]]:
        rows = [
            e
            for e in reversed(self._history)
            if (query.start is None or e["at"] >= query.start)
            and (query.end is None or e["at"] <= query.end)
            and history_matches(e, query)
        ]
        return rows[query.offset : query.offset + query.limit]

    def groups(self) -> Iterator[str]:
        return iter(sorted(self._groups))

    def api_rules(self) -> dict[str, dict[str, Any]]:
        return {k: json.loads(v) for k, v in sorted(self._api_rules.items())}

    def put_api_rule(self, name: str, data: Mapping[str, Any]) -> None:
        self._api_rules[name] = json.dumps(dict(data))

    def delete_api_rule(self, name: str) -> bool:
        return self._api_rules.pop(name, None) is not None
