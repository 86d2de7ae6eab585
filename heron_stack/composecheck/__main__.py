"""`python -m heron_stack.composecheck [ENV=value ...]`: docker-compose.yml and its overlays, checked.

Validates every combination of overlays and compares compose with `heron up` for the given variables
(as `.env` would set them). Needs the dev extras (jsonschema). Exit status 1 when anything is wrong.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from heron_stack.composecheck import Problem
from heron_stack.composecheck.drift import drift
from heron_stack.composecheck.interpolate import interpolate
from heron_stack.composecheck.merge import load_merged
from heron_stack.composecheck.validate import PLACEHOLDER, validate_files
from heron_stack.config import PROJECT_DIR, resolve
from heron_stack.services import build_specs

COMPOSE = PROJECT_DIR / "docker-compose.yml"
OVERLAYS = (PROJECT_DIR / "deploy" / "compose.auth.yml", PROJECT_DIR / "deploy" / "loki" / "compose.loki.yml")
CLUSTER = PROJECT_DIR / "deploy" / "compose.cluster.yml"
"""The cluster topology, an overlay of docker-compose.yml (with or without the auth overlay)."""
BINARIES = {name: Path(f"/nonexistent/{name}") for name in ("collector", "victorialogs", "prometheus", "redis")}


def check(env: dict[str, str]) -> list[Problem]:
    problems: list[Problem] = []
    for overlays in ((), OVERLAYS[:1], OVERLAYS[1:], OVERLAYS):
        problems += validate_files([COMPOSE, *overlays], env)
    for overlays in ((CLUSTER,), (OVERLAYS[0], CLUSTER)):
        problems += validate_files([COMPOSE, *overlays], env)
    files = [COMPOSE, OVERLAYS[0]] if env.get("HERON_OTLP_TOKEN") else [COMPOSE]
    raw = load_merged(files)
    with tempfile.TemporaryDirectory() as state:
        config = resolve(env, state_dir=Path(state))
        problems += drift(
            build_specs(config, BINARIES, env), raw, interpolate(raw, env, placeholder=PLACEHOLDER), config
        )
    return problems


def main(argv: Sequence[str]) -> int:
    env = dict(arg.split("=", 1) for arg in argv if "=" in arg)
    problems = check(env)
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"docker-compose.yml: {len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
