"""Fleet simulator: OTLP metrics of N synthetic hosts through the agent's own pipeline, encoder and exporter.

Only the flags and the config resolver load eagerly, so `heron` starts fast and works without the agent
extra; the fleet, the hosts and the runner (which need OpenTelemetry) load on first use.
"""

from __future__ import annotations

import argparse
import importlib
from typing import TYPE_CHECKING, Any

from heron_stack.exceptions import ComponentMissing
from heron_stack.simulate.config import SimulateConfig, add_arguments, options_from, resolve

if TYPE_CHECKING:
    from heron_stack.simulate.fleet import Batch, Fleet, plan_batches
    from heron_stack.simulate.host import SyntheticHost
    from heron_stack.simulate.profiles import HostProfile, make_profile, make_profiles, resource_for
    from heron_stack.simulate.runner import IntervalReport, Simulator

_LAZY = {
    "Batch": "fleet",
    "Fleet": "fleet",
    "plan_batches": "fleet",
    "SyntheticHost": "host",
    "HostProfile": "profiles",
    "make_profile": "profiles",
    "make_profiles": "profiles",
    "resource_for": "profiles",
    "IntervalReport": "runner",
    "Simulator": "runner",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)


def run_command(args: argparse.Namespace) -> int:
    """`heron simulate`: run the fleet with the parsed flags."""
    try:
        from heron_stack.simulate.command import run
    except ImportError as exc:
        raise ComponentMissing(
            "heron simulate", f"the agent's OpenTelemetry packages are not installed ({exc.name})",
            "Install them with `pip install 'heron-stack[agent]'`.",
        ) from None  # fmt: skip
    return run(args)


__all__ = [
    "Batch",
    "Fleet",
    "HostProfile",
    "IntervalReport",
    "SimulateConfig",
    "Simulator",
    "SyntheticHost",
    "add_arguments",
    "make_profile",
    "make_profiles",
    "options_from",
    "plan_batches",
    "resolve",
    "resource_for",
    "run_command",
]
