"""Delivery policy: retry bounds, lease and backoff, resolved once from the environment."""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass

from alert_worker.channels import env
from alert_worker.channels.exceptions import DestinationConfigError


@dataclass(frozen=True)
class DeliveryPolicy:
    """How long and how often a notification is retried.

    `lease` bounds one send attempt: another worker may take a claimed notification over only
    after it expires, so it must exceed the channel timeout (the crash-recovery delay).
    A backoff longer than half the broker's visibility timeout is waited out in several countdowns
    (see `alert_worker.delivery.tasks.countdown`); the outbox refuses an attempt before it is due.
    """

    max_age: float = 6 * 3600.0
    lease: float = 25.0
    backoff_base: float = 2.0
    backoff_cap: float = 300.0
    #: Waits up to this long happen inside the worker (token bucket, Retry-After); longer ones re-queue.
    max_inline_wait: float = 60.0
    #: How long sent/dead records are kept so a late duplicate is still recognised.
    retention: float = 7 * 86400.0


def backoff_delay(attempt: int, policy: DeliveryPolicy, rng: random.Random) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, capped."""
    ceiling = min(policy.backoff_cap, policy.backoff_base * 2.0 ** max(0, attempt - 1))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def _seconds(environ: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value >= minimum:
        raise DestinationConfigError(f"{name}={raw!r}: expected a number of seconds >= {minimum:g}")
    return value


def resolve_policy(environ: Mapping[str, str] | None = None, **overrides: float) -> DeliveryPolicy:
    """Arguments, then environment, then defaults."""
    environ = os.environ if environ is None else environ
    base = DeliveryPolicy()
    values = {
        "max_age": _seconds(environ, env.HERON_ALERTS_DELIVERY_MAX_AGE, base.max_age, 1.0),
        "lease": _seconds(environ, env.HERON_ALERTS_DELIVERY_LEASE, base.lease, 1.0),
    }
    values.update(overrides)
    return DeliveryPolicy(**{**base.__dict__, **values})
