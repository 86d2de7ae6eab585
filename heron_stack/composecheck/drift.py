"""docker-compose.yml against the specs `heron up` builds, through heron_stack.stack_table.SHARED.

For each shared service: the image tag is the version the native stack installs or builds; the
flags the table names have the same values in both commands (container paths read through the
service's bind mounts); every other flag, published port and HERON_*/OTEL_* setting either agrees
or is a documented difference; a setting only compose has is a pass-through of the same variable
(`NAME: ${NAME...}`, which `heron up`'s processes inherit) or documented. A documented difference
that no longer differs is reported too, so the table stays true.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from heron_stack import environment_variables as ev
from heron_stack.components import PinnedModule
from heron_stack.composecheck import Problem
from heron_stack.composecheck.dockerfile import final_stage
from heron_stack.composecheck.merge import as_mapping
from heron_stack.config import StackConfig
from heron_stack.runner import ServiceSpec
from heron_stack.stack_table import COMPOSE_ADDRESSES, SHARED, SharedService

_PUBLISHED = re.compile(r"^(?:(?P<ip>[0-9.]+):)?(?P<published>\$\{[^}]+\}|\d+):(?P<target>\d+)(?:/\w+)?$")
_PASS_THROUGH = re.compile(r"^\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:[:]?[-?+][^}]*)?\}$")
SETTINGS = re.compile(r"^(HERON_|OTEL_)|^GOMEMLIMIT$")
"""The environment both stacks must agree on."""


def expected_image(entry: SharedService, project_dir: Path) -> str | None:
    """The image reference compose must run for `entry`, or None when the native stack pins no version."""
    kind, _, arg = entry.tag.partition(":")
    if kind == "versions.yaml":
        return PinnedModule.read(project_dir / "build" / "versions.yaml", arg).image_ref
    if kind == "otelcol-builder.yaml":
        manifest = yaml.safe_load((project_dir / "build" / "otelcol-builder.yaml").read_text(encoding="utf-8"))
        return f"{entry.image}:{manifest['dist']['version']}"
    if kind == "unpinned":
        return None
    return f"{entry.image}:local"


def flag_values(args: Sequence[str], name: str) -> list[str]:
    """Every value `name` takes in `args`: `name=value`, `name value`, or "" for a bare flag."""
    values: list[str] = []
    for i, arg in enumerate(args):
        if arg.startswith(name + "="):
            values.append(arg[len(name) + 1 :])
        elif arg == name:
            following = args[i + 1] if i + 1 < len(args) else ""
            values.append("" if following.startswith("-") else following)
    return values


def _subcommand(args: Sequence[str]) -> list[str]:
    """The arguments before the first flag (`worker` in `worker --role evaluate`)."""
    return list(args[: next((i for i, a in enumerate(args) if a.startswith("-")), len(args))])


def flag_names(args: Sequence[str]) -> set[str]:
    return {arg.split("=", 1)[0] for arg in args if arg.startswith("-")}


def native_args(spec: ServiceSpec) -> list[str]:
    """The arguments after the program (`python -m module` counts as the program)."""
    argv = list(spec.argv)
    return argv[3:] if len(argv) > 2 and argv[1] == "-m" else argv[1:]


def bind_mounts(service: Mapping[str, Any], project_dir: Path) -> dict[str, Path]:
    """Container path -> host path of the service's relative bind mounts."""
    mounts: dict[str, Path] = {}
    for volume in service.get("volumes") or []:
        parts = str(volume).split(":") if not isinstance(volume, dict) else [volume["source"], volume["target"]]
        if len(parts) > 1 and parts[0].startswith("."):
            mounts[parts[1]] = (project_dir / parts[0]).resolve()
    return mounts


def to_host(value: str, mounts: Mapping[str, Path]) -> str:
    """Container paths in `value` (a path or a comma-separated list) as the host paths mounted there."""
    for target, source in sorted(mounts.items(), key=lambda item: -len(item[0])):
        value = re.sub(rf"(?<![\w/]){re.escape(target)}(?=/|$|,)", str(source), value)
    return value


def to_compose(value: str, config: StackConfig) -> str:
    """Native addresses (HERON_BIND_HOST:port) as compose reaches them (service:default port)."""
    for port_name, service in COMPOSE_ADDRESSES.items():
        value = value.replace(config.addr(port_name), f"{service}:{ev.PORT_VARIABLES[port_name][1]}")
    return value


class Comparison:
    """One shared service, compared; `problems` collects what disagrees."""

    def __init__(
        self,
        entry: SharedService,
        native: ServiceSpec,
        raw: Mapping[str, Any],
        document: Mapping[str, Any],
        config: StackConfig,
    ) -> None:
        self.entry = entry
        self.native = native
        self.raw: Mapping[str, Any] = raw["services"][entry.compose]
        self.service: Mapping[str, Any] = document["services"][entry.compose]
        self.document = document
        self.config = config
        self.mounts = bind_mounts(self.service, config.project_dir)
        self.problems: list[Problem] = []
        self.used: set[str] = set()

    def fail(self, field: str, message: str) -> None:
        self.problems.append(Problem(self.entry.compose, field, message))

    def documented(self, key: str) -> bool:
        if key in self.entry.differences:
            self.used.add(key)
            return True
        return False

    def dockerfile(self) -> Path | None:
        """The Dockerfile compose builds this service's image from (on this or another service)."""
        for service in self.document["services"].values():
            build = service.get("build")
            if service.get("image") == self.service.get("image") and isinstance(build, dict):
                return self.config.project_dir / str(build.get("context", ".")) / str(build["dockerfile"])
        return None

    def run(self) -> list[Problem]:
        self.check_image()
        self.check_command()
        self.check_ports()
        self.check_env()
        for key in sorted(set(self.entry.differences) - self.used):
            self.fail(key, "documented as a difference in heron_stack/stack_table.py, but the two stacks agree")
        return self.problems

    def check_image(self) -> None:
        image = str(self.service.get("image", ""))
        expected = expected_image(self.entry, self.config.project_dir)
        if expected is None:
            if not image.startswith(self.entry.image + ":"):
                self.fail("image", f"{image!r} is not the {self.entry.image} image ({self.entry.tag})")
        elif image != expected:
            self.fail("image", f"{image!r}, but heron up runs {expected} ({self.entry.tag})")
        if expected and expected.endswith(":local"):
            dockerfile = self.dockerfile()
            if dockerfile is None or dockerfile.relative_to(self.config.project_dir).as_posix() != self.entry.tag:
                self.fail("build.dockerfile", f"{image} must be built from {self.entry.tag}, not {dockerfile}")

    def compose_args(self) -> list[str]:
        command = self.service.get("command")
        if command is None:
            dockerfile = self.dockerfile()
            command = (final_stage(dockerfile).cmd if dockerfile else None) or []
        args = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
        if self.entry.program is not None:
            if not args or args[0] != self.entry.program:
                self.fail("command", f"should start with {self.entry.program}: {args}")
                return args
            args = args[1:]
        return [to_host(arg, self.mounts) for arg in args]

    def check_command(self) -> None:
        theirs = self.compose_args()
        ours = native_args(self.native)
        lead_theirs, lead_ours = _subcommand(theirs), _subcommand(ours)
        if lead_theirs != lead_ours:
            self.fail("command", f"subcommand {lead_theirs} where heron up runs {lead_ours}")
        for name in sorted(flag_names(theirs) | flag_names(ours)):
            native_values, compose_values = flag_values(ours, name), flag_values(theirs, name)
            if name in self.entry.flags:
                if native_values != compose_values:
                    self.fail(f"command {name}", f"{compose_values} where heron up passes {native_values}")
            elif not self.documented(f"flag {name}"):
                side = "heron up" if native_values and not compose_values else "compose"
                self.fail(f"command {name}", f"set differently or only by {side}, and not documented")

    def check_ports(self) -> None:
        published: dict[str, str] = {}
        for entry in self.raw.get("ports") or []:
            match = _PUBLISHED.match(str(entry))
            if match is None:
                self.fail("ports", f"{entry!r} is not [ip:]${{VAR:-port}}:port")
                continue
            published[match.group("target")] = match.group("published")
        for port in self.native.ports:
            name = next(n for n, (var, _d) in ev.PORT_VARIABLES.items() if var == port.env_var)
            default = ev.PORT_VARIABLES[name][1]
            wanted = f"${{{port.env_var}:-{default}}}"
            got = published.pop(str(default), None)
            if got is None:
                if not self.documented(f"port {name}"):
                    self.fail(f"ports {default}", f"not published; heron up listens on {port.env_var}")
            elif got != wanted:
                self.fail(f"ports {default}", f"published as {got}, heron up's setting is {wanted}")
        for target in published:
            self.fail(f"ports {target}", "published by compose, but heron up does not listen there")

    def compose_env(self) -> tuple[dict[str, str], dict[str, Any]]:
        dockerfile = self.dockerfile()
        image_env = final_stage(dockerfile).env if dockerfile else {}
        env = {**image_env, **{k: str(v) for k, v in as_mapping(self.service.get("environment")).items()}}
        return env, as_mapping(self.raw.get("environment"))

    def check_env(self) -> None:
        env, raw_env = self.compose_env()
        ours = {k: v for k, v in self.native.env.items() if SETTINGS.search(k)}
        theirs = {k: v for k, v in env.items() if SETTINGS.search(k)}
        for name in sorted(ours.keys() | theirs.keys()):
            key = f"env {name}"
            if name in ours and name in theirs:
                native, compose = to_compose(ours[name], self.config), to_host(theirs[name], self.mounts)
                if native != compose and not self.documented(key):
                    self.fail(f"environment.{name}", f"{theirs[name]!r} where heron up sets {ours[name]!r}")
            elif name in ours:
                if not self.documented(key):
                    self.fail(f"environment.{name}", "heron up sets it, compose does not (and it is not documented)")
            else:
                passed = _PASS_THROUGH.match(str(raw_env.get(name, "")))
                if not (passed and passed.group("name") == name) and not self.documented(key):
                    self.fail(f"environment.{name}", "only compose sets it (and it is not documented)")


def drift(
    native: Mapping[str, ServiceSpec],
    raw: Mapping[str, Any],
    document: Mapping[str, Any],
    config: StackConfig,
    shared: Sequence[SharedService] = SHARED,
) -> list[Problem]:
    """Disagreements between compose (`raw` before and `document` after interpolation) and `native` specs."""
    problems: list[Problem] = []
    for entry in shared:
        if entry.compose not in document.get("services", {}):
            problems.append(Problem(entry.compose, "services", "missing from compose"))
        elif entry.native not in native:
            problems.append(Problem(entry.compose, "services", f"heron up has no {entry.native} service"))
        else:
            problems += Comparison(entry, native[entry.native], raw, document, config).run()
    return problems
