from __future__ import annotations

from pathlib import Path

import pytest

from heron_stack.config import resolve
from heron_stack.exceptions import ConfigError


def test_defaults_are_the_well_known_ports_on_loopback(tmp_path: Path) -> None:
    cfg = resolve({}, state_dir=tmp_path)
    assert cfg.host == "127.0.0.1"
    assert cfg.port("otlp_grpc") == 4317
    assert cfg.port("otlp_http") == 4318
    assert cfg.port("prometheus") == 9090
    assert cfg.port("victorialogs") == 9428
    assert cfg.port("redis") == 6379
    assert cfg.url("prometheus") == "http://127.0.0.1:9090"
    assert cfg.otlp_token is None


def test_environment_overrides_defaults_and_arguments_override_environment(tmp_path: Path) -> None:
    cfg = resolve(
        {"HERON_PROMETHEUS_PORT": "19090", "HERON_REDIS_PORT": "16379"}, state_dir=tmp_path, ports={"redis": 26379}
    )
    assert cfg.port("prometheus") == 19090
    assert cfg.port("redis") == 26379


@pytest.mark.parametrize(
    ("env", "field", "fragment"),
    [
        ({"HERON_PROMETHEUS_PORT": "http"}, "HERON_PROMETHEUS_PORT", "from 1 to 65535"),
        ({"HERON_REDIS_PORT": "70000"}, "HERON_REDIS_PORT", "from 1 to 65535"),
        ({"HERON_VICTORIALOGS_PORT": "4317"}, "HERON_VICTORIALOGS_PORT", "already used by otlp_grpc"),
        ({"HERON_BIND_HOST": "my host"}, "HERON_BIND_HOST", "an IP address"),
        ({"HERON_READY_TIMEOUT": "-1"}, "HERON_READY_TIMEOUT", "greater than 0"),
        ({"HERON_PROMETHEUS": "3"}, "HERON_PROMETHEUS", "debian or v3"),
    ],
)
def test_bad_values_name_the_variable_the_value_and_what_is_allowed(
    tmp_path: Path, env: dict[str, str], field: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as info:
        resolve(env, state_dir=tmp_path)
    message = str(info.value)
    assert field in message
    assert repr(next(iter(env.values()))) in message or next(iter(env.values())) in message
    assert fragment in message


def test_token_comes_from_a_file_and_is_not_in_the_repr(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("tok-123\n")
    cfg = resolve({"HERON_OTLP_TOKEN_FILE": str(token_file)}, state_dir=tmp_path)
    assert cfg.otlp_token == "tok-123"
    assert "tok-123" not in repr(cfg)


def test_unreadable_token_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HERON_OTLP_TOKEN_FILE"):
        resolve({"HERON_OTLP_TOKEN_FILE": str(tmp_path / "missing")}, state_dir=tmp_path)
