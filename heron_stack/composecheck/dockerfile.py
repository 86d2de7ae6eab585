"""The little of a Dockerfile the compose checks read: the final stage's base, ENV and CMD."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class FinalStage:
    base: str
    env: dict[str, str] = field(default_factory=dict)
    cmd: list[str] | None = None


def _instructions(text: str) -> list[tuple[str, str]]:
    joined = text.replace("\\\n", " ")
    out: list[tuple[str, str]] = []
    for line in joined.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        keyword, _, rest = stripped.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


def final_stage(path: Path) -> FinalStage:
    """Base image, ENV (key=value form) and exec-form CMD of the last stage of `path`."""
    base = ""
    env: dict[str, str] = {}
    cmd: list[str] | None = None
    for keyword, rest in _instructions(path.read_text(encoding="utf-8")):
        if keyword == "FROM":
            base, env, cmd = rest.split()[0], {}, None
        elif keyword == "ENV":
            for token in shlex.split(rest):
                name, _, value = token.partition("=")
                env[name] = value
        elif keyword == "CMD" and rest.startswith("["):
            cmd = [str(part) for part in json.loads(rest)]
    return FinalStage(base, env, cmd)
