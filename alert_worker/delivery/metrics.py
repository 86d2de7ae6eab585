"""Self-metrics of delivery through the OpenTelemetry API (a no-op until the worker installs an SDK)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

_meter = metrics.get_meter("alert_worker.delivery")

#: Notifications by outcome: sent, retry, dead, duplicate, busy.
notifications = _meter.create_counter(
    "heron.alerts.notifications", unit="{notification}", description="Notification delivery attempts by outcome"
)
#: Time spent in one channel send.
send_duration = _meter.create_histogram(
    "heron.alerts.notification.duration", unit="s", description="Duration of one channel send"
)
#: Transitions of a destination to unhealthy (permanent failures such as a revoked token).
unhealthy_transitions = _meter.create_counter(
    "heron.alerts.destination.unhealthy", unit="{transition}", description="Destinations marked unhealthy"
)


PRIMED_OUTCOMES = ("sent", "retry", "dead")


def prime(destinations: Iterable[tuple[str, str]]) -> None:
    """Start every (destination, channel type) series at 0 so the first real notification counts.

    A counter series that first appears at 1 shows no increase in `rate()`/`increase()`; dashboards
    would miss the first notification of each worker process.
    """
    for name, kind in destinations:
        for outcome in PRIMED_OUTCOMES:
            notifications.add(0, {"destination": name, "channel": kind, "outcome": outcome})


def register_health_gauge(read: Callable[[], Iterable[tuple[str, str, bool]]]) -> None:
    """Export ``heron.alerts.destination.health`` (1 healthy, 0 unhealthy) from `read()`.

    `read` yields (destination, channel type, healthy) and runs at each metric collection.
    """

    def observe(_options: CallbackOptions) -> Iterable[Observation]:
        for name, kind, healthy in read():
            yield Observation(1 if healthy else 0, {"destination": name, "channel": kind})

    _meter.create_observable_gauge(
        "heron.alerts.destination.health", callbacks=[observe], unit="1", description="1 if the destination works"
    )
