"""Validate a compose document against the Compose Specification's JSON schema (build/compose-spec.schema.json)."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from heron_stack.composecheck import Problem
from heron_stack.config import PROJECT_DIR

SCHEMA = PROJECT_DIR / "build" / "compose-spec.schema.json"
_UNKNOWN_KEY_ERRORS = frozenset({"additionalProperties", "unevaluatedProperties"})


@cache
def validator(path: Path = SCHEMA) -> Draft202012Validator:
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_problems(document: dict[str, Any]) -> list[Problem]:
    """Every schema violation of an (interpolated) compose document, named by service and field."""
    checker = validator()
    errors = sorted(checker.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
    problems: list[Problem] = []
    for error in errors:
        path = [str(part) for part in error.absolute_path]
        service = path[1] if len(path) >= 2 and path[0] == "services" else ""
        where = ".".join(path[2:] if service else path)
        if error.validator not in _UNKNOWN_KEY_ERRORS:
            problems.append(Problem(service, where or "(document)", error.message))
            continue
        # Name the unknown keys themselves. unevaluatedProperties also fires for known keys when a sibling
        # subschema failed; that failure is reported on its own, so only truly unknown keys are kept here.
        for key in _unknown_keys(checker.schema, error.schema, error.instance):
            problems.append(
                Problem(service, f"{where}.{key}" if where else key, "unknown key, not in the Compose Specification")
            )
    return problems


def _unknown_keys(root: Any, schema: Any, instance: Any) -> list[str]:
    if not isinstance(instance, dict):
        return []
    names: set[str] = set()
    patterns: list[str] = []
    _collect(root, schema, names, patterns)
    return [key for key in instance if key not in names and not any(re.search(p, key) for p in patterns)]


def _collect(root: Any, schema: Any, names: set[str], patterns: list[str]) -> None:
    """Property names and patterns a schema allows, following `$ref` and `allOf`."""
    if not isinstance(schema, dict):
        return
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target = root
        for part in ref[2:].split("/"):
            target = target[part]
        _collect(root, target, names, patterns)
    names.update(schema.get("properties", {}))
    patterns.extend(schema.get("patternProperties", {}))
    for sub in schema.get("allOf", []):
        _collect(root, sub, names, patterns)
