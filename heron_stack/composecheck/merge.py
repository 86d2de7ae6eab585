"""Load compose files and merge overlays onto the base the way `docker compose -f a -f b` does.

Compose's merge rules, for the keys Heron uses: mappings merge key by key; `command`, `entrypoint` and
`healthcheck.test` are replaced whole; `environment`, `labels` and `depends_on` merge as mappings (their
list forms are read as mappings first); `volumes` merge by container path; other lists are appended
without duplicates. Relative paths in every file stay relative to the project directory (the first file's).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

REPLACED = frozenset({"command", "entrypoint", "test"})
MAPPINGS = frozenset({"environment", "labels", "depends_on", "annotations", "sysctls"})


def load(path: Path) -> dict[str, Any]:
    """A compose file parsed as YAML (anchors and `<<` merge keys resolved), before interpolation."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a compose file is a mapping, not {type(data).__name__}")
    return data


def load_merged(paths: Sequence[Path]) -> dict[str, Any]:
    """The files merged in order, as `docker compose -f paths[0] -f paths[1] ...` reads them."""
    merged: dict[str, Any] = {}
    for path in paths:
        merged = merge(merged, load(path))
    return merged


def merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overlay.items():
        if key not in out:
            out[key] = value
        else:
            out[key] = _merge_value(key, out[key], value)
    return out


def _merge_value(key: str, old: Any, new: Any) -> Any:
    if key in REPLACED:
        return new
    if key in MAPPINGS:
        return {**as_mapping(old), **as_mapping(new)}
    if key == "volumes" and isinstance(old, list) and isinstance(new, list):
        return _merge_volumes(old, new)
    if isinstance(old, dict) and isinstance(new, dict):
        return merge(old, new)
    if isinstance(old, list) and isinstance(new, list):
        return old + [item for item in new if item not in old]
    return new


def as_mapping(value: Any) -> dict[str, Any]:
    """`environment`/`labels`/`depends_on` in either form, as a mapping (`[A=1, B]` -> `{A: "1", B: None}`)."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict(value)
    out: dict[str, Any] = {}
    for item in value:
        name, sep, rest = str(item).partition("=")
        out[name] = rest if sep else None
    return out


def volume_target(volume: Any) -> str:
    """The container path of a short (`src:dst[:mode]`) or long (`{target: ...}`) volume entry."""
    if isinstance(volume, dict):
        return str(volume.get("target", ""))
    parts = str(volume).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def _merge_volumes(old: list[Any], new: list[Any]) -> list[Any]:
    by_target = {volume_target(v): v for v in old}
    for volume in new:
        by_target[volume_target(volume)] = volume
    return list(by_target.values())
