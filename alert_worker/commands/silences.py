"""`alert-worker silence add|list|expire` against the Redis state."""

from __future__ import annotations

import argparse
import getpass
import sys
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime

from alert_worker.config import resolve_config
from alert_worker.notify.matchers import parse_matcher
from alert_worker.notify.silences import Silence, validate_silence
from alert_worker.rules.durations import parse_duration
from alert_worker.state.redis_store import RedisStore


def _store(args: argparse.Namespace) -> RedisStore:
    return RedisStore.from_url(resolve_config({"redis_url": args.redis_url}).redis_url)


def create_silence(
    matchers: list[str], starts_at: float, ends_at: float, created_by: str, comment: str, now: float
) -> Silence:
    """A validated new silence (ValueError names the bad field)."""
    validate_silence(matchers, starts_at, ends_at, created_by, comment)
    parsed = tuple(parse_matcher(m) for m in matchers)
    return Silence(uuid.uuid4().hex[:12], parsed, starts_at, ends_at, created_by, comment, now)


def add(args: argparse.Namespace) -> int:
    now = time.time()
    try:
        silence = create_silence(args.matcher, now, now + parse_duration(args.duration), args.author, args.comment, now)
    except ValueError as exc:
        print(f"silence add: {exc}", file=sys.stderr)
        return 2
    _store(args).put_silence(silence)
    print(silence.id)
    return 0


def list_(args: argparse.Namespace) -> int:
    now = time.time()
    for s in _store(args).list_silences():
        state = s.state(now)
        if state == "expired" and not args.all:
            continue
        ends = datetime.fromtimestamp(s.ends_at, tz=UTC).strftime("%Y-%m-%d %H:%M")
        print(f"{s.id}  {state:8} until {ends}  {' '.join(map(str, s.matchers))}  by {s.created_by}: {s.comment}")
    return 0


def expire(args: argparse.Namespace) -> int:
    store = _store(args)
    silence = store.get_silence(args.id)
    if silence is None:
        print(f"silence expire: no silence with id {args.id!r}; see `alert-worker silence list`", file=sys.stderr)
        return 2
    now = time.time()
    store.put_silence(replace(silence, ends_at=min(silence.ends_at, now)))
    print(f"expired {args.id}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sil = sub.add_parser("silence", help="mute alerts by label matchers")
    sil.add_argument("--redis-url", default=None)
    ssub = sil.add_subparsers(dest="silence_cmd", required=True)
    p = ssub.add_parser("add", help="add a silence")
    p.add_argument("matcher", nargs="+", help='label matchers such as host_name="web-1"')
    p.add_argument("--duration", default="2h")
    p.add_argument("--author", default=getpass.getuser())
    p.add_argument("--comment", required=True)
    p.set_defaults(func=add)
    p = ssub.add_parser("list", help="list active and pending silences")
    p.add_argument("--all", action="store_true", help="include expired silences")
    p.set_defaults(func=list_)
    p = ssub.add_parser("expire", help="end a silence now")
    p.add_argument("id")
    p.set_defaults(func=expire)
