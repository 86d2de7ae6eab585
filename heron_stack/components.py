"""Find, install or build the real parts the stack runs: collector, VictoriaLogs, Prometheus, Redis, Thanos.

The collector and VictoriaLogs are built from Go modules (pinned in `build/`) and cached per version and
build-input hash outside the project, so a second run or CI on the same machine reuses them.
Prometheus, promtool and Redis come from Debian packages.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import yaml

from heron_stack.config import StackConfig
from heron_stack.exceptions import BuildFailed, ComponentMissing

Progress = Callable[[str], None]

COLLECTOR_BINARY = "heron-otelcol"
VICTORIALOGS_BINARY = "victoria-logs"
THANOS_BINARY = "thanos"
THANOS_GO_DIRECTIVE = "1.26.0"
"""The `go` line of Thanos' go.mod at the pinned release: the wrapper module asks for the same toolchain."""
THANOS_BUILD_TAGS = ("netgo", "slicelabels")
"""The tags of Thanos' own release build (.promu.yml): its label code converts Prometheus labels in place and
needs the slice layout; without `slicelabels` the receivers corrupt memory answering gRPC."""
BUILDINFO_VERSION = "github.com/VictoriaMetrics/VictoriaMetrics/lib/buildinfo.Version"
PROMETHEUS_VERSION_VARS = "github.com/prometheus/common/version"
GO_FIX = "Install Go 1.25 or newer (the Go toolchain from your distribution's backports or the official downloads)"


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class ComponentStatus:
    """One line of `heron components`."""

    name: str
    version: str
    path: Path | None
    status: str


def _version_of(argv: Sequence[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    text = out.stdout + out.stderr
    match = re.search(r"v?(\d+\.\d+\.\d+)", text)
    return match.group(1) if match else ""


def _digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for path in paths:
        if path.exists():
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


def _try_lock(handle: IO[str]) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _can_sudo() -> bool:
    if os.geteuid() == 0:
        return True
    if shutil.which("sudo") is None:
        return False
    return subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False).returncode == 0


def apt_install(packages: Sequence[str], progress: Progress = _stderr) -> None:
    """Install Debian packages with apt-get (as root, or with passwordless sudo)."""
    if shutil.which("apt-get") is None or not _can_sudo():
        raise ComponentMissing(
            ", ".join(packages),
            "not installed, and this user cannot install Debian packages",
            f"Run: sudo apt-get install -y {' '.join(packages)}",
        )
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    progress(f"installing Debian packages: {' '.join(packages)}")
    for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        done = subprocess.run([*prefix, *argv], env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ComponentMissing(
                ", ".join(packages),
                f"`{' '.join(argv)}` failed: {done.stderr.strip()[-400:]}",
                "Fix the package sources and try again",
            )


def _run_logged(
    argv: Sequence[str], *, cwd: Path, env: dict[str, str], log: Path, step: str, name: str, progress: Progress
) -> None:
    """Run a build step, appending its output to `log` and echoing a short progress line per output line."""
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"$ {' '.join(argv)}\n")
        fh.flush()
        with subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as proc:
            assert proc.stdout is not None
            for count, line in enumerate(proc.stdout, start=1):
                fh.write(line)
                if count % 50 == 0 or "Compiling" in line or "Getting go modules" in line:
                    progress(f"[{name}] {step}: {count} lines of output so far ({line.strip()[:90]})")
            returncode = proc.wait()
        if returncode != 0:
            raise BuildFailed(name, step, str(log))


class DebianComponent:
    """A binary that comes from a Debian package."""

    def __init__(self, name: str, binary: str, package: str, version_argv: Sequence[str]) -> None:
        self.name, self.binary, self.package, self.version_argv = name, binary, package, version_argv

    def locate(self) -> ComponentStatus:
        path = shutil.which(self.binary)
        if path is None:
            return ComponentStatus(self.name, "-", None, f"missing (apt-get install {self.package})")
        return ComponentStatus(self.name, _version_of([path, *self.version_argv]), Path(path), "installed")

    def ensure(self, progress: Progress = _stderr) -> Path:
        status = self.locate()
        if status.path is None:
            apt_install([self.package], progress)
            status = self.locate()
        if status.path is None:
            raise ComponentMissing(self.name, f"{self.binary} is still not on PATH", f"Install {self.package}")
        return status.path


class GoComponent:
    """A binary built from Go modules pinned in `build/`, cached by version and input hash."""

    def __init__(
        self,
        name: str,
        binary: str,
        version: str,
        inputs: Sequence[Path],
        cache_root: Path,
        path_candidates: Sequence[str],
        version_argv: Sequence[str],
    ) -> None:
        self.name, self.binary, self.version = name, binary, version
        self.inputs, self.path_candidates, self.version_argv = inputs, path_candidates, version_argv
        self.cache_dir = cache_root / name / f"{version}-{_digest(*inputs)}"

    @property
    def cached_path(self) -> Path:
        return self.cache_dir / self.binary

    def locate(self) -> ComponentStatus:
        if self.cached_path.exists():
            built = _version_of([str(self.cached_path), *self.version_argv]) or "unknown"
            return ComponentStatus(self.name, built, self.cached_path, "cached")
        for candidate in self.path_candidates:
            found = shutil.which(candidate)
            if found and _version_of([found, *self.version_argv]) == self.version:
                return ComponentStatus(self.name, self.version, Path(found), "on PATH")
        when = (
            "when the tests or `heron up --topology cluster` need it"
            if self.name in ON_DEMAND
            else "on first `heron up`"
        )
        return ComponentStatus(self.name, self.version, None, f"not built yet (built {when})")

    def ensure(self, progress: Progress = _stderr) -> Path:
        status = self.locate()
        if status.path is not None:
            return status.path
        if shutil.which("go") is None:
            raise ComponentMissing(self.name, "no Go toolchain to build it from its modules", GO_FIX)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        # One build at a time per component: a second `heron` waits, then finds the cached binary.
        with (self.cache_dir / ".lock").open("w") as lock:
            if not _try_lock(lock):
                progress(f"[{self.name}] another build is running; waiting for it")
                fcntl.flock(lock, fcntl.LOCK_EX)
            if self.cached_path.exists():
                return self.cached_path
            log = self.cache_dir / "build.log"
            log.write_text("", encoding="utf-8")
            progress(f"[{self.name}] building {self.name} {self.version} (first run only; takes minutes; log: {log})")
            self._build(log, progress)
        if not self.cached_path.exists():
            raise BuildFailed(self.name, "install binary", str(log))
        progress(f"[{self.name}] built {self.cached_path}")
        return self.cached_path

    def _build(self, log: Path, progress: Progress) -> None:
        raise NotImplementedError


class CollectorComponent(GoComponent):
    """The OpenTelemetry Collector, built by the Collector Builder from `build/otelcol-builder.yaml`."""

    def __init__(self, project_dir: Path, cache_root: Path) -> None:
        self.manifest = project_dir / "build" / "otelcol-builder.yaml"
        data = yaml.safe_load(self.manifest.read_text(encoding="utf-8"))
        super().__init__(
            "collector",
            COLLECTOR_BINARY,
            str(data["dist"]["version"]),
            [self.manifest],
            cache_root,
            [COLLECTOR_BINARY, "otelcol-contrib"],
            ["--version"],
        )

    def _build(self, log: Path, progress: Progress) -> None:
        tools = self.cache_dir.parent / "tools" / f"builder-v{self.version}"
        env = {**os.environ, "GOBIN": str(tools), "GOFLAGS": "-mod=mod"}
        builder = tools / "builder"
        if not builder.exists():
            _run_logged(
                ["go", "install", f"go.opentelemetry.io/collector/cmd/builder@v{self.version}"],
                cwd=self.cache_dir,
                env=env,
                log=log,
                step="install builder",
                name=self.name,
                progress=progress,
            )
        work = self.cache_dir / "src"
        manifest = yaml.safe_load(self.manifest.read_text(encoding="utf-8"))
        manifest["dist"]["output_path"] = str(work)
        staged = self.cache_dir / "manifest.yaml"
        staged.write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
        _run_logged(
            [str(builder), f"--config={staged}"],
            cwd=self.cache_dir,
            env=env,
            log=log,
            step="build",
            name=self.name,
            progress=progress,
        )
        (work / self.binary).replace(self.cached_path)


class GoInstallComponent(GoComponent):
    """A binary that `go install MODULE@VERSION` builds as it is, pinned in `build/versions.yaml`."""

    def __init__(
        self,
        name: str,
        binary: str,
        project_dir: Path,
        cache_root: Path,
        version_argv: Sequence[str],
        *,
        pin_name: str | None = None,
    ) -> None:
        pins = project_dir / "build" / "versions.yaml"
        self.pin = PinnedModule.read(pins, pin_name or name)
        super().__init__(name, binary, self.pin.version.lstrip("v"), [], cache_root, [binary], version_argv)
        # Keyed by this component's own pin, so editing another entry of the file rebuilds nothing.
        pin_hash = hashlib.sha256(f"{self.pin.module}@{self.pin.version}".encode()).hexdigest()[:12]
        self.cache_dir = cache_root / name / f"{self.version}-{pin_hash}"

    def ldflags(self) -> str:
        """The version stamp, so `-version` and the store's own metrics report the pinned release."""
        return f"-X {BUILDINFO_VERSION}={self.binary}-{self.pin.version}"

    def packages(self) -> list[str]:
        return [self.pin.ref]

    def _build(self, log: Path, progress: Progress) -> None:
        env = {**os.environ, "GOBIN": str(self.cache_dir), "GOFLAGS": "-mod=mod"}
        _run_logged(
            ["go", "install", f"-ldflags={self.ldflags()}", *self.packages()],
            cwd=self.cache_dir,
            env=env,
            log=log,
            step="go install",
            name=self.name,
            progress=progress,
        )


@dataclass(frozen=True)
class PinnedModule:
    """One entry of `build/versions.yaml`: the Go module to install, its version and its image."""

    module: str
    version: str
    image: str

    @classmethod
    def read(cls, path: Path, name: str) -> PinnedModule:
        entry = yaml.safe_load(path.read_text(encoding="utf-8"))[name]
        return cls(module=str(entry["module"]), version=str(entry["version"]), image=str(entry["image"]))

    @property
    def ref(self) -> str:
        return f"{self.module}@{self.version}"

    @property
    def image_ref(self) -> str:
        return f"{self.image}:{self.release}"

    @property
    def release(self) -> str:
        """The release the module version stands for (Prometheus' module v0.316.0 is v3.16.0)."""
        if self.module == "github.com/prometheus/prometheus":
            _zero, minor, patch = self.version.lstrip("v").split(".")
            return f"v{int(minor) // 100}.{int(minor) % 100}.{patch}"
        return self.version


class PrometheusModuleComponent(GoInstallComponent):
    """Prometheus and promtool built from Prometheus' Go module, stamped with their release version.

    The module carries no web UI assets, so this build answers the API and not `/graph`.
    """

    def __init__(self, name: str, binary: str, project_dir: Path, cache_root: Path) -> None:
        super().__init__(name, binary, project_dir, cache_root, ["--version"], pin_name="prometheus")
        # One `go install` builds both binaries into one directory, under one lock.
        self.cache_dir = cache_root / "prometheus3" / self.cache_dir.name

    def ldflags(self) -> str:
        stamp = {"Version": self.pin.release.lstrip("v"), "Branch": "HEAD", "Revision": self.pin.version}
        return " ".join(
            f"-X {PROMETHEUS_VERSION_VARS}.{var}={value}" for var, value in {**stamp, "BuildUser": "heron"}.items()
        )

    def packages(self) -> list[str]:
        return [f"{self.pin.module}/cmd/{cmd}@{self.pin.version}" for cmd in ("prometheus", "promtool")]


class ThanosComponent(GoInstallComponent):
    """Thanos (Apache-2.0): Receive, Query, Store Gateway and Compactor of the cluster topology, one binary.

    Thanos' go.mod has `replace` lines, which Go applies only in the main module, so `go install
    MODULE@VERSION` refuses it. The build writes a small wrapper module that requires the pinned release
    and repeats those lines (`build/thanos.replace`), then builds `cmd/thanos` inside it.
    """

    def __init__(self, project_dir: Path, cache_root: Path) -> None:
        super().__init__("thanos", THANOS_BINARY, project_dir, cache_root, ["--version"])
        self.replace_file = project_dir / "build" / "thanos.replace"
        replace = self.replace_file.read_text(encoding="utf-8")
        inputs = f"{self.pin.module}@{self.pin.version}\n{','.join(THANOS_BUILD_TAGS)}\n{replace}"
        self.cache_dir = cache_root / "thanos" / f"{self.version}-{hashlib.sha256(inputs.encode()).hexdigest()[:12]}"

    def ldflags(self) -> str:
        stamp = {"Version": self.version, "Branch": "HEAD", "Revision": self.pin.version, "BuildUser": "heron"}
        return " ".join(f"-X {PROMETHEUS_VERSION_VARS}.{var}={value}" for var, value in stamp.items())

    def wrapper_go_mod(self) -> str:
        """The wrapper module's go.mod: the pinned release plus Thanos' own replace lines."""
        replace = self.replace_file.read_text(encoding="utf-8")
        return (
            "module heron.local/thanos-build\n\n"
            f"go {THANOS_GO_DIRECTIVE}\n\n"
            f"require {self.pin.module} {self.pin.version}\n\n"
            f"{replace}"
        )

    def _build(self, log: Path, progress: Progress) -> None:
        work = self.cache_dir / "src"
        work.mkdir(parents=True, exist_ok=True)
        (work / "go.mod").write_text(self.wrapper_go_mod(), encoding="utf-8")
        env = {**os.environ, "GOFLAGS": "-mod=mod -buildvcs=false"}
        _run_logged(
            [
                "go",
                "build",
                f"-tags={','.join(THANOS_BUILD_TAGS)}",
                f"-ldflags={self.ldflags()}",
                "-o",
                str(self.cached_path),
                f"{self.pin.module}/cmd/thanos",
            ],
            cwd=work,
            env=env,
            log=log,
            step="go build",
            name=self.name,
            progress=progress,
        )


def victorialogs_component(project_dir: Path, cache_root: Path) -> GoInstallComponent:
    """VictoriaLogs (Apache-2.0): the log store, installed with `go install` at the pinned version."""
    return GoInstallComponent("victorialogs", VICTORIALOGS_BINARY, project_dir, cache_root, ["-version"])


Component = DebianComponent | CollectorComponent | GoInstallComponent


def registry(config: StackConfig) -> dict[str, Component]:
    """Every component the stack and its tests use, by name."""
    cache = config.cache_dir
    return {
        "collector": CollectorComponent(config.project_dir, cache),
        "victorialogs": victorialogs_component(config.project_dir, cache),
        "prometheus": DebianComponent("prometheus", "prometheus", "prometheus", ["--version"]),
        "promtool": DebianComponent("promtool", "promtool", "prometheus", ["--version"]),
        # Built only when asked for (the tests): it adds minutes to a first build and has no UI.
        "prometheus3": PrometheusModuleComponent("prometheus3", "prometheus", config.project_dir, cache),
        "promtool3": PrometheusModuleComponent("promtool3", "promtool", config.project_dir, cache),
        "redis": DebianComponent("redis", "redis-server", "redis-server", ["--version"]),
        # Redis under Sentinel (the cluster topology, docs/sentinel.md): the Debian package's sentinel binary.
        "redis-sentinel": DebianComponent("redis-sentinel", "redis-sentinel", "redis-sentinel", ["--version"]),
        # The cluster topology's parts: built or installed when `heron up --topology cluster` or its tests ask.
        "thanos": ThanosComponent(config.project_dir, cache),
        "haproxy": DebianComponent("haproxy", "haproxy", "haproxy", ["-v"]),
    }


ON_DEMAND = frozenset({"prometheus3", "promtool3", "redis-sentinel", "thanos", "haproxy"})
"""Components built only when named: the first `make up` must not wait for them."""


def ensure_all(
    config: StackConfig, names: Sequence[str] | None = None, progress: Progress = _stderr
) -> dict[str, Path]:
    """Install or build every named component (all by default) and return their paths.

    The builds run side by side: one Go build leaves cores idle while it downloads modules and links.
    """
    parts = registry(config)
    wanted = list(names or [name for name in parts if name not in ON_DEMAND])
    with ThreadPoolExecutor(max_workers=len(wanted) or 1, thread_name_prefix="heron-build") as pool:
        futures = {name: pool.submit(parts[name].ensure, progress) for name in wanted}
        return {name: future.result() for name, future in futures.items()}
