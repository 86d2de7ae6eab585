"""Each image copies every Heron package its code imports, so a container starts without ImportError.

No Docker here: the Dockerfiles' COPY lines are read, and the imports of the image's own component are
followed module by module (heron_stack is shared; only the modules a component reaches must be there).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from heron_stack.config import PROJECT_DIR

FIRST_PARTY = {"heron_stack", "alert_worker", "loadgen", "otel_agent", "heron"}
HERON = r"(?:heron_stack|alert_worker|loadgen|otel_agent|heron)(?:\.\w+)*"
IMPORT = re.compile(rf"^\s*(?:from|import)\s+({HERON})(?:\s+import\s+\(?([\w ,]+))?", re.MULTILINE)
COMPONENT = {"agent": "otel_agent", "alert-worker": "alert_worker", "loadgen": "loadgen"}
COPY = re.compile(r"^COPY\s+(?!--from)(\S+)\s+\S+\s*$", re.MULTILINE)
DOCKERFILES = sorted((PROJECT_DIR / "deploy").glob("*/Dockerfile"))


def _module_file(module: str) -> Path | None:
    parts = module.split(".")
    root = PROJECT_DIR / "sdk" if parts[0] == "heron" else PROJECT_DIR
    base = root.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _copied_packages(dockerfile: Path) -> set[str]:
    out = set()
    for source in COPY.findall(dockerfile.read_text(encoding="utf-8")):
        name = Path(source.rstrip("/")).name
        if name in FIRST_PARTY:
            out.add(name)
    return out


def _reached(package: str) -> set[str]:
    """Top-level Heron packages reached from every module of `package`, following imports module by module."""
    todo = [p for p in (PROJECT_DIR / package).rglob("*.py")]
    seen: set[Path] = set()
    packages = {package}
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for module, names in IMPORT.findall(path.read_text(encoding="utf-8")):
            packages.add(module.split(".")[0])
            # `from heron_stack import logsql` may name a module as well as an attribute.
            todo.extend(f for n in names.split(",") if (f := _module_file(f"{module}.{n.strip()}")) is not None)
            parts = module.split(".")
            for depth in range(1, len(parts) + 1):  # a package's __init__ runs on the way to its module
                found = _module_file(".".join(parts[:depth]))
                if found is not None:
                    todo.append(found)
    return packages


def test_there_are_images_to_check() -> None:
    assert {d.parent.name for d in DOCKERFILES} >= {"agent", "alert-worker", "loadgen"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda d: d.parent.name)
def test_every_imported_heron_package_is_copied_into_the_image(dockerfile: Path) -> None:
    copied = _copied_packages(dockerfile)
    needed = _reached(COMPONENT[dockerfile.parent.name])
    missing = sorted(needed - copied)
    assert not missing, f"{dockerfile.relative_to(PROJECT_DIR)} imports {missing} but does not COPY them"
