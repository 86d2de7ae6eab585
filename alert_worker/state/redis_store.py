"""Redis state store (keys under `heron:alerts:*`); every group save is one MULTI transaction.

An evaluation that changed nothing writes only its slot marker: the state, firing list and outbox keys
are written when they differ from what the evaluation loaded, and of the state hash (a field per rule,
alert, notification group and cooldown) only the fields that changed.

Durability across Redis restarts comes from Redis persistence (AOF `appendfsync everysec`
or RDB snapshots); the engine never relies on anything that lives only in a worker's memory.
Under Redis Sentinel a group save and an outbox clear wait for a replica (`ReplicaWait`), so a
failover cannot take back a transition whose notification was already handed on.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import redis

from alert_worker.exceptions import StaleEvaluationError, StateError
from alert_worker.notify.pipeline import PipelineState
from alert_worker.notify.silences import Silence
from alert_worker.redis_client import NO_WAIT, ReplicaWait, connect
from alert_worker.rules.state import RuleState
from alert_worker.state import fields
from alert_worker.state.base import GroupSnapshot, HistoryQuery, history_matches, parse_marker

PREFIX = "heron:alerts:"
VERSION = "#v"
"""The field of a group's state hash holding a token that changes with every write of the hash."""


def _text(name: bytes | str) -> str:
    return name.decode() if isinstance(name, bytes) else name


class RedisStore:
    """State on Redis; `history_retention_s` and `history_max` bound the history."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        history_retention_s: float = 30 * 86400,
        history_max: int = 200_000,
        clock: Any = None,
        replica_wait: ReplicaWait = NO_WAIT,
    ) -> None:
        self.r = client
        self._replicated = replica_wait
        self.history_retention_s = history_retention_s
        self.history_max = history_max
        self._clock = clock
        # Decoded state by group and its version token, and decoded firing lists by their bytes: a load that
        # finds the same token (or bytes) in Redis skips decoding. Redis stays the only source of truth.
        self._decoded: dict[str, tuple[bytes, dict[str, RuleState], PipelineState]] = {}
        self._firing: dict[str, tuple[bytes | str, list[dict[str, str]]]] = {}

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisStore:
        """A store on `url` (redis:// or redis+sentinel://, see alert_worker.redis_url)."""
        return cls(connect(url, socket_timeout=10, socket_connect_timeout=5), **kwargs)

    @contextmanager
    def lock(self, group: str, ttl_s: float) -> Iterator[bool]:
        lock = self.r.lock(f"{PREFIX}lock:{group}", timeout=ttl_s, blocking=False)
        try:
            acquired = bool(lock.acquire(blocking=False))
        except redis.RedisError as exc:
            raise StateError(f"cannot take the evaluation lock of group {group!r}: {exc}") from exc
        try:
            yield acquired
        finally:
            if acquired:
                # Expired meanwhile: the next evaluation's slot check keeps it idempotent.
                with contextlib.suppress(redis.exceptions.LockError):
                    lock.release()

    def load_group(self, group: str) -> GroupSnapshot:
        state_key = f"{PREFIX}state:{group}"
        parts = [f"{PREFIX}{part}:{group}" for part in ("outbox", "slot", "firing")]
        try:
            with self.r.pipeline(transaction=True) as pipe:
                pipe.mget(parts)
                pipe.hget(state_key, VERSION)
                (outbox, marker, firing), version = pipe.execute()
            cached = self._decoded.get(group)
            legacy = None
            if cached is not None and version is not None and cached[0] == version:
                rules, pipeline = cached[1], cached[2]
            else:
                with self.r.pipeline(transaction=True) as pipe:  # the parts again, read with the state at once
                    pipe.mget(parts)
                    pipe.hgetall(state_key)
                    pipe.get(f"{PREFIX}group:{group}")
                    (outbox, marker, firing), stored, legacy = pipe.execute()
                rules, pipeline = fields.decode({_text(k): v for k, v in stored.items()})
                version = stored.get(VERSION.encode())
                self._remember(group, version, rules, pipeline)
        except redis.RedisError as exc:
            raise StateError(f"cannot read state of group {group!r}: {exc}") from exc
        if legacy is not None and version is None:
            snap = GroupSnapshot.loads(legacy, outbox, marker)
            if firing is not None:
                snap.firing = list(json.loads(firing))
            return snap
        snap = GroupSnapshot.assemble(rules, pipeline, outbox, marker, self._firing_list(group, firing))
        snap.version = version
        return snap

    def _remember(
        self, group: str, version: bytes | None, rules: dict[str, RuleState], pipeline: PipelineState
    ) -> None:
        """Keep the decoded state of `version` (a token written with every change of the state hash)."""
        if version is None:
            self._decoded.pop(group, None)
        else:
            self._decoded[group] = (version, rules, pipeline)

    def _firing_list(self, group: str, raw: bytes | str | None) -> list[dict[str, str]]:
        if raw is None:
            return []
        cached = self._firing.get(group)
        if cached is not None and cached[0] == raw:
            return list(cached[1])
        firing = list(json.loads(raw))
        self._firing[group] = (raw, firing)
        return list(firing)

    def save_group(
        self,
        group: str,
        snap: GroupSnapshot,
        history: Sequence[Mapping[str, Any]],
        *,
        previous: GroupSnapshot | None = None,
    ) -> None:
        """Save atomically, unless an evaluation of this slot or a later one got there first."""
        slot_key, state_key = f"{PREFIX}slot:{group}", f"{PREFIX}state:{group}"
        try:
            with self.r.pipeline(transaction=True) as pipe:
                pipe.watch(slot_key, state_key)  # type: ignore[no-untyped-call]  # redis-py leaves watch unannotated
                current = pipe.get(slot_key)
                saved = parse_marker(current)[0] if current is not None else None
                if saved is not None and snap.last_slot is not None and saved >= snap.last_slot:
                    raise StaleEvaluationError(f"group {group!r} slot {snap.last_slot} was already evaluated")
                if previous is not None and not previous.legacy and pipe.hget(state_key, VERSION) != previous.version:
                    # Written since `previous` was read (or lost in a Redis restart): the changes would not apply.
                    raise StaleEvaluationError(f"the state of group {group!r} changed since this evaluation read it")
                pipe.multi()
                pipe.set(slot_key, snap.marker())
                changed, version = self._queue_save(pipe, group, snap, history, previous)
                pipe.execute()
            if changed:  # a lost slot marker alone only lets a slot be evaluated again, to the same state
                self._replicated(self.r)
        except redis.WatchError as exc:
            self._decoded.pop(group, None)
            raise StaleEvaluationError(f"group {group!r} was saved by a concurrent evaluation") from exc
        except StaleEvaluationError:
            self._decoded.pop(group, None)
            raise
        except redis.RedisError as exc:
            self._decoded.pop(group, None)
            raise StateError(f"cannot save state of group {group!r}: {exc}") from exc
        self._remember(group, version, snap.rules, snap.pipeline)

    def _queue_save(
        self,
        pipe: Any,
        group: str,
        snap: GroupSnapshot,
        history: Sequence[Mapping[str, Any]],
        previous: GroupSnapshot | None,
    ) -> tuple[bool, bytes | None]:
        """Queue what changed since `previous` beside the slot marker.

        Returns whether anything did, and the state's version token after the save (None: unknown).
        """
        changed = bool(history) or previous is None or previous.last_slot is None
        state_key = f"{PREFIX}state:{group}"
        if previous is None or previous.legacy:  # what is stored is not known field by field: replace it all
            version = None
            change = fields.Changes(fields.encode_all(snap.rules, snap.pipeline))
            pipe.delete(state_key, f"{PREFIX}group:{group}")
        else:
            version = previous.version
            change = fields.changes(snap.rules, snap.pipeline, previous.rules, previous.pipeline)
        if change or version is None:
            version = uuid.uuid4().hex.encode()
            pipe.hset(state_key, mapping={**change.set, VERSION: version})
            if change.delete:
                pipe.hdel(state_key, *change.delete)
            changed = True
        if previous is None or snap.firing != previous.firing:
            pipe.set(f"{PREFIX}firing:{group}", json.dumps(snap.firing))
            changed = True
        if snap.outbox:
            pipe.set(f"{PREFIX}outbox:{group}", json.dumps(snap.outbox))
            changed = True
        elif previous is None:
            pipe.delete(f"{PREFIX}outbox:{group}")  # the loaded outbox was flushed and cleared before this save
        if previous is None or previous.last_slot is None:
            pipe.sadd(f"{PREFIX}groups", group)
        self._queue_history(pipe, history)
        return changed, version

    def clear_outbox(self, group: str) -> None:
        try:
            self.r.delete(f"{PREFIX}outbox:{group}")
            self._replicated(self.r)
        except redis.RedisError as exc:
            raise StateError(f"cannot clear the outbox of group {group!r}: {exc}") from exc

    def firing_elsewhere(self, group: str) -> list[dict[str, str]]:
        names = sorted(n.decode() if isinstance(n, bytes) else str(n) for n in self.r.smembers(f"{PREFIX}groups"))
        names = [n for n in names if n != group]
        if not names:
            return []
        out: list[dict[str, str]] = []
        for name, raw in zip(names, self.r.mget([f"{PREFIX}firing:{n}" for n in names]), strict=True):
            if raw:
                out.extend(self._firing_list(name, raw))
        return out

    def list_silences(self) -> list[Silence]:
        raw = self.r.hgetall(f"{PREFIX}silences")
        silences = [Silence.from_dict(json.loads(v)) for v in raw.values()]
        return sorted(silences, key=lambda s: s.created_at)

    def put_silence(self, silence: Silence) -> None:
        self.r.hset(f"{PREFIX}silences", silence.id, json.dumps(silence.to_dict()))

    def get_silence(self, silence_id: str) -> Silence | None:
        raw = self.r.hget(f"{PREFIX}silences", silence_id)
        return Silence.from_dict(json.loads(raw)) if raw else None

    def _queue_history(self, pipe: Any, entries: Sequence[Mapping[str, Any]]) -> None:
        if not entries:
            return
        key = f"{PREFIX}history"
        members = {json.dumps({**e, "id": uuid.uuid4().hex}, separators=(",", ":")): e["at"] for e in entries}
        pipe.zadd(key, members)
        newest = max(e["at"] for e in entries)
        pipe.zremrangebyscore(key, "-inf", f"({newest - self.history_retention_s}")
        pipe.zremrangebyrank(key, 0, -self.history_max - 1)

    def add_history(self, entries: Sequence[Mapping[str, Any]]) -> None:
        pipe = self.r.pipeline(transaction=True)
        self._queue_history(pipe, entries)
        pipe.execute()

    def history(self, query: HistoryQuery) -> list[dict[str, Any]]:
        high = "+inf" if query.end is None else query.end
        low = "-inf" if query.start is None else query.start
        rows: list[dict[str, Any]] = []
        skipped, start, chunk = 0, 0, 1000
        while len(rows) < query.limit:
            batch = self.r.zrevrangebyscore(f"{PREFIX}history", high, low, start=start, num=chunk)
            if not batch:
                break
            start += len(batch)
            for raw in batch:
                entry = json.loads(str(raw) if not isinstance(raw, bytes) else raw)
                if not history_matches(entry, query):
                    continue
                if skipped < query.offset:
                    skipped += 1
                    continue
                rows.append(entry)
                if len(rows) >= query.limit:
                    break
        return rows

    def groups(self) -> Iterator[str]:
        names = self.r.smembers(f"{PREFIX}groups")
        return iter(sorted(n.decode() if isinstance(n, bytes) else str(n) for n in names))

    def api_rules(self) -> dict[str, dict[str, Any]]:
        raw = self.r.hgetall(f"{PREFIX}api_rules")
        rules = {(k.decode() if isinstance(k, bytes) else str(k)): json.loads(v) for k, v in raw.items()}
        return dict(sorted(rules.items()))

    def put_api_rule(self, name: str, data: Mapping[str, Any]) -> None:
        self.r.hset(f"{PREFIX}api_rules", name, json.dumps(dict(data)))

    def delete_api_rule(self, name: str) -> bool:
        return bool(self.r.hdel(f"{PREFIX}api_rules", name))
