"""Per-destination state in Redis: health, persisted corrections (migrated chat id), message ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import redis
from redis.typing import EncodableT

PREFIX = "heron:dest:"


@dataclass(frozen=True)
class Health:
    healthy: bool
    reason: str = ""
    since: float = 0.0


@dataclass(frozen=True)
class LastSent:
    """What a destination last received of one alert group: its creation time and its status."""

    created_at: float
    status: str


class DestinationState(Protocol):
    def overrides(self, destination: str) -> dict[str, str]: ...
    def save_overrides(self, destination: str, updates: dict[str, str]) -> None: ...
    def remote_id(self, destination: str, group_key: str) -> str | None: ...
    def save_remote_id(self, destination: str, group_key: str, remote_id: str, ttl: float) -> None: ...
    def progress(self, destination: str, key: str) -> str | None: ...
    def save_progress(self, destination: str, key: str, progress: str, ttl: float) -> None: ...
    def health(self, destination: str) -> Health: ...
    def set_health(self, destination: str, health: Health) -> bool:
        """Store `health`; true when it changed between healthy and unhealthy."""

    def last_sent(self, destination: str, group_key: str) -> LastSent | None:
        """The newest notification of `group_key` this destination received (for per-group order)."""

    def save_last_sent(self, destination: str, group_key: str, sent: LastSent, ttl: float) -> None: ...


def _s(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisDestinationState:
    """`DestinationState` on Redis (keys under ``heron:dest:``)."""

    def __init__(self, client: redis.Redis) -> None:
        self._r = client

    def overrides(self, destination: str) -> dict[str, str]:
        raw = self._r.hgetall(f"{PREFIX}{destination}:overrides")
        return {_s(k): _s(v) for k, v in raw.items()}

    def save_overrides(self, destination: str, updates: dict[str, str]) -> None:
        if updates:
            mapping: dict[EncodableT, EncodableT] = dict(updates.items())
            self._r.hset(f"{PREFIX}{destination}:overrides", mapping=mapping)

    def remote_id(self, destination: str, group_key: str) -> str | None:
        value = self._r.get(f"{PREFIX}{destination}:msg:{group_key}")
        return _s(value) if value is not None else None

    def save_remote_id(self, destination: str, group_key: str, remote_id: str, ttl: float) -> None:
        if remote_id:
            self._r.set(f"{PREFIX}{destination}:msg:{group_key}", remote_id, ex=max(1, int(ttl)))

    def progress(self, destination: str, key: str) -> str | None:
        value = self._r.get(f"{PREFIX}{destination}:progress:{key}")
        return _s(value) if value is not None else None

    def save_progress(self, destination: str, key: str, progress: str, ttl: float) -> None:
        self._r.set(f"{PREFIX}{destination}:progress:{key}", progress, ex=max(1, int(ttl)))

    def health(self, destination: str) -> Health:
        raw = {_s(k): _s(v) for k, v in self._r.hgetall(f"{PREFIX}{destination}:health").items()}
        if not raw:
            return Health(healthy=True)
        return Health(healthy=raw.get("healthy") == "1", reason=raw.get("reason", ""), since=float(raw.get("since", 0)))

    def last_sent(self, destination: str, group_key: str) -> LastSent | None:
        raw = {_s(k): _s(v) for k, v in self._r.hgetall(f"{PREFIX}{destination}:last:{group_key}").items()}
        return LastSent(float(raw["created_at"]), raw["status"]) if raw else None

    def save_last_sent(self, destination: str, group_key: str, sent: LastSent, ttl: float) -> None:
        key = f"{PREFIX}{destination}:last:{group_key}"
        pipe = self._r.pipeline()
        pipe.hset(key, mapping={"created_at": repr(sent.created_at), "status": sent.status})
        pipe.expire(key, max(1, int(ttl)))
        pipe.execute()

    def set_health(self, destination: str, health: Health) -> bool:
        key = f"{PREFIX}{destination}:health"
        mapping: dict[EncodableT, EncodableT] = {
            "healthy": "1" if health.healthy else "0",
            "reason": health.reason,
            "since": repr(health.since),
        }
        pipe = self._r.pipeline()
        pipe.hget(key, "healthy")
        pipe.hset(key, mapping=mapping)
        previous, _ = pipe.execute()
        was_healthy = previous is None or _s(previous) == "1"
        return was_healthy != health.healthy
