"""The one resolver: CLI > env > file > defaults, and messages that name field, value and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from otel_agent.cli import main
from otel_agent.config import resolve_config
from otel_agent.exceptions import ConfigError


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.yaml"
    path.write_text(text)
    return path


def test_defaults() -> None:
    c = resolve_config({}, {})
    assert c.interval == 10
    assert c.export.protocol == "http/protobuf"
    assert c.export.compression == "gzip"
    assert c.export.metrics_url() == "http://localhost:4318/v1/metrics"
    assert c.resource.service_name == "otel-agent"
    assert c.processes.top_n == 0


def test_precedence_cli_over_env_over_file(tmp_path: Path) -> None:
    path = _file(tmp_path, "interval: 30\nnaming: hostmetrics\nbuffer:\n  max_cycles: 50\n")
    env = {"HERON_AGENT_INTERVAL": "20", "HERON_AGENT_NAMING": "semconv"}
    c = resolve_config({"interval": 5}, env, path)
    assert c.interval == 5
    assert c.naming == "semconv"
    assert c.buffer.max_cycles == 50
    assert resolve_config({}, env, path).interval == 20
    assert resolve_config({}, {}, path).interval == 30


def test_standard_otel_variables() -> None:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
        "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20abc,x-tenant=t1",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "2500",
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod,service.name=from-attrs",
        "OTEL_METRIC_EXPORT_INTERVAL": "15000",
    }
    c = resolve_config({}, env)
    assert c.export.metrics_url() == "http://collector:4318/v1/metrics"
    assert c.export.headers == {"authorization": "Bearer abc", "x-tenant": "t1"}
    assert c.export.timeout == 2.5
    assert c.resource.attributes == {"deployment.environment": "prod"}
    assert c.resource.service_name == "from-attrs"
    assert c.interval == 15
    c = resolve_config({}, {**env, "OTEL_SERVICE_NAME": "edge", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    assert c.resource.service_name == "edge"
    assert c.export.metrics_url() == "http://collector:4318"


def test_metrics_specific_endpoint_is_used_as_is() -> None:
    c = resolve_config(
        {},
        {"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "https://c:4318/custom", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:1"},
    )
    assert c.export.metrics_url() == "https://c:4318/custom"


@pytest.mark.parametrize(
    ("env", "field", "allowed"),
    [
        ({"HERON_AGENT_INTERVAL": "0.5"}, "interval", "greater than or equal to 1"),
        ({"HERON_AGENT_NAMING": "prom"}, "naming", "'semconv' or 'hostmetrics'"),
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "export.protocol", "'http/protobuf' or 'grpc'"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "export.endpoint", "http:// or https:// URL"),
        ({"HERON_AGENT_BUFFER_MAX_MIB": "-1"}, "buffer.max_mib", "greater than 0"),
        ({"HERON_AGENT_SOURCE": "wmi"}, "source", "'auto', 'procfs' or 'psutil'"),
        ({"HERON_AGENT_BUFFER_MAX_CYCLES": "lots"}, "buffer.max_cycles", "must be an integer"),
        ({"OTEL_EXPORTER_OTLP_CERTIFICATE": "/missing/ca.pem"}, "export.certificate", "existing PEM file"),
    ],
)
def test_bad_values_name_field_value_and_what_is_allowed(env: dict[str, str], field: str, allowed: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_config({}, env)
    message = str(info.value)
    assert f"'{field}'" in message
    assert repr(next(iter(env.values()))) in message
    assert allowed in message
    assert next(iter(env)) in message  # where the value came from


def test_unknown_file_key_and_bad_regex_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"intervall.*unknown setting; allowed here: .*interval"):
        resolve_config({}, {}, _file(tmp_path, "intervall: 5\n"))
    with pytest.raises(ConfigError, match=r"filters.disk_exclude.*regular expression"):
        resolve_config({}, {}, _file(tmp_path, "filters:\n  disk_exclude: '(['\n"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "buffer:\n  max_cylces: 5\n",
            "'buffer.max_cylces' = 5 \\(from file .*\\): unknown setting; allowed here: batch_cycles",
        ),
        ("export: 5\n", "'export' = 5 \\(from file .*\\): must be a mapping"),
        (
            "filters:\n  fstype_exclude: [tmpfs, 7]\n",
            "'filters.fstype_exclude.1' = 7 \\(from file .*\\): must be a string",
        ),
        ("processes:\n  exclude: '*x'\n", "'processes.exclude' = '\\*x' .*regular expression"),
    ],
)
def test_file_errors_point_at_the_nested_setting(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        resolve_config({}, {}, _file(tmp_path, text))


def test_malformed_header_list_is_rejected() -> None:
    with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_HEADERS"):
        resolve_config({}, {"OTEL_EXPORTER_OTLP_HEADERS": "novalue"})


def test_cli_exits_2_on_bad_config_and_never_prints_header_values(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=secret-token")
    monkeypatch.setenv("HERON_AGENT_INTERVAL", "0")
    assert main(["check-config"]) == 2
    err = capsys.readouterr().err
    assert "'interval'" in err
    assert "secret-token" not in err
    monkeypatch.delenv("HERON_AGENT_INTERVAL")
    assert main(["check-config"]) == 0
    out = capsys.readouterr().out
    assert "authorization" in out
    assert "secret-token" not in out


def test_cli_rejects_unknown_choices_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--protocol", "udp"])
    assert info.value.code == 2
    assert "udp" in capsys.readouterr().err


def test_bind_mounts_switch_reaches_the_filters(tmp_path) -> None:
    from otel_agent.agent import filters_from

    assert filters_from(resolve_config({}, {})).bind_mounts is False
    config = resolve_config({}, {}, _file(tmp_path, "filters:\n  bind_mounts: true\n"))
    assert filters_from(config).bind_mounts is True
    with pytest.raises(ConfigError, match=r"filters.bind_mounts"):
        resolve_config({}, {}, _file(tmp_path, "filters:\n  bind_mounts: sometimes\n"))
