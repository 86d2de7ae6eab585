"""Live shards in Redis: each sharded worker refreshes a key with a TTL; beat routes to the live ones.

Keys (per evaluation queue, so two deployments can share a Redis):
`heron:alerts:shards:<queue>` is the set of shard numbers ever seen, `heron:alerts:shards:<queue>:<n>` the
member key of shard n, which expires `ttl_s` after its worker's last heartbeat (Redis' own clock).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import redis

log = logging.getLogger(__name__)
PREFIX = "heron:alerts:shards:"


class ShardMembers:
    """Membership of the shards of one evaluation queue."""

    def __init__(self, client: redis.Redis, eval_queue: str, ttl_s: float) -> None:
        self.client, self.ttl_s = client, ttl_s
        self.set_key = f"{PREFIX}{eval_queue}"
        self._cache: tuple[float, list[int]] = (-1.0, [])

    def member_key(self, shard: int) -> str:
        return f"{self.set_key}:{shard}"

    def refresh(self, shard: int, shards: int) -> None:
        """Announce `shard` live for another `ttl_s` (a worker calls it every third of the TTL)."""
        info = json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "shards": shards})
        pipe = self.client.pipeline(transaction=False)
        pipe.sadd(self.set_key, shard)
        pipe.set(self.member_key(shard), info, px=int(self.ttl_s * 1000))
        pipe.execute()

    def leave(self, shard: int) -> None:
        """Give the shard's groups to the others now (a clean shutdown) instead of after the TTL."""
        self.client.delete(self.member_key(shard))

    def live(self) -> list[int]:
        """The shards whose member key has not expired, ascending."""
        known = sorted(int(s) for s in self.client.smembers(self.set_key))
        if not known:
            return []
        values = self.client.mget([self.member_key(s) for s in known])
        return [s for s, v in zip(known, values, strict=True) if v is not None]

    def live_cached(self, max_age_s: float) -> list[int]:
        """`live()`, read at most once per `max_age_s` (beat asks once per task it sends).

        A failed read counts as no live shard for `max_age_s` too: beat sends to the shared queue,
        which every evaluating worker consumes, instead of waiting on Redis again for each task.
        """
        at, shards = self._cache
        now = time.monotonic()
        if now - at >= max_age_s:
            try:
                shards = self.live()
            except redis.RedisError as exc:
                log.warning("cannot read the live shards (%s); using the shared queue for %.1fs", exc, max_age_s)
                shards = []
            self._cache = (now, shards)
        return shards

    def describe(self) -> dict[int, dict[str, Any]]:
        """Each live shard's worker (host, pid, shard count it was started with)."""
        known = sorted(int(s) for s in self.client.smembers(self.set_key))
        values = self.client.mget([self.member_key(s) for s in known]) if known else []
        return {s: json.loads(v) for s, v in zip(known, values, strict=True) if v is not None}


def progressing(running_since: Iterable[float], now: float, stuck_after_s: float) -> bool:
    """Whether a worker makes progress: none of its evaluations has run longer than `stuck_after_s`.

    An idle worker, or one whose evaluations finish in time, progresses. One evaluation running past
    its group's interval plus the broker's visibility timeout is stuck (its task has expired or been
    handed out again), and its worker should give its groups to the others.
    """
    return all(now - started <= stuck_after_s for started in running_since)


class TaskClock:
    """When each pool process's current evaluation started: one file per process in `directory`.

    Evaluations run in prefork children and the heartbeat in the worker's main process; a small file per
    child (written at task_prerun, removed at task_postrun) is what both can see. A child killed mid-task
    leaves its file; files of processes that no longer exist are dropped.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def started(self, pid: int, at: float) -> None:
        (self.directory / str(pid)).write_text(repr(at), encoding="ascii")

    def finished(self, pid: int) -> None:
        (self.directory / str(pid)).unlink(missing_ok=True)

    def running_since(self) -> list[float]:
        found: list[float] = []
        if not self.directory.is_dir():
            return found
        for path in self.directory.iterdir():
            try:
                pid, at = int(path.name), float(path.read_text(encoding="ascii"))
            except (OSError, ValueError):
                continue  # being written or removed right now
            if _alive(pid):
                found.append(at)
            else:
                path.unlink(missing_ok=True)
        return found

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Heartbeat:
    """A thread that keeps one shard's member key alive while its worker runs and makes progress.

    `healthy` (when given) is asked before each refresh; while it says no, the key is left to expire,
    so beat routes the shard's groups to the other shards until the worker progresses again.
    """

    def __init__(
        self, members: ShardMembers, shard: int, shards: int, healthy: Callable[[], bool] | None = None
    ) -> None:
        self.members, self.shard, self.shards, self.healthy = members, shard, shards, healthy
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heron-shard-{shard}", daemon=True)

    def start(self) -> None:
        self._refresh()  # live before the first task can be routed here
        self._thread.start()

    def _refresh(self) -> None:
        if self.healthy is not None and not self.healthy():
            log.warning(
                "shard %d: an evaluation is stuck; not refreshing its member key, so its groups move to the "
                "other shards until the evaluation ends",
                self.shard,
            )
            return
        try:
            self.members.refresh(self.shard, self.shards)
        except redis.RedisError as exc:  # the key may lapse; beat then routes the groups elsewhere
            log.warning("shard %d: cannot refresh its member key (%s); retrying", self.shard, exc)

    def _run(self) -> None:
        while not self._stop.wait(self.members.ttl_s / 3):
            self._refresh()

    def stop(self) -> None:
        self._stop.set()
        try:
            self.members.leave(self.shard)
        except redis.RedisError as exc:
            log.warning("shard %d: cannot remove its member key (%s); it expires by itself", self.shard, exc)
