"""`heron doctor` against the real collector, Prometheus, VictoriaLogs and Redis of the test stack."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from heron_stack import cli
from heron_stack import environment_variables as ev
from heron_stack.doctor import Status, diagnose, exit_code
from heron_stack.doctor.core import default_probes
from tests.fixtures.stack import StackHandle, start_stack
from tests.helpers import wait_for

pytestmark = pytest.mark.integration

INFRA = ("redis", "prometheus", "victorialogs", "collector")


def targets(stack: StackHandle) -> list[dict[str, Any]]:
    resp = httpx.get(f"{stack.prometheus_url}/api/v1/targets", timeout=5)
    return [t for t in resp.json()["data"]["activeTargets"] if t["labels"]["job"] == "otel-collector"]


def test_doctor_passes_the_infrastructure_and_the_canary_and_names_what_heron_up_would_start(
    stack: StackHandle, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in [k for k in os.environ if k.startswith(("HERON_", "OTEL_"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv(ev.HERON_STATE_DIR, str(stack.state_dir))
    for name, port in stack.config.ports.items():
        monkeypatch.setenv(ev.PORT_VARIABLES[name][0], str(port))

    # Prometheus scrapes the collector every 5 s; right after the stack starts, its first scrape may predate it.
    wait_for(
        lambda: (found := targets(stack)) and all(t["health"] == "up" for t in found),
        timeout=30,
        what="Prometheus to scrape the collector",
    )

    code = cli.main(["doctor", "--json", "--timeout", "40"])

    body = json.loads(capsys.readouterr().out)
    checks = body["checks"]
    first = {c["component"]: c for c in reversed(checks)}  # the service check is each component's first line
    for name in INFRA:
        assert first[name]["status"] == "ok", first[name]
        assert first[name]["what"].startswith("ready at ")
    for name in ("agent", "alert-api", "alert-worker", "alert-sender", "alert-beat", "loadgen"):
        assert first[name]["status"] == "fail"
        assert first[name]["what"].startswith("not running")
        assert f"heron up --only {name}" in first[name]["fix"]
    canary = [c for c in checks if c["component"] == "canary"]
    assert [c["status"] for c in canary] == ["ok", "ok"], [c for c in checks if c["status"] != "ok"]
    assert canary[0]["what"].startswith("metric reached Prometheus in ")
    assert canary[1]["what"].startswith("log record reached VictoriaLogs in ")
    assert all(c["data"]["latency_s"] > 0 for c in canary)
    scrape = next(c for c in checks if "collector's self-metrics" in c["what"])
    assert scrape["status"] == "ok", scrape
    assert code == 1


def test_a_stopped_log_store_is_named_and_fails_the_run(stack: StackHandle) -> None:
    stack.stop_service("victorialogs")
    try:
        probes = default_probes(stack.config, timeout=20)
        with probes.http:
            checks = diagnose(stack.config, probes, canary_wait=5)
    finally:
        stack.start_service("victorialogs")

    store = next(c for c in checks if c.component == "victorialogs")
    assert store.status is Status.FAIL
    assert store.what == f"not running (nothing answers on {stack.config.addr('victorialogs')})"
    assert store.fix == "start it: `heron up` (or `heron up --only victorialogs`)"
    canary = [(c.status, c.what.split(" in ")[0]) for c in checks if c.component == "canary"]
    assert canary == [
        (Status.OK, "metric reached Prometheus"),
        (Status.WARN, "logs sent but not followed: VictoriaLogs is not ready"),
    ]
    assert exit_code(checks) == 1


def test_a_port_answered_by_another_service_is_recognised(stack: StackHandle, tmp_path: Path) -> None:
    """The log store's port pointed at the collector's telemetry endpoint: it answers, but not as VictoriaLogs."""
    ports = {**stack.config.ports, "victorialogs": stack.config.port("collector_telemetry")}
    config = dataclasses.replace(stack.config, ports=ports, state_dir=tmp_path)

    probes = default_probes(config, timeout=20)
    with probes.http:
        checks = diagnose(config, probes, canary_wait=5)

    store = next(c for c in checks if c.component == "victorialogs")
    assert store.status is Status.FAIL
    assert store.what.startswith(f"port {ports['victorialogs']} answers but is not VictoriaLogs (404")
    assert store.fix.startswith("set HERON_VICTORIALOGS_PORT to a free port")


def test_a_collector_that_wants_a_token_is_named_when_the_doctor_has_none(
    stack: StackHandle, tmp_path_factory: pytest.TempPathFactory
) -> None:
    secured = start_stack(
        tmp_path_factory.mktemp("doctor-secured"),
        env={ev.HERON_OTLP_TOKEN: "doctor-t0ken"},
        ports={"prometheus": stack.config.port("prometheus"), "victorialogs": stack.config.port("victorialogs")},
        only=["collector"],
    )
    try:
        without = dataclasses.replace(secured.config, otlp_token=None)
        probes = default_probes(without, timeout=20)
        with probes.http:
            refused = [c for c in diagnose(without, probes, canary_wait=5) if c.component == "canary"]
        probes = default_probes(secured.config, timeout=20)
        with probes.http:
            accepted = [c for c in diagnose(secured.config, probes, canary_wait=10) if c.component == "canary"]
    finally:
        secured.stack.down()

    assert [(c.status, c.what) for c in refused] == [
        (Status.FAIL, "the collector refused the metrics canary: 401 Unauthorized"),
        (Status.FAIL, "the collector refused the logs canary: 401 Unauthorized"),
    ]
    assert refused[0].fix.startswith("the collector requires a token: set HERON_OTLP_TOKEN")
    assert [c.status for c in accepted] == [Status.OK, Status.OK]
