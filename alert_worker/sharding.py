"""Which shard evaluates which rule group: rendezvous (highest random weight) hashing over the live shards.

Every (group, shard) pair gets a weight from a stable hash; a group belongs to the live shard with the
highest weight. So the owner depends only on the group's name and the set of live shards (the same in
every process, across restarts), each group has exactly one owner, and when a shard leaves only its own
groups move, spread over the survivors; when it comes back it takes exactly those groups back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from alert_worker.exceptions import ConfigError


def weight(group: str, shard: int) -> int:
    """The stable weight of `group` on `shard` (64 bits of BLAKE2b; the same in every process)."""
    digest = hashlib.blake2b(f"{shard}\x00{group}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner(group: str, shards: Iterable[int]) -> int | None:
    """The shard that evaluates `group` while `shards` are live, or None when none is."""
    return max(shards, key=lambda shard: (weight(group, shard), -shard), default=None)


def assignment(groups: Iterable[str], shards: Iterable[int]) -> dict[str, int | None]:
    """Each group's owner among `shards`."""
    live = sorted(set(shards))
    return {group: owner(group, live) for group in groups}


def shard_queue(eval_queue: str, shard: int) -> str:
    """The Celery queue the workers of `shard` consume its groups' evaluations from."""
    return f"{eval_queue}.shard{shard}"


def eval_route(group: str, eval_queue: str, pinned: Mapping[str, str], live: Iterable[int]) -> str:
    """The queue of `group`'s next evaluation.

    A group pinned to a queue in the routing file stays there; the others go to their owner's shard
    queue, or to the shared evaluation queue (which every worker consumes) when no shard is live.
    """
    if group in pinned:
        return pinned[group]
    shard = owner(group, live)
    return eval_queue if shard is None else shard_queue(eval_queue, shard)


def check_shard(shards: int | None, shard: int | None, role: str = "all") -> tuple[int, int] | None:
    """`(shards, shard)` of a worker started with `--shards N --shard I`, None for an unsharded one.

    Raises ConfigError naming the flag, its value and what is allowed.
    """
    if shards is None and shard is None:
        return None
    if shards is None or shard is None:
        flag, value = ("--shards", shards) if shard is None else ("--shard", shard)  # the one given
        raise ConfigError(flag, value, "--shards N and --shard I go together (I from 0 to N-1)")
    if role == "deliver":
        raise ConfigError("--shard", shard, "shards divide rule evaluation; leave it out for --role deliver")
    if shards < 1:
        raise ConfigError("--shards", shards, "the number of shards must be at least 1")
    if not 0 <= shard < shards:
        raise ConfigError("--shard", shard, f"shards are numbered 0 to {shards - 1} (with --shards {shards})")
    return shards, shard
