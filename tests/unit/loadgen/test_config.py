"""Config resolution: argument > env > default, loopback by default, token required elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadgen.config import resolve_config
from loadgen.exceptions import ConfigError


def test_defaults_bind_loopback_without_token() -> None:
    config = resolve_config({}, {})
    assert (config.host, config.port, config.token) == ("127.0.0.1", 8080, None)
    assert config.own_url == "http://127.0.0.1:8080"
    assert not config.otlp_export


def test_environment_then_arguments() -> None:
    environ = {
        "HERON_LOADGEN_PORT": "9000",
        "HERON_LOADGEN_MAX_RATE": "500",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
    }
    config = resolve_config({"port": 9100}, environ)
    assert config.port == 9100
    assert config.max_rate == 500
    assert config.otlp_export


def test_otel_sdk_disabled_turns_export_off() -> None:
    environ = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}
    assert not resolve_config({}, environ).otlp_export


def test_non_loopback_bind_requires_a_token() -> None:
    with pytest.raises(ConfigError, match="requires a token") as info:
        resolve_config({}, {"HERON_LOADGEN_HOST": "0.0.0.0"})
    assert info.value.key == "HERON_LOADGEN_HOST"


def test_token_from_file_is_accepted_and_never_shown(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token-value\n")
    config = resolve_config({}, {"HERON_LOADGEN_HOST": "0.0.0.0", "HERON_LOADGEN_TOKEN_FILE": str(token_file)})
    assert config.token == "s3cret-token-value"
    assert "s3cret" not in repr(config)


def test_unreadable_token_file_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HERON_LOADGEN_TOKEN_FILE"):
        resolve_config({}, {"HERON_LOADGEN_TOKEN_FILE": str(tmp_path / "missing")})


def test_short_token_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as info:
        resolve_config({}, {"HERON_LOADGEN_TOKEN": "abc"})
    assert "abc" not in str(info.value)
    assert info.value.key == "HERON_LOADGEN_TOKEN"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("HERON_LOADGEN_PORT", "eighty"),
        ("HERON_LOADGEN_PORT", "70000"),
        ("HERON_LOADGEN_MAX_MEMORY_SHARE", "0.95"),
        ("HERON_LOADGEN_MAX_RATE", "-1"),
        ("HERON_LOADGEN_TRAFFIC_ALLOW", "not a url"),
        ("HERON_LOADGEN_TRAFFIC_ALLOW", "http://api:8000/path"),
        ("HERON_LOADGEN_ALERTS_URL", "ftp://alerts"),
    ],
)
def test_bad_values_name_the_variable(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_config({}, {key: value})
    assert info.value.key == key


@pytest.mark.parametrize("entry", ["http://api.test.", "http://u@api.test"])
def test_traffic_allow_entries_are_checked_by_the_target_parser(entry: str) -> None:
    # Each entry must parse as traffic requests parse it, or every traffic request would fail later.
    with pytest.raises(ConfigError) as info:
        resolve_config({}, {"HERON_LOADGEN_TRAFFIC_ALLOW": f"http://api:8000,{entry}"})
    message = str(info.value)
    assert info.value.key == "HERON_LOADGEN_TRAFFIC_ALLOW"
    assert repr(entry) in message
    assert "scheme://host[:port]" in message


def test_traffic_allow_list_is_split() -> None:
    config = resolve_config({}, {"HERON_LOADGEN_TRAFFIC_ALLOW": "http://api:8000, https://shop.example/"})
    assert config.traffic_allow == ("http://api:8000", "https://shop.example")


def test_allowed_hosts_are_parsed_and_a_bad_entry_is_named() -> None:
    config = resolve_config(environ={"HERON_LOADGEN_ALLOWED_HOSTS": "loadgen, Lab.Example.com"})
    assert config.allowed_hosts == frozenset({"loadgen", "lab.example.com"})
    with pytest.raises(ConfigError) as info:
        resolve_config(environ={"HERON_LOADGEN_ALLOWED_HOSTS": "loadgen,http://evil"})
    assert "HERON_LOADGEN_ALLOWED_HOSTS" in str(info.value)
    assert "'http://evil' is not a host name" in str(info.value)
