"""Checks the Compose schema cannot make: files on disk, health dependencies, programs inside images."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from heron_stack.composecheck import Problem
from heron_stack.composecheck.images import IMAGE_TOOLS, repository
from heron_stack.composecheck.merge import as_mapping


def all_problems(document: dict[str, Any], project_dir: Path) -> list[Problem]:
    """Every rule below over an interpolated compose document whose relative paths start at `project_dir`."""
    services: dict[str, Any] = document.get("services") or {}
    declared = set(document.get("volumes") or {})
    problems: list[Problem] = []
    for name, service in services.items():
        problems += mount_problems(name, service, project_dir, declared)
        problems += build_problems(name, service, project_dir)
        problems += env_file_problems(name, service, project_dir)
        problems += dependency_problems(name, service, services)
        problems += program_problems(name, service)
    return problems


def _is_relative(source: str) -> bool:
    return source == "." or source.startswith(("./", "../"))


def mount_problems(name: str, service: dict[str, Any], project_dir: Path, declared: set[str]) -> list[Problem]:
    """Relative bind sources exist under the project; named volumes are declared at the top level."""
    problems: list[Problem] = []
    for index, volume in enumerate(service.get("volumes") or []):
        field = f"volumes[{index}]"
        if isinstance(volume, dict):
            kind, source = volume.get("type", "volume"), str(volume.get("source") or "")
        else:
            parts = str(volume).split(":")
            source = parts[0] if len(parts) > 1 else ""
            kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        if not source:
            continue  # an anonymous volume
        if kind == "bind" and _is_relative(source) and not (project_dir / source).exists():
            problems.append(Problem(name, field, f"mounts {source}, which does not exist in {project_dir}"))
        elif kind == "volume" and source not in declared:
            problems.append(Problem(name, field, f"uses named volume {source!r}, not declared under top-level volumes"))
    return problems


def build_problems(name: str, service: dict[str, Any], project_dir: Path) -> list[Problem]:
    build = service.get("build")
    if build is None:
        return []
    spec = {"context": build} if isinstance(build, str) else dict(build)
    context = project_dir / str(spec.get("context", "."))
    if "://" in str(spec.get("context", "")):
        return []  # a remote (git or URL) context
    if not context.is_dir():
        return [Problem(name, "build.context", f"{spec.get('context')} is not a directory in {project_dir}")]
    if "dockerfile_inline" in spec:
        return []
    dockerfile = str(spec.get("dockerfile", "Dockerfile"))
    if not (context / dockerfile).is_file():
        return [Problem(name, "build.dockerfile", f"{dockerfile} does not exist in the context {context}")]
    return []


def env_file_problems(name: str, service: dict[str, Any], project_dir: Path) -> list[Problem]:
    """Each env_file exists, unless it is marked `required: false`."""
    entries = service.get("env_file")
    if entries is None:
        return []
    problems: list[Problem] = []
    for index, entry in enumerate([entries] if isinstance(entries, str) else entries):
        path, required = (
            (entry, True) if isinstance(entry, str) else (entry.get("path", ""), entry.get("required", True))
        )
        if required and not (project_dir / str(path)).is_file():
            problems.append(Problem(name, f"env_file[{index}]", f"{path} does not exist (mark it `required: false`)"))
    return problems


def _has_healthcheck(service: dict[str, Any]) -> bool:
    check = service.get("healthcheck")
    if not isinstance(check, dict) or check.get("disable"):
        return False
    test = check.get("test")
    return bool(test) and test != ["NONE"]


def dependency_problems(name: str, service: dict[str, Any], services: dict[str, Any]) -> list[Problem]:
    """depends_on names real services; `service_healthy` only those with a health check."""
    problems: list[Problem] = []
    for dep, condition in as_mapping(service.get("depends_on")).items():
        field = f"depends_on.{dep}"
        if dep not in services:
            problems.append(Problem(name, field, f"names {dep!r}, which is not a service"))
            continue
        wanted = (condition or {}).get("condition", "service_started")
        if wanted == "service_healthy" and not _has_healthcheck(services[dep]):
            problems.append(
                Problem(name, f"{field}.condition", f"waits for {dep} to be healthy; {dep} has no healthcheck")
            )
    return problems


def healthcheck_programs(test: Any) -> list[str]:
    """The programs a healthcheck runs first: `CMD` -> its program; `CMD-SHELL` or a string -> sh, then its own."""
    if isinstance(test, str):
        return ["sh", *_shell_program(test)]
    if not test or test[0] == "NONE":
        return []
    if test[0] == "CMD":
        return [str(test[1])] if len(test) > 1 else []
    if test[0] == "CMD-SHELL":
        return ["sh", *_shell_program(" ".join(str(t) for t in test[1:]))]
    return [str(test[0])]


def _shell_program(command: str) -> list[str]:
    words = [w for w in shlex.split(command) if "=" not in w.split("/")[0]]  # skip VAR=value prefixes
    return words[:1]


def program_problems(name: str, service: dict[str, Any]) -> list[Problem]:
    """A healthcheck's program and an exec-form entrypoint's program exist in the service's image."""
    image = service.get("image")
    if not image:
        return []
    tools = IMAGE_TOOLS.get(repository(str(image)))
    runs: list[tuple[str, list[str]]] = []
    check = service.get("healthcheck")
    if isinstance(check, dict) and not check.get("disable"):
        runs.append(("healthcheck.test", healthcheck_programs(check.get("test"))))
    entrypoint = service.get("entrypoint")
    if isinstance(entrypoint, list) and entrypoint:
        runs.append(("entrypoint", [str(entrypoint[0])]))
    if not any(programs for _, programs in runs):
        return []
    if tools is None:
        listed = "heron_stack/composecheck/images.py"
        return [Problem(name, "image", f"{repository(str(image))} is not in the image tool table ({listed})")]
    return [
        Problem(name, field, f"runs {program!r}, which image {image} ({tools.base}) does not have")
        for field, programs in runs
        for program in programs
        if not tools.has(program)
    ]
