"""Heron's settings registries: every `HERON_*` environment variable, typed and described once.

Each component's env module (``heron_stack.environment_variables``, ``otel_agent.env``,
``alert_worker.envvars``, ``loadgen.env``) keeps its names as plain string constants and exposes a
`Registry` of `Setting` objects. docs/operations.md renders its tables from them
(``python -m heron_stack.settings_doc``), and every config resolver warns about `HERON_*` variables
no registry knows (`warn_unknown_settings`).

The SDK (``heron``) is installed on its own and owns the same shape in ``heron._internal.settings``.
The union of all names, the SDK's included, is generated into ``heron_stack.setting_names`` by the same
command as the docs, so each component knows every other's names without importing them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

SettingType = Literal[
    "str", "int", "float", "bool", "duration", "url", "path", "enum", "list", "pairs", "host", "port", "secret"
]
"""How a value is read: `duration` is a number and a unit (`30s`, `5m`, `7d`); `list` is comma-separated;
`pairs` is `name=value,...`; `secret` is a credential that is never logged."""

PREFIX = "HERON_"


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, how its value is read, its default (as text) and its meaning."""

    name: str
    type: SettingType
    description: str
    default: str = ""
    """The default as a user would write it; empty when unset means "off" or "not used"."""
    choices: tuple[str, ...] = ()
    """The allowed values of an `enum` setting."""

    def __post_init__(self) -> None:
        if (self.type == "enum") != bool(self.choices):
            raise ValueError(f"{self.name}: an enum setting needs choices, and only an enum has them")
        if "\n" in self.description or not self.description:
            raise ValueError(f"{self.name}: the description is one non-empty line")


@dataclass(frozen=True)
class Registry:
    """The settings one component reads, in the order its documentation lists them."""

    component: str
    title: str
    settings: tuple[Setting, ...]

    def names(self) -> frozenset[str]:
        return frozenset(setting.name for setting in self.settings)

    def get(self, name: str) -> Setting | None:
        return next((setting for setting in self.settings if setting.name == name), None)


def registries() -> tuple[Registry, ...]:
    """The registries of the stack runner, the config files, the agent, the alert worker and the load lab.

    For the docs and tests: it imports every component, which a container of one component does not have.
    """
    from alert_worker import envvars as alert_env
    from heron_stack import environment_variables as stack_env
    from loadgen import env as loadgen_env
    from otel_agent import env as agent_env

    return (
        stack_env.SETTINGS,
        stack_env.CONFIG_FILE_SETTINGS,
        agent_env.SETTINGS,
        alert_env.SETTINGS,
        alert_env.DELIVERY_SETTINGS,
        loadgen_env.SETTINGS,
    )


def known_names() -> frozenset[str]:
    """Every `HERON_*` name some Heron component reads, the SDK's included.

    Read from `heron_stack.setting_names`, generated from all registries: a container ships only its own
    component (and heron_stack), so it cannot import the others' registries.
    """
    from heron_stack.setting_names import KNOWN_NAMES

    return KNOWN_NAMES


def unknown_settings(
    environ: Mapping[str, str], known: Iterable[str], prefix: str | tuple[str, ...] = PREFIX
) -> list[tuple[str, str | None]]:
    """Each variable starting with `prefix` that is not in `known`, with the closest known name (or None)."""
    known_set = frozenset(known)
    unknown = sorted(name for name in environ if name.startswith(prefix) and name not in known_set)
    if not unknown:
        return []
    import difflib  # only paid for when something is misspelt

    candidates = sorted(known_set)
    return [(name, next(iter(difflib.get_close_matches(name, candidates, n=1)), None)) for name in unknown]


def unknown_message(name: str, suggestion: str | None) -> str:
    if suggestion:
        return f"{name} is not a Heron setting; did you mean {suggestion}?"
    return f"{name} is not a Heron setting (docs/operations.md lists them all)"


_reported: set[str] = set()


def warn_unknown_settings(environ: Mapping[str, str], report: Callable[[str], object]) -> list[str]:
    """Report every `HERON_*` variable of `environ` no registry knows, once per process; return the messages."""
    if not any(name.startswith(PREFIX) for name in environ):
        return []
    messages = []
    for name, suggestion in unknown_settings(environ, known_names()):
        if name in _reported:
            continue
        _reported.add(name)
        message = unknown_message(name, suggestion)
        report(message)
        messages.append(message)
    return messages
