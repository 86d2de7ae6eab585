"""The registries tell the truth: their defaults and allowed values are what the config resolvers do."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pytest

from alert_worker import envvars as alert_env
from alert_worker.channels.config import resolve_destinations
from alert_worker.config import resolve_config as resolve_alerts
from alert_worker.delivery.policy import resolve_policy
from alert_worker.rules.durations import parse_duration
from heron._internal import env as sdk_env
from heron._internal.config import InitArgs
from heron._internal.config import resolve_config as resolve_sdk
from heron_stack import environment_variables as stack_env
from heron_stack import settings
from heron_stack.config import PROJECT_DIR, resolve
from heron_stack.services import go_memory_limit, victorialogs_retention
from heron_stack.settings import Registry
from loadgen import env as loadgen_env
from loadgen.config import resolve_config as resolve_loadgen
from otel_agent import env as agent_env
from otel_agent.config import resolve_config as resolve_agent

ALL_REGISTRIES = (*settings.registries(), sdk_env.SETTINGS)
FILE_DEFAULT = re.compile(r"\$\{(?:env:)?(HERON_[A-Z0-9_]+):-([^}]*)\}")


def literal_defaults(registry: Registry | object) -> dict[str, str]:
    """The defaults written as values (not descriptions such as "the system temp directory")."""
    return {s.name: s.default for s in registry.settings if s.default and not any(mark in s.default for mark in " <$")}


def test_literal_defaults_parse_as_their_type() -> None:
    for registry in ALL_REGISTRIES:
        for name, default in literal_defaults(registry).items():
            kind = registry.get(name).type
            if kind in ("int", "port"):
                int(default)
            elif kind == "float":
                float(default)
            elif kind == "bool":
                assert default in ("true", "false"), name
            elif kind == "duration":
                parse_duration(default)
            elif kind == "url":
                assert "://" in default, name


def test_stack_defaults(tmp_path: Path) -> None:
    env = literal_defaults(stack_env.SETTINGS)
    assert resolve(env, state_dir=tmp_path) == resolve({}, state_dir=tmp_path)
    assert go_memory_limit(env) == go_memory_limit({})
    assert victorialogs_retention(env) == victorialogs_retention({})


@pytest.mark.parametrize("choice", stack_env.SETTINGS.get(stack_env.HERON_PROMETHEUS).choices)
def test_stack_prometheus_choices(choice: str, tmp_path: Path) -> None:
    assert resolve({stack_env.HERON_PROMETHEUS: choice}, state_dir=tmp_path).prometheus == choice


@pytest.mark.parametrize(
    ("file", "registries"),
    [
        ("otel-collector.yaml", (stack_env.SETTINGS, stack_env.CONFIG_FILE_SETTINGS)),
        ("deploy/loki/otel-collector.loki.yaml", (stack_env.CONFIG_FILE_SETTINGS,)),
        ("deploy/loki/compose.loki.yml", (stack_env.CONFIG_FILE_SETTINGS,)),
        ("docker-compose.yml", (stack_env.SETTINGS, stack_env.CONFIG_FILE_SETTINGS)),
    ],
)
def test_config_file_defaults(file: str, registries: tuple[Registry, ...]) -> None:
    found = dict(FILE_DEFAULT.findall((PROJECT_DIR / file).read_text(encoding="utf-8")))
    documented: Mapping[str, str] = {k: v for r in registries for k, v in literal_defaults(r).items()}
    compared = {name: (found[name], documented[name]) for name in found.keys() & documented.keys()}
    assert compared
    assert all(a == b for a, b in compared.values()), compared


def test_agent_defaults() -> None:
    assert resolve_agent(None, literal_defaults(agent_env.SETTINGS)) == resolve_agent(None, {})


@pytest.mark.parametrize(
    ("name", "choice"),
    [(s.name, c) for s in agent_env.SETTINGS.settings for c in s.choices],
)
def test_agent_choices(name: str, choice: str) -> None:
    resolve_agent(None, {name: choice})


def test_alert_worker_defaults() -> None:
    assert resolve_alerts(env=literal_defaults(alert_env.SETTINGS)) == resolve_alerts(env={})
    delivery = literal_defaults(alert_env.DELIVERY_SETTINGS)
    assert resolve_policy(delivery) == resolve_policy({})


@pytest.mark.parametrize("choice", alert_env.DELIVERY_SETTINGS.get(alert_env.HERON_ALERTS_SMTP_SECURITY).choices)
def test_smtp_security_choices(choice: str) -> None:
    email = {
        alert_env.HERON_ALERTS_SMTP_HOST: "mail.example.com",
        alert_env.HERON_ALERTS_SMTP_FROM: "heron@example.com",
        alert_env.HERON_ALERTS_SMTP_TO: "oncall@example.com",
    }
    default = resolve_destinations(environ=email).destinations["email"]
    chosen = resolve_destinations(environ={**email, alert_env.HERON_ALERTS_SMTP_SECURITY: choice})
    assert chosen.destinations["email"].security == choice
    assert default.security == "starttls"
    assert default.port == int(alert_env.DELIVERY_SETTINGS.get(alert_env.HERON_ALERTS_SMTP_PORT).default)


def test_loadgen_defaults() -> None:
    assert resolve_loadgen(environ=literal_defaults(loadgen_env.SETTINGS)) == resolve_loadgen(environ={})


def test_sdk_defaults_and_choices() -> None:
    args = InitArgs(service_name="svc")
    assert resolve_sdk(args, literal_defaults(sdk_env.SETTINGS)) == resolve_sdk(args, {})
    for choice in sdk_env.SETTINGS.get(sdk_env.HERON_LOG_LEVEL).choices:
        resolve_sdk(args, {sdk_env.HERON_LOG_LEVEL: choice})  # a rejected value would warn, and warnings fail tests
