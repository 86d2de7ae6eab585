"""One entry point: compose files merged, interpolated, validated against the schema and Heron's rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from heron_stack.composecheck import Problem
from heron_stack.composecheck.interpolate import InterpolationError, Interpolator
from heron_stack.composecheck.merge import load_merged
from heron_stack.composecheck.rules import all_problems
from heron_stack.composecheck.schema import schema_problems

PLACEHOLDER = "placeholder"
"""The value a required variable (`${VAR:?message}`) takes when the environment leaves it unset."""


def validate_document(raw: dict[str, Any], project_dir: Path, env: Mapping[str, str] | None = None) -> list[Problem]:
    """Problems of a parsed (merged) compose document; `env` stands in for the shell and `.env` (default: empty)."""
    try:
        document = Interpolator(env or {}, PLACEHOLDER).document(raw)
    except InterpolationError as exc:
        path = list(exc.path)
        service = path[1] if len(path) > 2 and path[0] == "services" else ""
        field = ".".join(path[2:] if service else path).replace(".[", "[")
        return [Problem(service, field or "(document)", exc.message)]
    problems = schema_problems(document)
    if not problems:  # the rules read the structure the schema guarantees
        problems = all_problems(document, project_dir)
    return problems


def validate_files(paths: Sequence[Path], env: Mapping[str, str] | None = None) -> list[Problem]:
    """`docker compose -f paths[0] -f ... config`, checked: the project directory is the first file's."""
    return validate_document(load_merged(paths), paths[0].parent, env)


def required_variables(raw: dict[str, Any]) -> set[str]:
    """Names compose refuses to start without (`${VAR:?...}`)."""
    interpolator = Interpolator({}, PLACEHOLDER)
    interpolator.document(raw)
    return interpolator.required
