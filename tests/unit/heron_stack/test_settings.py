"""The settings registries: well formed, consistent across components, and complete for the code."""

from __future__ import annotations

import dataclasses
import difflib
import re
from pathlib import Path
from types import ModuleType

import pytest

from alert_worker import envvars as alert_env
from alert_worker.channels import env as channel_env
from heron._internal import env as sdk_env
from heron._internal import settings as sdk_settings
from heron_stack import environment_variables as stack_env
from heron_stack import settings
from heron_stack.config import PROJECT_DIR
from heron_stack.settings import Registry, Setting
from loadgen import env as loadgen_env
from otel_agent import env as agent_env

NAME = re.compile(r"\bHERON_[A-Z0-9_]*[A-Z0-9]\b")
SCANNED = (
    "heron_stack",
    "alert_worker",
    "loadgen",
    "otel_agent",
    "sdk/heron",
    "bench",
    "deploy",
    "grafana/provisioning",
    "prometheus",
    "scripts",
    "docs",
    "otel-collector.yaml",
    "docker-compose.yml",
    ".env.example",
    "Makefile",
    "README.md",
    "sdk/README.md",
)
"""Code, config files and docs (not tests) whose HERON_* names must all be in a registry."""
NOT_SETTINGS = {
    "HERON_SERVICES": "a tuple of service names in heron_stack/services.py",
    "HERON_TOKEN_REQUIRED": "a Flask config key of the alert API",
    "HERON_PARTS": "a list of service names in bench/bench_logs.py",
    "HERON_ROUTING": "a routing file's text in bench/bench_alert_latency.py",
    "HERON_ALERTS_PROMETEUS_URL": "the misspelt example of docs/operations.md",
}
ALL_REGISTRIES = (*settings.registries(), sdk_env.SETTINGS)


def _names_in(path: Path) -> set[str]:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    names: set[str] = set()
    for file in files:
        if "__pycache__" in file.parts:
            continue
        try:
            names |= set(NAME.findall(file.read_text(encoding="utf-8")))
        except (UnicodeDecodeError, OSError):
            continue
    return names


def test_every_heron_name_in_code_config_and_docs_is_in_a_registry() -> None:
    known = settings.known_names() | set(NOT_SETTINGS)
    missing = {
        f"{name} ({entry})"
        for entry in SCANNED
        if (PROJECT_DIR / entry).exists()
        for name in _names_in(PROJECT_DIR / entry) - known
    }
    assert not missing, (
        f"add these to their component's settings registry (its env module), then run "
        f"`python -m heron_stack.settings_doc`: {sorted(missing)}"
    )


def test_the_scan_finds_names_where_they_are_used() -> None:
    assert "HERON_COLLECTOR_BATCH_TIMEOUT" in _names_in(PROJECT_DIR / "otel-collector.yaml")
    assert "HERON_ALERTS_FLAP_WINDOW" in _names_in(PROJECT_DIR / "alert_worker")


@pytest.mark.parametrize(
    ("module", "registries"),
    [
        (stack_env, (stack_env.SETTINGS, stack_env.CONFIG_FILE_SETTINGS)),
        (agent_env, (agent_env.SETTINGS,)),
        (alert_env, (alert_env.SETTINGS, alert_env.DELIVERY_SETTINGS)),
        (channel_env, (alert_env.DELIVERY_SETTINGS,)),
        (loadgen_env, (loadgen_env.SETTINGS,)),
        (sdk_env, (sdk_env.SETTINGS,)),
    ],
)
def test_every_name_constant_of_an_env_module_is_registered(
    module: ModuleType, registries: tuple[Registry, ...]
) -> None:
    constants = {
        value
        for key, value in vars(module).items()
        if key.startswith("HERON_") and isinstance(value, str) and key == value
    }
    registered = set().union(*(registry.names() for registry in registries)) | sdk_env.SETTINGS.names()
    assert constants, module.__name__
    assert constants <= registered, sorted(constants - registered)


def test_the_port_variables_are_registered_with_their_defaults() -> None:
    for var, port in stack_env.PORT_VARIABLES.values():
        setting = stack_env.SETTINGS.get(var)
        assert setting is not None
        assert (setting.type, setting.default) == ("port", str(port))


def test_a_registry_names_each_setting_once_and_components_agree_on_shared_names() -> None:
    seen: dict[str, object] = {}
    for registry in ALL_REGISTRIES:
        names = [s.name for s in registry.settings]
        assert len(names) == len(set(names)), registry.component
        assert all(name.startswith("HERON_") for name in names), registry.component
        for s in registry.settings:
            shape = (s.type, s.default, s.choices)
            assert seen.setdefault(s.name, shape) == shape, f"{s.name} is described differently by two components"
    components = [registry.component for registry in ALL_REGISTRIES]
    assert len(components) == len(set(components))


def test_the_known_names_are_the_union_of_every_registry_the_sdk_included() -> None:
    assert settings.known_names() == set().union(*(registry.names() for registry in ALL_REGISTRIES))


def test_the_sdk_owns_the_same_small_dataclasses() -> None:
    for ours, sdk in ((Setting, sdk_settings.Setting), (Registry, sdk_settings.Registry)):
        assert [(f.name, f.type, f.default) for f in dataclasses.fields(ours)] == [
            (f.name, f.type, f.default) for f in dataclasses.fields(sdk)
        ]
    assert settings.SettingType.__args__ == sdk_settings.SettingType.__args__


def test_the_sdk_warns_only_about_names_no_other_component_reads() -> None:
    others = settings.known_names() - sdk_env.SETTINGS.names()
    assert not [name for name in others if name.startswith(sdk_env.OWNED_PREFIXES)]
    assert all(name.startswith(sdk_env.OWNED_PREFIXES) for name in sdk_env.SETTINGS.names())
    sdk_names = sorted(sdk_env.SETTINGS.names())
    near = {name: difflib.get_close_matches(name, sdk_names, cutoff=sdk_env.TYPO_CUTOFF) for name in others}
    assert not {name: match for name, match in near.items() if match}


def test_an_enum_needs_its_choices_and_a_description_is_one_line() -> None:
    with pytest.raises(ValueError, match="choices"):
        Setting("HERON_X", "enum", "An enum.")
    with pytest.raises(ValueError, match="choices"):
        Setting("HERON_X", "str", "Text.", choices=("a",))
    with pytest.raises(ValueError, match="one non-empty line"):
        Setting("HERON_X", "str", "two\nlines")
    assert all(s.default in s.choices for r in ALL_REGISTRIES for s in r.settings if s.type == "enum")
