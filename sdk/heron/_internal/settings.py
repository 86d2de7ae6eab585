"""The shape of one SDK setting (an environment variable), as Heron's other components describe theirs.

The SDK is installed on its own, so it owns this small copy of Heron's `Setting`/`Registry` dataclasses
(``heron_stack.settings`` has the same fields; a unit test keeps them equal) and the unknown-name check.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

SettingType = Literal[
    "str", "int", "float", "bool", "duration", "url", "path", "enum", "list", "pairs", "host", "port", "secret"
]


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, how its value is read, its default (as text) and its meaning."""

    name: str
    type: SettingType
    description: str
    default: str = ""
    choices: tuple[str, ...] = ()

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


def unknown_settings(
    environ: Mapping[str, str], known: Iterable[str], owned: tuple[str, ...], typo_cutoff: float
) -> list[tuple[str, str | None]]:
    """Unknown `HERON_*` variables that are the SDK's: under an `owned` prefix, or nearly equal to a known name.

    Each comes with the closest known name (or None).
    """
    known_set = frozenset(known)
    unknown = sorted(name for name in environ if name.startswith("HERON_") and name not in known_set)
    if not unknown:
        return []
    import difflib  # only paid for when a HERON_* name is not the SDK's

    candidates = sorted(known_set)
    found: list[tuple[str, str | None]] = []
    for name in unknown:
        typo = difflib.get_close_matches(name, candidates, n=1, cutoff=typo_cutoff)
        if typo or name.startswith(owned):
            closest = typo or difflib.get_close_matches(name, candidates, n=1)
            found.append((name, closest[0] if closest else None))
    return found
