"""Per-destination token bucket in Redis, shared by every worker, first come first served.

One Lua script refills the bucket from Redis' own clock (so worker clocks do not matter),
honours a pause set from a Retry-After answer, and grants tokens only to the oldest waiter
(ordered by the notification's creation time), so a burst is sent in order at the allowed rate.
The granted waiter keeps the head until it calls `release` (its delivery attempt ended), so one
message per destination is in flight at a time and a message refused with 429 is retried
before the next one is sent.

A notification takes its place when it is queued (`announce`), before any worker can pick it up,
so a worker that starts on a newer notification waits for the older ones however the workers
are scheduled. A waiter that shows no sign of life for `stale_after` seconds (queued and never
picked up, or its worker died) is skipped so one lost task cannot hold a destination up; it
takes its place back when a worker polls for it again. A notification that was never announced
(queued by an older version) takes a token only after `settle` seconds, so workers that picked
up older jobs at the same moment have registered first.
"""

from __future__ import annotations

from typing import Protocol

import redis
from redis.typing import EncodableT

PREFIX = "heron:ratelimit:"


class RateLimiter(Protocol):
    def announce(self, destination: str, member: str, seq: float) -> None:
        """Take a place in the destination's queue (ordered by `seq`) before the job is queued."""

    def acquire(self, destination: str, member: str, seq: float, rate: float, burst: int) -> float:
        """Take a token and return 0, or return how many seconds to wait before asking again.

        A granted `member` stays first in line until `release`: nobody else sends meanwhile.
        """

    def release(self, destination: str, member: str) -> None:
        """Leave the queue: the send is over, or the caller stops waiting."""

    def pause(self, destination: str, seconds: float) -> None:
        """Send nothing to `destination` for `seconds` (the remote asked for it)."""


_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, burst, member, stale = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[5])
redis.call('ZADD', KEYS[2], 'NX', ARGV[4], member)
redis.call('HSET', KEYS[3], member, tostring(now))
redis.call('HSETNX', KEYS[4], member, tostring(now))
while true do
  local head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  if head == nil or head == member then break end
  local seen = tonumber(redis.call('HGET', KEYS[3], head) or '0')
  if now - seen <= stale then break end
  redis.call('ZREM', KEYS[2], head)
  redis.call('HDEL', KEYS[3], head)
  redis.call('HDEL', KEYS[4], head)
end
for _, k in ipairs(KEYS) do redis.call('EXPIRE', k, 86400) end
local paused = tonumber(redis.call('HGET', KEYS[1], 'paused_until') or '0')
if now < paused then return tostring(paused - now) end
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens') or ARGV[2])
local ts = tonumber(redis.call('HGET', KEYS[1], 'ts') or tostring(now))
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(math.max(now, ts)))
local rank = redis.call('ZRANK', KEYS[2], member)
if rank > 0 then
  return tostring(math.max((rank + 1 - tokens) / rate, 0.02))
end
local waited = now - tonumber(redis.call('HGET', KEYS[4], member))
if waited < tonumber(ARGV[6]) then return tostring(tonumber(ARGV[6]) - waited) end
if tokens >= 1 then
  -- the sender keeps the head while its message is in flight; `release` ends its turn
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1))
  return '0'
end
return tostring((1 - tokens) / rate)
"""
_ANNOUNCE = """
local t = redis.call('TIME')
local now = tostring(tonumber(t[1]) + tonumber(t[2]) / 1000000)
redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], now)
-- "since" 0: an announced job needs no settle time, its place was taken before it could be picked up
redis.call('HSET', KEYS[4], ARGV[1], '0')
for _, k in ipairs(KEYS) do redis.call('EXPIRE', k, 86400) end
"""
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local untl = now + tonumber(ARGV[1])
local current = tonumber(redis.call('HGET', KEYS[1], 'paused_until') or '0')
if untl > current then
  -- exactly one token becomes available when the pause ends
  redis.call('HSET', KEYS[1], 'paused_until', tostring(untl), 'tokens', '1', 'ts', tostring(untl))
end
redis.call('EXPIRE', KEYS[1], 86400)
"""


class RedisRateLimiter:
    """`RateLimiter` on Redis; global across worker processes and hosts."""

    def __init__(self, client: redis.Redis, *, stale_after: float = 10.0, settle: float = 0.05) -> None:
        self._r = client
        self._stale = stale_after
        self._settle = settle
        self._acquire = client.register_script(_ACQUIRE)
        self._announce = client.register_script(_ANNOUNCE)
        self._pause = client.register_script(_PAUSE)

    @staticmethod
    def _keys(destination: str) -> list[str]:
        base = PREFIX + destination
        return [base, base + ":waiters", base + ":seen", base + ":since"]

    def announce(self, destination: str, member: str, seq: float) -> None:
        self._announce(keys=self._keys(destination), args=[member, repr(seq)])

    def acquire(self, destination: str, member: str, seq: float, rate: float, burst: int) -> float:
        args: list[EncodableT] = [repr(rate), burst, member, repr(seq), repr(self._stale), repr(self._settle)]
        wait = self._acquire(keys=self._keys(destination), args=args)
        return float(wait.decode() if isinstance(wait, bytes) else wait)

    def release(self, destination: str, member: str) -> None:
        keys = self._keys(destination)
        pipe = self._r.pipeline()
        pipe.zrem(keys[1], member)
        pipe.hdel(keys[2], member)
        pipe.hdel(keys[3], member)
        pipe.execute()

    def pause(self, destination: str, seconds: float) -> None:
        self._pause(keys=self._keys(destination)[:1], args=[repr(seconds)])
