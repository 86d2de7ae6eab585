"""Network interface and connection points."""

from __future__ import annotations

from otel_agent.collectors.filters import Filters
from otel_agent.models import Point, Readings


def network_points(r: Readings, filters: Filters) -> list[Point]:
    points: list[Point] = []
    for n in r.network or ():
        if not filters.interface(n.interface):
            continue
        dev = ("network.interface.name", n.interface)
        rx, tx = (dev, ("network.io.direction", "receive")), (dev, ("network.io.direction", "transmit"))
        points += (
            Point("system.network.io", rx, n.rx_bytes),
            Point("system.network.io", tx, n.tx_bytes),
            Point("system.network.packet.count", rx, n.rx_packets),
            Point("system.network.packet.count", tx, n.tx_packets),
            Point("system.network.errors", rx, n.rx_errors),
            Point("system.network.errors", tx, n.tx_errors),
            Point("system.network.packet.dropped", rx, n.rx_dropped),
            Point("system.network.packet.dropped", tx, n.tx_dropped),
        )
    for (transport, state), count in sorted((r.connections or {}).items()):
        attrs: tuple[tuple[str, str | int], ...] = (("network.transport", transport),)
        if state:
            attrs = (*attrs, ("network.connection.state", state))
        points.append(Point("system.network.connection.count", attrs, count))
    return points
