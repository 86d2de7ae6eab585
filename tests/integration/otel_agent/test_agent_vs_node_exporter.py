"""The agent's kernel families agree with node_exporter's on the same host, read at nearly the same moment.

Each comparison brackets one agent reading between two node_exporter scrapes (before, agent, after):
- counters only grow, so the agent's value must lie between the two scrapes, exactly;
- settings (MTU, limits, link state) must be equal;
- gauges that other processes move (open file handles, tracked connections, clock offset) must lie
  between the two scrapes widened by a small slack, stated beside each one.
A family the host lacks (no PSI, no conntrack module) must be absent from both.
"""

from __future__ import annotations

import httpx
import pytest

from otel_agent.collectors import Pipeline
from otel_agent.models import Point
from otel_agent.sources.procfs import ProcfsSource
from tests.fixtures.node_exporter import Samples, node_exporter, parse_samples

pytestmark = pytest.mark.integration

# node_exporter's collectors for the families compared here; the rest stay off so a scrape takes ~ms.
COLLECTORS = ("stat", "filefd", "pressure", "netclass", "netstat", "conntrack", "timex")
FLOAT_EPS = 1e-9  # node_exporter divides µs by 1e3 twice, the agent by 1e6 once: last-digit differences


class Bracket:
    """node_exporter scrapes taken just before and just after one agent cycle."""

    def __init__(self, before: Samples, points: list[Point], after: Samples) -> None:
        self.before, self.after = before, after
        self.points = points

    def agent(self, name: str, **attrs: str) -> float | None:
        want = set(attrs.items())
        found = [p.value for p in self.points if p.name == name and want <= {(k, str(v)) for k, v in p.attrs}]
        assert len(found) <= 1, f"{name}{attrs}: more than one point"
        return float(found[0]) if found else None

    def node(self, name: str, **labels: str) -> tuple[float, float] | None:
        key = tuple(sorted(labels.items()))
        if key not in self.before.get(name, {}):
            return None
        return self.before[name][key], self.after[name][key]

    def counter(self, agent_name: str, node_name: str, attrs: dict[str, str] | None = None, **labels: str) -> float:
        value, node = self.agent(agent_name, **(attrs or {})), self.node(node_name, **labels)
        assert node is not None, f"node_exporter has no {node_name}{labels}"
        assert value is not None, f"the agent has no {agent_name}{attrs or ''} while node_exporter has {node_name}"
        before, after = node
        assert before - FLOAT_EPS <= value <= after + FLOAT_EPS, f"{agent_name}: {value} not in [{before}, {after}]"
        return value

    def gauge(self, agent_name: str, node_name: str, slack: float, attrs: dict[str, str] | None = None) -> float:
        value, node = self.agent(agent_name, **(attrs or {})), self.node(node_name)
        assert node is not None, f"node_exporter has no {node_name}"
        assert value is not None, f"the agent has no {agent_name}{attrs or ''}"
        low, high = min(node) - slack, max(node) + slack
        assert low <= value <= high, f"{agent_name}: {value} not in [{low}, {high}] (node_exporter {node})"
        return value

    def same(self, agent_name: str, node_name: str, attrs: dict[str, str] | None = None, **labels: str) -> None:
        value, node = self.agent(agent_name, **(attrs or {})), self.node(node_name, **labels)
        assert node is not None, f"node_exporter has no {node_name}{labels}"
        assert value is not None, f"the agent has no {agent_name}{attrs or ''}"
        assert value == node[0] == node[1], f"{agent_name}{attrs}: {value}, node_exporter {node}"


@pytest.fixture(scope="module")
def bracket() -> Bracket:
    source, pipeline = ProcfsSource("/"), Pipeline()
    with node_exporter(COLLECTORS) as ne, httpx.Client() as client:
        ne.scrape_text(client)  # warm the connection so the three reads sit close together
        before = ne.scrape_text(client)
        points, _ = pipeline.build(source.read())
        after = ne.scrape_text(client)
    return Bracket(parse_samples(before), points, parse_samples(after))


def test_context_switches_and_interrupts(bracket: Bracket) -> None:
    assert bracket.counter("system.context_switches", "node_context_switches_total") > 0
    assert bracket.counter("system.interrupts", "node_intr_total") > 0


def test_file_descriptors(bracket: Bracket) -> None:
    bracket.same("system.linux.file_descriptor.limit", "node_filefd_maximum")
    # Other processes open and close files between the reads (a few ms); 2 % of the handles in use plus
    # a few dozen bounds that churn on a busy test host and still fails on a wrong field: the limit is
    # orders of magnitude larger and the "free" column is always 0.
    allocated = bracket.node("node_filefd_allocated")
    assert allocated is not None
    bracket.gauge("system.linux.file_descriptor.count", "node_filefd_allocated", slack=max(allocated) * 0.02 + 32)


def test_pressure_stall_time_per_resource(bracket: Bracket) -> None:
    pairs = [
        ("cpu", "some", "node_pressure_cpu_waiting_seconds_total"),
        ("memory", "some", "node_pressure_memory_waiting_seconds_total"),
        ("memory", "full", "node_pressure_memory_stalled_seconds_total"),
        ("io", "some", "node_pressure_io_waiting_seconds_total"),
        ("io", "full", "node_pressure_io_stalled_seconds_total"),
    ]
    if bracket.node("node_pressure_cpu_waiting_seconds_total") is None:  # kernel without PSI: absent on both
        assert bracket.agent("system.linux.pressure.stall_time", **{"system.linux.pressure.resource": "cpu"}) is None
        return
    for resource, scope, node_name in pairs:
        attrs = {"system.linux.pressure.resource": resource, "system.linux.pressure.scope": scope}
        bracket.counter("system.linux.pressure.stall_time", node_name, attrs)


def test_link_state_mtu_and_speed_per_interface(bracket: Bracket) -> None:
    devices = {dict(labels)["device"] for labels in bracket.before["node_network_mtu_bytes"]}
    agent_devices = {
        str(dict(p.attrs)["network.interface.name"]) for p in bracket.points if p.name == "system.network.interface.mtu"
    }
    assert agent_devices == devices
    for device in devices:
        attrs = {"network.interface.name": device}
        bracket.same("system.network.interface.up", "node_network_up", attrs, device=device)
        bracket.same("system.network.interface.mtu", "node_network_mtu_bytes", attrs, device=device)
        if bracket.node("node_network_carrier", device=device) is not None:
            bracket.same("system.network.interface.carrier", "node_network_carrier", attrs, device=device)
        else:  # the kernel refuses the read while the link is down: neither reports it
            assert bracket.agent("system.network.interface.carrier", **attrs) is None
        speed = bracket.node("node_network_speed_bytes", device=device)
        if speed is not None and speed[0] >= 0:
            bracket.same("system.network.interface.speed", "node_network_speed_bytes", attrs, device=device)
        else:  # node_exporter 1.5 passes the driver's -1 ("unknown") through; the agent reports no speed
            assert bracket.agent("system.network.interface.speed", **attrs) is None


def test_tcp_retransmits_resets_and_listen_overflows(bracket: Bracket) -> None:
    bracket.counter("system.network.tcp.retransmits", "node_netstat_Tcp_RetransSegs")
    bracket.counter("system.network.tcp.resets", "node_netstat_Tcp_OutRsts")
    bracket.counter("system.network.tcp.listen.overflows", "node_netstat_TcpExt_ListenOverflows")
    bracket.counter("system.network.tcp.listen.drops", "node_netstat_TcpExt_ListenDrops")


@pytest.mark.parametrize(("ip", "prefix"), [("ipv4", "Udp"), ("ipv6", "Udp6")])
def test_udp_errors_by_type(bracket: Bracket, ip: str, prefix: str) -> None:
    for kind, field in (("receive", "InErrors"), ("receive_buffer", "RcvbufErrors"), ("send_buffer", "SndbufErrors")):
        attrs = {"error.type": kind, "network.type": ip}
        bracket.counter("system.network.udp.errors", f"node_netstat_{prefix}_{field}", attrs)
    bracket.counter(
        "system.network.udp.errors", f"node_netstat_{prefix}_NoPorts", {"error.type": "no_port", "network.type": ip}
    )


def test_conntrack_entries_and_limit(bracket: Bracket) -> None:
    if bracket.node("node_nf_conntrack_entries_limit") is None:  # nf_conntrack not loaded: absent on both
        assert bracket.agent("system.network.conntrack.max") is None
        assert bracket.agent("system.network.conntrack.count") is None
        return
    bracket.same("system.network.conntrack.max", "node_nf_conntrack_entries_limit")
    # Connections come and go between the reads: 1 % of the limit is far below any misread field.
    limit = bracket.agent("system.network.conntrack.max")
    assert limit is not None
    bracket.gauge("system.network.conntrack.count", "node_nf_conntrack_entries", slack=limit * 0.01)


def test_clock_offset_error_and_sync_state(bracket: Bracket) -> None:
    bracket.same("system.clock.synchronized", "node_timex_sync_status")
    # The time daemon slews the offset continuously; it moves by microseconds between reads.
    bracket.gauge("system.clock.offset", "node_timex_offset_seconds", slack=0.001)
    # maxerror grows by 500 µs per second of the kernel clock until the daemon resets it.
    bracket.gauge("system.clock.max_error", "node_timex_maxerror_seconds", slack=0.01)
