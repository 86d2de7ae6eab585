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

    def save_last_sent(self, destination: str, group_key: str, sent: LastSent, ttl: float) -> None:
        """Record `sent` unless a newer notice of the group is already recorded (newest wins)."""

    def hold_group(self, destination: str, group_key: str, holder: str, lease: float) -> bool:
        """Take the right to send the next notice of `group_key` to `destination` (for `lease` seconds).

        One notice of an alert group is in flight per destination at a time, so two workers can never
        race a firing and a resolved notice past each other.
        """

    def release_group(self, destination: str, group_key: str, holder: str) -> None: ...


# Newest wins: an older notice never overwrites the record of a newer one.
_SAVE_IF_NEWER = """
local current = redis.call('HGET', KEYS[1], 'created_at')
if current and tonumber(current) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'created_at', ARGV[1], 'status', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""
# Re-entrant for the same holder: a notice redelivered after its worker died takes its place back at once.
_HOLD = """
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
_RELEASE_IF_HOLDER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _s(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisDestinationState:
    """`DestinationState` on Redis (keys under ``heron:dest:``)."""

    def __init__(self, client: redis.Redis) -> None:
        self._r = client
        self._save_if_newer = client.register_script(_SAVE_IF_NEWER)
        self._release = client.register_script(_RELEASE_IF_HOLDER)
        self._hold = client.register_script(_HOLD)

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
        self._save_if_newer(keys=[key], args=[repr(sent.created_at), sent.status, max(1, int(ttl))])

    def hold_group(self, destination: str, group_key: str, holder: str, lease: float) -> bool:
        key = f"{PREFIX}{destination}:sending:{group_key}"
        return bool(self._hold(keys=[key], args=[holder, max(1, int(lease * 1000))]))

    def release_group(self, destination: str, group_key: str, holder: str) -> None:
        self._release(keys=[f"{PREFIX}{destination}:sending:{group_key}"], args=[holder])

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
