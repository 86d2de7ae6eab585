"""The doctor's I/O: sockets, Redis, local processes and logs. Checks take these as parameters."""

from __future__ import annotations

import math
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from heron_stack.runner import ServiceState


class Processes(Protocol):
    """What `heron up` recorded about a service (the runner satisfies this)."""

    def state(self, name: str) -> ServiceState: ...


class Sockets(Protocol):
    def listening(self, host: str, port: int, timeout: float) -> bool: ...

    def exchange(self, host: str, port: int, payload: bytes, timeout: float) -> bytes:
        """Send `payload`, return the first bytes of the reply (raises OSError when it cannot)."""
        ...


class RedisReader(Protocol):
    """The few read-only Redis calls the alert engine checks need (strings, not bytes)."""

    def smembers(self, key: str) -> set[str]: ...

    def get(self, key: str) -> str | None: ...

    def hget(self, key: str, field: str) -> str | None: ...

    def pttl(self, key: str) -> int: ...

    def zscores(self, key: str) -> list[tuple[str, float]]: ...

    def newest(self, key: str, count: int) -> list[tuple[str, float]]:
        """The `count` highest-scored members of a sorted set, highest first."""
        ...

    def keys(self, pattern: str) -> list[str]: ...

    def hgetall(self, key: str) -> dict[str, str]: ...

    def close(self) -> None: ...


class TcpSockets:
    def listening(self, host: str, port: int, timeout: float) -> bool:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return True
        except OSError:
            return False

    def exchange(self, host: str, port: int, payload: bytes, timeout: float) -> bytes:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(payload)
            return sock.recv(256)


class RedisPyReader:
    """RedisReader on redis-py (the `doctor` extra), with short socket timeouts."""

    def __init__(self, url: str, timeout: float) -> None:
        import redis

        self._r: Any = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True
        )

    def smembers(self, key: str) -> set[str]:
        return set(self._r.smembers(key))

    def get(self, key: str) -> str | None:
        value = self._r.get(key)
        return None if value is None else str(value)

    def hget(self, key: str, field: str) -> str | None:
        value = self._r.hget(key, field)
        return None if value is None else str(value)

    def pttl(self, key: str) -> int:
        return int(self._r.pttl(key))

    def zscores(self, key: str) -> list[tuple[str, float]]:
        return [(str(member), float(score)) for member, score in self._r.zrange(key, 0, -1, withscores=True)]

    def newest(self, key: str, count: int) -> list[tuple[str, float]]:
        return [(str(m), float(s)) for m, s in self._r.zrevrange(key, 0, count - 1, withscores=True)]

    def keys(self, pattern: str) -> list[str]:
        return sorted(str(k) for k in self._r.scan_iter(match=pattern, count=500))

    def hgetall(self, key: str) -> dict[str, str]:
        return {str(k): str(v) for k, v in self._r.hgetall(key).items()}

    def close(self) -> None:
        self._r.close()


def log_tail(path: Path, lines: int = 5) -> list[str]:
    """The last non-empty lines of a log file (empty when there is none)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, 2)
            fh.seek(max(0, fh.tell() - 16384))
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    return [line.rstrip() for line in text.splitlines() if line.strip()][-lines:]


@dataclass
class Probes:
    """Every adapter the checks use, so tests can swap each for a fake."""

    http: httpx.Client
    processes: Processes
    sockets: Sockets = field(default_factory=TcpSockets)
    redis: Callable[[str], RedisReader] | None = None
    which: Callable[[str], str | None] = lambda name: None
    now: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    timeout: float = 2.0
    deadline: float = math.inf
    """On the `monotonic` clock: past it, every call gets only a token timeout, so a run stays bounded."""

    @property
    def call_timeout(self) -> float:
        return max(0.05, min(self.timeout, self.deadline - self.monotonic()))

    def remaining(self) -> float:
        return max(0.0, self.deadline - self.monotonic())
