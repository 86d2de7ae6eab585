"""docker-compose.yml, checked by structure (no Docker engine runs on the test machines)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from heron_stack.components import PinnedModule
from heron_stack.config import PROJECT_DIR
from heron_stack.services import AUTH_OVERLAY

COMPOSE = PROJECT_DIR / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def test_collector_image_is_the_version_the_builder_manifest_pins(compose: dict[str, Any]) -> None:
    manifest = yaml.safe_load((PROJECT_DIR / "build" / "otelcol-builder.yaml").read_text())
    image = compose["services"]["otel-collector"]["image"]
    assert image == f"otel/opentelemetry-collector-contrib:{manifest['dist']['version']}"


def test_victorialogs_image_is_the_version_heron_installs(compose: dict[str, Any]) -> None:
    pin = PinnedModule.read(PROJECT_DIR / "build" / "versions.yaml", "victorialogs")
    assert compose["services"]["victorialogs"]["image"] == pin.image_ref
    collector_env = compose["services"]["otel-collector"]["environment"]
    assert collector_env["HERON_VICTORIALOGS_OTLP_ENDPOINT"] == "http://victorialogs:9428/insert/opentelemetry/v1/logs"


def test_grafana_gets_the_victorialogs_plugin(compose: dict[str, Any]) -> None:
    env = compose["services"]["grafana"]["environment"]
    assert "victoriametrics-logs-datasource" in env["GF_INSTALL_PLUGINS"].split(",")
    assert env["HERON_VICTORIALOGS_URL"] == "http://victorialogs:9428"


def test_prometheus_is_the_v3_release_the_tests_build_with_remote_write_receiver(compose: dict[str, Any]) -> None:
    pin = PinnedModule.read(PROJECT_DIR / "build" / "versions.yaml", "prometheus")
    prom = compose["services"]["prometheus"]
    assert pin.release == "v3.16.0"  # module v0.316.0
    assert prom["image"] == pin.image_ref
    assert "--web.enable-remote-write-receiver" in prom["command"]


def test_every_service_has_a_memory_limit_and_a_health_signal(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, svc in services.items():
        assert svc.get("mem_limit"), f"{name} has no mem_limit"
        # The agent listens on no port: its health is its data (the Fleet dashboard's "last seen").
        if name not in {"otel-collector", "otel-agent"}:
            assert "healthcheck" in svc, f"{name} has no healthcheck"
    # The collector image has no shell: a sidecar probes its health_check extension from outside.
    probe = services["otel-collector-health"]["healthcheck"]["test"]
    assert "http://otel-collector:13133/" in probe


def test_dependencies_wait_for_health_where_a_healthcheck_exists(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, svc in services.items():
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            expected = "service_healthy" if "healthcheck" in services[dep] else "service_started"
            assert cond["condition"] == expected, f"{name} -> {dep}"


def test_named_volumes_are_declared_and_bind_mounts_exist(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, svc in compose["services"].items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source == "/":
                assert name == "otel-agent", f"only the agent may mount the host root, not {name}"
                assert volume.endswith(":ro,rslave"), "the host root is mounted read-only"
            elif source.startswith("./"):
                if "grafana" in source:
                    continue  # provisioning lands with the dashboards
                assert (PROJECT_DIR / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared, f"{name} uses undeclared volume {source}"


def test_auth_override_uses_the_same_overlay_as_heron_up() -> None:
    override = yaml.safe_load((PROJECT_DIR / "deploy" / "compose.auth.yml").read_text())
    command = override["services"]["otel-collector"]["command"]
    assert [c.removeprefix("--config=") for c in command[1:]] == list(AUTH_OVERLAY)


def test_configs_are_shared_with_the_native_stack(compose: dict[str, Any]) -> None:
    mounts = {v.split(":")[0] for svc in compose["services"].values() for v in svc.get("volumes", [])}
    assert {"./otel-collector.yaml", "./prometheus"} <= mounts
    assert Path(PROJECT_DIR / ".env.example").exists()


def test_the_agent_reads_the_host_read_only_with_its_namespaces(compose: dict[str, Any]) -> None:
    agent = compose["services"]["otel-agent"]
    assert agent["network_mode"] == "host"
    assert agent["pid"] == "host"
    assert "/:/hostfs:ro,rslave" in agent["volumes"]
