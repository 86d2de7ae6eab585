"""One stack definition: docker-compose.yml agrees with the specs `heron up` builds, field by field."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from heron_stack.composecheck import Problem
from heron_stack.composecheck.drift import drift, flag_values, to_host
from heron_stack.config import PROJECT_DIR
from heron_stack.stack_table import ALERT_COMMANDS, PROMETHEUS_FLAGS, REDIS_PERSISTENCE, SHARED
from tests.fixtures.compose import SCENARIOS, Scenario

Edit = Callable[[dict[str, Any]], None]


def _drift(scenario: Scenario, tmp_path: Path, edit: Edit | None = None) -> list[Problem]:
    raw, document = scenario.compose()
    if edit is not None:
        edit(raw)
        edit(document)
    return drift(scenario.native(tmp_path), raw, document, scenario.config(tmp_path))


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_compose_agrees_with_heron_up(scenario: Scenario, tmp_path: Path) -> None:
    problems = _drift(scenario, tmp_path)
    assert not problems, "docker-compose.yml drifted from heron up:\n" + "\n".join(map(str, problems))


def test_the_table_covers_every_infrastructure_and_alert_service() -> None:
    assert {entry.native for entry in SHARED} >= {
        "redis",
        "prometheus",
        "victorialogs",
        "collector",
        "mailsink",
        "alert-api",
        "alert-worker",
        "alert-sender",
        "alert-beat",
        "loadgen",
    }


def test_heron_up_builds_its_commands_from_the_table(tmp_path: Path) -> None:
    specs = SCENARIOS[0].native(tmp_path)
    for name, command in ALERT_COMMANDS.items():
        assert list(specs[name].argv) == [sys.executable, "-m", "alert_worker", *command]
    prometheus = list(specs["prometheus"].argv)
    assert all(flag in prometheus for flag in PROMETHEUS_FLAGS)
    redis = list(specs["redis"].argv)
    start = redis.index(REDIS_PERSISTENCE[0])
    assert tuple(redis[start : start + len(REDIS_PERSISTENCE)]) == REDIS_PERSISTENCE


def test_flag_values_in_every_form() -> None:
    args = ["--a=1", "--b", "2", "--c", "--d=x", "--d=y", "-single=v"]
    assert flag_values(args, "--a") == ["1"]
    assert flag_values(args, "--b") == ["2"]
    assert flag_values(args, "--c") == [""]
    assert flag_values(args, "--d") == ["x", "y"]
    assert flag_values(args, "-single") == ["v"]
    assert flag_values(args, "--e") == []


def test_container_paths_read_through_bind_mounts() -> None:
    mounts = {"/etc/heron/rules": PROJECT_DIR / "prometheus" / "rules", "/etc/heron": PROJECT_DIR / "x"}
    rules = PROJECT_DIR / "prometheus" / "rules"
    assert to_host("/etc/heron/rules/*.yml,/etc/heron/rules/a.yaml", mounts) == f"{rules}/*.yml,{rules}/a.yaml"
    assert to_host("/etc/heron/rulesX", mounts) == f"{PROJECT_DIR / 'x'}/rulesX"
    assert to_host("http://etc/heron/rules", mounts) == "http://etc/heron/rules"


def _service(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def get(doc: dict[str, Any]) -> dict[str, Any]:
        service: dict[str, Any] = doc["services"][name]
        return service

    return get


def stale_collector_image(doc: dict[str, Any]) -> None:
    _service("otel-collector")(doc)["image"] = "otel/opentelemetry-collector-contrib:0.158.0"


def stale_victorialogs_image(doc: dict[str, Any]) -> None:
    _service("victorialogs")(doc)["image"] = "victoriametrics/victoria-logs:v1.50.0"


def other_redis_image(doc: dict[str, Any]) -> None:
    _service("redis")(doc)["image"] = "valkey/valkey:8"


def evaluate_pool_resized(doc: dict[str, Any]) -> None:
    _service("alert-worker")(doc)["command"] = ["worker", "--role", "evaluate", "--concurrency", "8"]


def sender_runs_the_wrong_role(doc: dict[str, Any]) -> None:
    _service("alert-sender")(doc)["command"] = ["worker", "--role", "evaluate", "--concurrency", "4"]


def beat_runs_a_worker(doc: dict[str, Any]) -> None:
    _service("alert-beat")(doc)["command"] = ["worker"]


def remote_write_receiver_dropped(doc: dict[str, Any]) -> None:
    _service("prometheus")(doc)["command"].remove("--web.enable-remote-write-receiver")


def shorter_prometheus_retention(doc: dict[str, Any]) -> None:
    command = _service("prometheus")(doc)["command"]
    command[command.index("--storage.tsdb.retention.time=35d")] = "--storage.tsdb.retention.time=15d"


def victorialogs_retention_default(doc: dict[str, Any]) -> None:
    command = _service("victorialogs")(doc)["command"]
    command[1] = "-retentionPeriod=30d"


def redis_without_fsync(doc: dict[str, Any]) -> None:
    _service("redis")(doc)["command"] = ["redis-server", "--appendonly", "yes", "--appendfsync", "no", "--save", "60 1"]


def collector_reads_another_config(doc: dict[str, Any]) -> None:
    _service("otel-collector")(doc)["command"] = ["--config=/etc/heron/other.yaml"]


def undocumented_flag(doc: dict[str, Any]) -> None:
    _service("victorialogs")(doc)["command"].append("-search.maxQueryDuration=1m")


def setting_dropped(doc: dict[str, Any]) -> None:
    del _service("otel-collector")(doc)["environment"]["HERON_VICTORIALOGS_OTLP_ENDPOINT"]


def wrong_address(doc: dict[str, Any]) -> None:
    _service("alert-worker")(doc)["environment"]["HERON_ALERTS_REDIS_URL"] = "redis://redis:6380/0"


def undocumented_compose_setting(doc: dict[str, Any]) -> None:
    _service("alert-beat")(doc)["environment"]["HERON_ALERTS_BEAT_INTERVAL"] = "5"


def rules_not_mounted(doc: dict[str, Any]) -> None:
    del _service("alert-worker")(doc)["volumes"]


def port_variable_renamed(doc: dict[str, Any]) -> None:
    _service("prometheus")(doc)["ports"] = ["${HERON_PROM_PORT:-9090}:9090"]


def extra_published_port(doc: dict[str, Any]) -> None:
    _service("redis")(doc)["ports"] = ["${HERON_REDIS_PORT:-6379}:6379"]


def built_from_another_dockerfile(doc: dict[str, Any]) -> None:
    _service("loadgen")(doc)["build"]["dockerfile"] = "deploy/alert-worker/Dockerfile"


def service_missing(doc: dict[str, Any]) -> None:
    del doc["services"]["alert-sender"]


DRIFTS: list[tuple[Edit, str, str, str]] = [
    (stale_collector_image, "otel-collector", "image", "0.159.0"),
    (stale_victorialogs_image, "victorialogs", "image", "v1.52.2"),
    (other_redis_image, "redis", "image", "not the redis image"),
    (evaluate_pool_resized, "alert-worker", "command --concurrency", "['8'] where heron up passes ['2']"),
    (sender_runs_the_wrong_role, "alert-sender", "command --role", "['evaluate'] where heron up passes ['deliver']"),
    (beat_runs_a_worker, "alert-beat", "command", "subcommand ['worker'] where heron up runs ['beat']"),
    (remote_write_receiver_dropped, "prometheus", "command --web.enable-remote-write-receiver", "[]"),
    (shorter_prometheus_retention, "prometheus", "command --storage.tsdb.retention.time", "['15d']"),
    (victorialogs_retention_default, "victorialogs", "command -retentionPeriod", "heron up passes ['7d']"),
    (redis_without_fsync, "redis", "command --appendfsync", "['no'] where heron up passes ['everysec']"),
    (collector_reads_another_config, "otel-collector", "command --config", "otel-collector.yaml"),
    (undocumented_flag, "victorialogs", "command -search.maxQueryDuration", "not documented"),
    (setting_dropped, "otel-collector", "environment.HERON_VICTORIALOGS_OTLP_ENDPOINT", "compose does not"),
    (wrong_address, "alert-worker", "environment.HERON_ALERTS_REDIS_URL", "redis://127.0.0.1:6379/0"),
    (undocumented_compose_setting, "alert-beat", "environment.HERON_ALERTS_BEAT_INTERVAL", "only compose"),
    (rules_not_mounted, "alert-worker", "environment.HERON_ALERTS_RULE_FILES", "/etc/heron/rules/*.rules.yml"),
    (port_variable_renamed, "prometheus", "ports 9090", "${HERON_PROMETHEUS_PORT:-9090}"),
    (extra_published_port, "redis", "port redis", "the two stacks agree"),
    (built_from_another_dockerfile, "loadgen", "build.dockerfile", "deploy/loadgen/Dockerfile"),
    (service_missing, "alert-sender", "services", "missing from compose"),
]


@pytest.mark.parametrize(("edit", "service", "field", "says"), DRIFTS, ids=[d[0].__name__ for d in DRIFTS])
def test_drift_is_reported_naming_service_and_field(
    edit: Edit, service: str, field: str, says: str, tmp_path: Path
) -> None:
    problems = _drift(SCENARIOS[0], tmp_path, edit)
    matching = [p for p in problems if p.service == service and p.field == field]
    assert matching, f"expected drift at {service}.{field}, got: {[str(p) for p in problems]}"
    assert says in str(matching[0])
    assert str(matching[0]).startswith(f"service {service!r}, field {field!r}: ")


def test_the_auth_overlay_must_give_heron_s_services_the_token(tmp_path: Path) -> None:
    def forget_loadgen(doc: dict[str, Any]) -> None:
        del doc["services"]["loadgen"]["environment"]["OTEL_EXPORTER_OTLP_HEADERS"]

    problems = _drift(SCENARIOS[1], tmp_path, forget_loadgen)
    assert [(p.service, p.field) for p in problems] == [("loadgen", "environment.OTEL_EXPORTER_OTLP_HEADERS")]


def test_the_command_line_check_passes_on_the_real_files(capsys: pytest.CaptureFixture[str]) -> None:
    from heron_stack.composecheck.__main__ import main

    assert main([]) == 0
    assert main(["HERON_OTLP_TOKEN=t", "HERON_VICTORIALOGS_RETENTION=2w"]) == 0
    assert "0 problem(s)" in capsys.readouterr().err
