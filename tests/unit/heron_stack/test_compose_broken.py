"""Deliberately broken variants of the real docker-compose.yml: each is rejected, naming service and field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from heron_stack.composecheck import Problem
from heron_stack.composecheck.validate import validate_document
from heron_stack.config import PROJECT_DIR
from tests.fixtures.compose import raw_compose

Edit = Callable[[dict[str, Any]], None]


def _services(doc: dict[str, Any]) -> dict[str, Any]:
    services: dict[str, Any] = doc["services"]
    return services


def missing_mount(doc: dict[str, Any]) -> None:
    _services(doc)["prometheus"]["volumes"][0] = "./prometheus-gone:/etc/prometheus:ro"


def missing_mount_long_syntax(doc: dict[str, Any]) -> None:
    _services(doc)["otel-collector"]["volumes"] = [
        {"type": "bind", "source": "./otel-collector.missing.yaml", "target": "/etc/heron/otel-collector.yaml"}
    ]


def undeclared_volume(doc: dict[str, Any]) -> None:
    _services(doc)["redis"]["volumes"] = ["redis-cache:/data"]


def unknown_top_level_key(doc: dict[str, Any]) -> None:
    doc["service"] = {}


def unknown_service_key(doc: dict[str, Any]) -> None:
    _services(doc)["grafana"]["helthcheck"] = _services(doc)["grafana"].pop("healthcheck")


def unknown_healthcheck_key(doc: dict[str, Any]) -> None:
    _services(doc)["redis"]["healthcheck"]["retry"] = 3


def wrong_type(doc: dict[str, Any]) -> None:
    _services(doc)["redis"]["mem_limit"] = ["256m"]


def healthy_dependency_without_healthcheck(doc: dict[str, Any]) -> None:
    _services(doc)["loadgen"]["depends_on"] = {"otel-collector": {"condition": "service_healthy"}}


def dependency_on_unknown_service(doc: dict[str, Any]) -> None:
    _services(doc)["alert-beat"]["depends_on"]["valkey"] = {"condition": "service_started"}


def curl_in_prometheus(doc: dict[str, Any]) -> None:
    _services(doc)["prometheus"]["healthcheck"]["test"] = ["CMD", "curl", "-f", "http://localhost:9090/-/ready"]


def shell_in_the_distroless_collector(doc: dict[str, Any]) -> None:
    _services(doc)["otel-collector"]["healthcheck"] = {"test": ["CMD-SHELL", "wget -qO- http://localhost:13133/"]}


def curl_in_heron_s_python_image(doc: dict[str, Any]) -> None:
    _services(doc)["alert-api"]["healthcheck"]["test"] = "curl -fsS http://127.0.0.1:9097/api/health"


def entrypoint_missing_from_image(doc: dict[str, Any]) -> None:
    _services(doc)["mailsink"]["entrypoint"] = ["python2", "-m", "heron_stack.mailsink"]


def image_not_in_the_tool_table(doc: dict[str, Any]) -> None:
    _services(doc)["redis"]["image"] = "valkey/valkey:8"


def missing_dockerfile(doc: dict[str, Any]) -> None:
    _services(doc)["loadgen"]["build"]["dockerfile"] = "deploy/loadgen/Containerfile"


def missing_build_context(doc: dict[str, Any]) -> None:
    _services(doc)["alert-api"]["build"]["context"] = "./nowhere"


def missing_env_file(doc: dict[str, Any]) -> None:
    _services(doc)["grafana"]["env_file"] = [".env.grafana"]


def bad_interpolation(doc: dict[str, Any]) -> None:
    _services(doc)["redis"]["command"] = ["redis-server", "--requirepass", "pa$-word"]


BROKEN: list[tuple[Edit, str, str, str]] = [
    (missing_mount, "prometheus", "volumes[0]", "./prometheus-gone"),
    (missing_mount_long_syntax, "otel-collector", "volumes[0]", "otel-collector.missing.yaml"),
    (undeclared_volume, "redis", "volumes[0]", "redis-cache"),
    (unknown_top_level_key, "", "service", "unknown key"),
    (unknown_service_key, "grafana", "helthcheck", "unknown key"),
    (unknown_healthcheck_key, "redis", "healthcheck.retry", "unknown key"),
    (wrong_type, "redis", "mem_limit", "not of type"),
    (healthy_dependency_without_healthcheck, "loadgen", "depends_on.otel-collector.condition", "no healthcheck"),
    (dependency_on_unknown_service, "alert-beat", "depends_on.valkey", "not a service"),
    (curl_in_prometheus, "prometheus", "healthcheck.test", "'curl'"),
    (shell_in_the_distroless_collector, "otel-collector", "healthcheck.test", "'sh'"),
    (curl_in_heron_s_python_image, "alert-api", "healthcheck.test", "'curl'"),
    (entrypoint_missing_from_image, "mailsink", "entrypoint", "'python2'"),
    (image_not_in_the_tool_table, "redis", "image", "valkey/valkey is not in the image tool table"),
    (missing_dockerfile, "loadgen", "build.dockerfile", "Containerfile"),
    (missing_build_context, "alert-api", "build.context", "./nowhere"),
    (missing_env_file, "grafana", "env_file[0]", ".env.grafana"),
    (bad_interpolation, "redis", "command[2]", "'$'"),
]


@pytest.mark.parametrize(("edit", "service", "field", "says"), BROKEN, ids=[b[0].__name__ for b in BROKEN])
def test_a_broken_compose_file_is_rejected_naming_service_and_field(
    edit: Edit, service: str, field: str, says: str
) -> None:
    doc = raw_compose()
    edit(doc)
    problems = validate_document(doc, PROJECT_DIR)
    assert Problem in {type(p) for p in problems}, "the broken file passed"
    matching = [p for p in problems if p.service == service and p.field == field]
    assert matching, f"expected a problem at {service or '(top level)'}.{field}, got: {[str(p) for p in problems]}"
    text = str(matching[0])
    assert says in text
    if service:
        assert f"service {service!r}" in text
    assert f"field {field!r}" in text


def test_the_real_file_is_accepted_so_each_variant_fails_for_its_own_edit() -> None:
    assert validate_document(raw_compose(), PROJECT_DIR) == []


def test_an_optional_env_file_may_be_absent() -> None:
    doc = raw_compose()
    _services(doc)["grafana"]["env_file"] = [{"path": ".env.grafana", "required": False}, ".env.example"]
    assert validate_document(doc, PROJECT_DIR) == []


def test_a_disabled_healthcheck_does_not_count_as_one() -> None:
    doc = raw_compose()
    _services(doc)["redis"]["healthcheck"] = {"disable": True}
    problems = validate_document(doc, PROJECT_DIR)
    assert {(p.service, p.field) for p in problems} >= {
        ("alert-api", "depends_on.redis.condition"),
        ("alert-worker", "depends_on.redis.condition"),
    }
