"""Default action factories: request body + environment -> action."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from loadgen.actions.base import Action, ActionEnv
from loadgen.actions.cpu import CpuStress
from loadgen.actions.disk import DiskIo
from loadgen.actions.memory import MemoryLeak
from loadgen.actions.traffic import Traffic
from loadgen.targets import Resolver, resolve_targets, system_resolver

ActionFactory = Callable[[Any, ActionEnv], Action]


def default_factories(resolver: Resolver = system_resolver) -> Mapping[str, ActionFactory]:
    """The real actions; traffic endpoints are vetted against the allow-list before anything starts."""

    def traffic(request: Any, env: ActionEnv) -> Action:
        urls = resolve_targets(request.endpoints, env.config.own_url, env.config.traffic_allow, resolver)
        return Traffic(request, env, urls)

    return {
        "cpu-stress": CpuStress,
        "memory-leak": MemoryLeak,
        "disk-io": DiskIo,
        "traffic": traffic,
    }
