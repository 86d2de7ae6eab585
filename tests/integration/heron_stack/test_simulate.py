"""`heron simulate` through the real collector into Prometheus: every host, every point, and the default rules."""

from __future__ import annotations

import itertools
import os
import re
import time
import uuid
from pathlib import Path

import pytest
import yaml

from heron_stack import cli
from heron_stack.simulate import make_profiles
from tests.fixtures.stack import StackHandle
from tests.helpers import prom_query, wait_for

pytestmark = pytest.mark.integration

RULES = Path(__file__).resolve().parents[3] / "prometheus" / "rules" / "heron-hosts.rules.yml"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("HERON_", "OTEL_")):
            monkeypatch.delenv(key, raising=False)


def _rule_expr(alert: str) -> str:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return next(r["expr"] for g in groups for r in g["rules"] if r.get("alert") == alert)


def _simulate(stack: StackHandle, capsys: pytest.CaptureFixture[str], *flags: str) -> int:
    """Run `heron simulate` in-process; return the points it reports as sent."""
    assert cli.main(["simulate", *flags]) == 0
    out = capsys.readouterr().out
    match = re.search(r"total: (\d+) points sent in \d+ requests, 0 points failed", out)
    assert match, out
    return int(match.group(1))


def _samples(url: str, selector: str) -> int:
    """Samples stored for the selected hosts, counted per metric name (names cannot mix in count_over_time)."""
    names = prom_query(url, f'count by (__name__) ({{{selector}, __name__=~"system_.+|otel_agent_.+"}})')
    total = 0
    for name in (s["metric"]["__name__"] for s in names):
        total += int(float(prom_query(url, f"sum(count_over_time({name}{{{selector}}}[10m]))")[0]["value"][1]))
    return total


def test_a_simulated_fleet_reaches_prometheus_whole_and_the_default_rules_see_it(
    stack: StackHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = f"simit-{uuid.uuid4().hex[:6]}-"
    hosts = 20
    flags = ["--hosts", str(hosts), "--interval", "2", "--cycles", "3", "--seed", "5", "--batch-hosts", "8"]
    sent = _simulate(stack, capsys, *flags, "--prefix", prefix, "--endpoint", stack.otlp_http_endpoint)
    finished = time.time()
    selector = f'host_name=~"{prefix}.+"'
    url = stack.prometheus_url

    cpus = wait_for(
        lambda: (
            len(r := prom_query(url, f"count by (host_name) (system_cpu_utilization_ratio{{{selector}}})")) == hosts
            and r
        ),
        timeout=30,
        what=f"CPU series of all {hosts} simulated hosts",
    )
    # Every host reports its own profile: one series per logical CPU and mode, like the agent.
    cores = {p.name: p.cores for p in make_profiles(hosts, prefix, seed=5)}
    assert {s["metric"]["host_name"]: int(s["value"][1]) for s in cpus} == {h: c * 7 for h, c in cores.items()}

    # No point lost between the simulator and Prometheus: samples stored == points sent.
    wait_for(lambda: _samples(url, selector) == sent, timeout=30, what=f"{sent} samples in Prometheus")

    # The default rule pack works on simulated hosts: HostHighCpu's busy share for every host...
    busy = re.sub(r"\s*>\s*[0-9.]+\s*$", "", _rule_expr("HostHighCpu"))
    values = {s["metric"]["host_name"]: float(s["value"][1]) for s in prom_query(url, busy)}
    assert {h: 0.0 <= v <= 1.0 for h, v in values.items() if h.startswith(prefix)} == dict.fromkeys(cores, True)
    # ...and HostStoppedReporting, unchanged, names every host once they have been silent for 2 minutes.
    stopped = prom_query(url, _rule_expr("HostStoppedReporting"), at=finished + 150)
    assert {s["metric"]["host_name"] for s in stopped if s["metric"]["host_name"].startswith(prefix)} == set(cores)


def test_simulated_hosts_can_report_over_grpc(stack: StackHandle, capsys: pytest.CaptureFixture[str]) -> None:
    prefix = f"simgrpc-{uuid.uuid4().hex[:6]}-"
    _simulate(
        stack, capsys, "--hosts", "4", "--interval", "1", "--cycles", "2",
        "--protocol", "grpc", "--endpoint", stack.otlp_grpc_endpoint, "--prefix", prefix,
    )  # fmt: skip
    wait_for(
        lambda: len(prom_query(stack.prometheus_url, f'system_memory_limit_bytes{{host_name=~"{prefix}.+"}}')) == 4,
        timeout=30,
        what="memory limit of 4 hosts sent over gRPC",
    )


def test_a_pre_encoded_fleet_arrives_whole_with_each_request_stamped_at_its_slot(
    stack: StackHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = f"simpre-{uuid.uuid4().hex[:6]}-"
    hosts = 6
    began = time.time()
    flags = ["--hosts", str(hosts), "--interval", "2", "--cycles", "3", "--batch-hosts", "3", "--pre-encode"]
    sent = _simulate(stack, capsys, *flags, "--prefix", prefix, "--endpoint", stack.otlp_http_endpoint)
    finished = time.time()
    selector = f'host_name=~"{prefix}.+"'
    wait_for(lambda: _samples(stack.prometheus_url, selector) == sent, timeout=30, what=f"{sent} samples stored")
    # Each host's samples are one interval apart, all stamped within the run (the batches were built
    # before it started, for the moment each was due), the second batch half an interval after the first.
    stamps = {
        s["metric"]["host_name"]: [float(t) for t, _ in s["values"]]
        for s in prom_query(stack.prometheus_url, f"system_memory_limit_bytes{{{selector}}}[10m]")
    }
    assert sorted(stamps) == [f"{prefix}{i}" for i in range(hosts)]
    for times in stamps.values():
        assert [abs(b - a - 2.0) <= 0.002 for a, b in itertools.pairwise(times)] == [True, True]  # ms rounding
        assert began <= times[0]
        assert times[-1] <= finished
    assert abs(stamps[f"{prefix}3"][0] - stamps[f"{prefix}0"][0] - 1.0) <= 0.002
