"""A private Heron stack for benchmarks: `heron_stack` on free loopback ports in a temporary directory.

Peers (node_exporter, Alertmanager) run under the same runner, so `down` stops them too.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import yaml

from heron_stack import config as stack_config
from heron_stack import environment_variables as ev
from heron_stack.runner import ServiceSpec
from heron_stack.services import heron_specs, http_ready
from heron_stack.stack import Stack


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def clean_env() -> dict[str, str]:
    """This process' environment without HERON_* / OTEL_* settings, so a developer's shell cannot leak in."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("HERON_", "OTEL_"))}


FLEET_COLLECTOR_MEMORY_MIB = 1500
"""The collector memory limit docs/simulate.md tells fleet operators to set instead of the default 400 MiB."""


@contextlib.contextmanager
def collector_memory(mib: int | None) -> Iterator[dict[str, str]]:
    """Start services under this block with the collector's memory_limiter at `mib` (spike a quarter of it):
    the runner passes this process' environment on to the collector, which reads both. None: the default."""
    limits = {}
    if mib:
        limits = {"HERON_COLLECTOR_MEMORY_LIMIT_MIB": str(mib), "HERON_COLLECTOR_MEMORY_SPIKE_MIB": str(mib // 4)}
    saved = {k: os.environ.get(k) for k in limits}
    os.environ.update(limits)
    try:
        yield limits
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def service_pid(pid: int) -> int:
    """The pid of the program a runner service runs: the runner's own pid is `heron_stack.supervise`, which
    runs the program as its only child (and restarts it)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return pid
    return int(children[0]) if len(children) == 1 else pid


def stratified(count: int, rng: random.Random) -> list[float]:
    """`count` values in [0, 1), one in each 1/count slice, shuffled.

    Pauses drawn from these put trial starts at evenly spread phases of a periodic schedule (a collection
    cycle, a scrape, an evaluation), even with few trials and a pause that starts in step with it.
    """
    values = [(i + rng.random()) / count for i in range(count)]
    rng.shuffle(values)
    return values


def until(check: Callable[[], bool], timeout: float, what: str, step: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except (OSError, httpx.HTTPError, KeyError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not reached within {timeout:g} s")
        time.sleep(step)


class BenchStack:
    """`with BenchStack(["redis", "prometheus", "collector"]) as s:` starts them; leaving stops all."""

    def __init__(self, services: Sequence[str], prefix: str = "heron-bench-") -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix=prefix)
        self.dir = Path(self._tmp.name)
        names = list(ev.PORT_VARIABLES)
        ports = dict(zip(names, free_ports(len(names)), strict=True))
        env = clean_env()
        self.env = env
        # Benchmarks measure the Prometheus compose ships: v3, built from its module.
        self.config = stack_config.resolve({**env, "HERON_PROMETHEUS": "v3"}, state_dir=self.dir / "state", ports=ports)
        self.stack = Stack(self.config, progress=lambda line: print(line, file=sys.stderr, flush=True))
        self._services = list(services)
        self.http = httpx.Client(timeout=10.0)

    def __enter__(self) -> BenchStack:
        try:
            self.stack.up(self._services)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()
        self.stack.down()
        self._tmp.cleanup()

    @property
    def prometheus_url(self) -> str:
        return self.config.url("prometheus")

    def start(self, spec: ServiceSpec) -> None:
        self.stack.runner.start(spec, self.config.ready_timeout)

    def start_heron(self, name: str, extra_argv: Sequence[str] = (), env: Mapping[str, str] | None = None) -> None:
        """Start one of `heron up`'s own services with extra arguments or environment."""
        spec = heron_specs(self.config)[name]
        self.start(replace(spec, argv=[*spec.argv, *extra_argv], env={**spec.env, **(env or {})}))

    def start_binary(self, name: str, argv: Sequence[str], ready_url: str) -> None:
        """Start a peer's binary (found on PATH) under the runner, ready when `ready_url` answers 200."""
        binary = shutil.which(argv[0])
        if binary is None:
            raise FileNotFoundError(f"{argv[0]} is not on PATH; install the Debian package that ships it")
        self.start(ServiceSpec(name=name, argv=[binary, *argv[1:]], ready=http_ready(ready_url)))

    def extend_prometheus(
        self,
        scrape_configs: Sequence[dict[str, Any]] = (),
        rule_files: Sequence[Path] = (),
        alertmanager: str | None = None,
    ) -> None:
        """Add jobs, rule files or an Alertmanager to the running Prometheus' config and reload it."""
        path = self.config.state_dir / "prometheus" / "prometheus.yml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data.setdefault("scrape_configs", []).extend(scrape_configs)
        data.setdefault("rule_files", []).extend(str(p) for p in rule_files)
        if alertmanager:
            data["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        resp = self.http.post(f"{self.prometheus_url}/-/reload")
        if resp.status_code != 200:
            raise RuntimeError(f"Prometheus refused the benchmark config: {resp.text.strip()}")

    def query(self, promql: str) -> list[dict[str, Any]]:
        """Instant query; the `result` list (vector or, for a range selector, matrix)."""
        resp = self.http.get(f"{self.prometheus_url}/api/v1/query", params={"query": promql})
        resp.raise_for_status()
        result: list[dict[str, Any]] = resp.json()["data"]["result"]
        return result
