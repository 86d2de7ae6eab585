"""The local stack: make sure every component exists, then run them in order on loopback."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from heron_stack import cluster, components, services
from heron_stack.config import StackConfig
from heron_stack.runner import Runner, ServiceSpec, ServiceState


@dataclass(frozen=True)
class StartResult:
    name: str
    started: bool
    urls: dict[str, str]


class Stack:
    """One local Heron stack rooted at a state directory."""

    def __init__(self, config: StackConfig, progress: components.Progress | None = None) -> None:
        self.config = config
        self.runner = Runner(config.state_dir)
        self._progress = progress or components._stderr
        self._binaries: dict[str, Path] = {}

    @property
    def start_order(self) -> tuple[str, ...]:
        return cluster.START_ORDER if self.config.topology == "cluster" else services.START_ORDER

    def specs(self, names: Sequence[str] | None = None) -> dict[str, ServiceSpec]:
        """Specs of the named services (all by default), installing or building their components first."""
        wanted = [n for n in self.start_order if names is None or n in names]
        if self.config.topology == "cluster":
            needed = [c for c in cluster.components_for(wanted) if c not in self._binaries]
        else:
            needed = [c for c in services.components_for(wanted, self.config) if c not in self._binaries]
        self._binaries.update(components.ensure_all(self.config, needed, self._progress))
        build = cluster.build_specs if self.config.topology == "cluster" else services.build_specs
        every = build(self.config, self._binaries)
        return {name: spec for name, spec in every.items() if name in wanted}

    def up(self, names: Sequence[str] | None = None) -> list[StartResult]:
        """Start every service (or the named ones) that is not running yet; wait for each to be ready."""
        results = []
        for name, spec in self.specs(names).items():
            started = self.runner.start(spec, self.config.ready_timeout)
            results.append(StartResult(name, started, dict(spec.urls)))
        return results

    def start_service(self, name: str) -> None:
        self.runner.start(self.specs([name])[name], self.config.ready_timeout)

    def stop_service(self, name: str) -> None:
        self.runner.stop(name)

    def down(self) -> list[str]:
        """Stop what `up` started from this state directory, collector first."""
        return self.runner.stop_all(list(reversed(self.start_order)))

    def status(self) -> list[ServiceState]:
        return [self.runner.state(name) for name in self.start_order]

    def log_path(self, name: str) -> Path:
        return self.runner.log_path(name)
