"""`heron doctor`: check every service, the pipeline behind them and the data path end to end."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Mapping, Sequence

import httpx

from heron_stack.config import StackConfig
from heron_stack.doctor import alert_checks, pipeline_checks, report, service_checks
from heron_stack.doctor.adapters import Probes
from heron_stack.doctor.models import Check, Status, warn
from heron_stack.runner import Runner

AGENT_INTERVAL_VAR = "HERON_AGENT_INTERVAL"
"""otel_agent's collection interval variable; `heron up` passes this shell's value on to the agent."""
DEFAULT_AGENT_INTERVAL = 10.0
DEFAULT_TIMEOUT = 30.0
DEFAULT_CANARY_WAIT = 15.0


def timeout_seconds(raw: str) -> float:
    """`--timeout`: a number of seconds from 1 to 600 (argparse turns the error into a usage message)."""
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 1 <= value <= 600:
        raise argparse.ArgumentTypeError(f"{raw!r} is not valid: a number of seconds from 1 to 600")
    return value


def agent_interval(env: Mapping[str, str]) -> float:
    try:
        value = float(env.get(AGENT_INTERVAL_VAR) or DEFAULT_AGENT_INTERVAL)
    except ValueError:
        return DEFAULT_AGENT_INTERVAL
    return value if value > 0 else DEFAULT_AGENT_INTERVAL


def _healthy(checks: Sequence[Check], component: str) -> bool:
    own = [c for c in checks if c.component == component]
    return bool(own) and all(c.status is Status.OK for c in own)


def diagnose(
    config: StackConfig,
    probes: Probes,
    *,
    canary_wait: float = DEFAULT_CANARY_WAIT,
    agent_every: float = DEFAULT_AGENT_INTERVAL,
) -> list[Check]:
    """Every check, in the order of the data path; later checks are skipped when what they need is down."""
    services = service_checks.check_services(config, probes)
    up = {name for name in ("prometheus", "victorialogs", "redis", "collector") if _healthy(services, name)}
    checks = list(services)
    if "prometheus" in up:
        checks += pipeline_checks.check_pipeline(config, probes, agent_every)
    else:
        checks.append(warn("pipeline", "not checked: Prometheus is not ready", "fix the prometheus check first"))
    if "redis" in up:
        checks += alert_checks.check_alert_engine(config, probes)
    else:
        checks.append(warn("alert-engine", "not checked: Redis is not ready", "fix the redis check first"))
    if "collector" in up:
        follow = {"metrics": "prometheus" in up, "logs": "victorialogs" in up}
        wait = min(canary_wait, max(1.0, probes.remaining() - 2 * probes.timeout))
        checks += _canary(config, probes, wait, follow)
    else:
        checks.append(warn("canary", "not sent: the collector is not ready", "fix the collector check first"))
    return checks


def _canary(config: StackConfig, probes: Probes, wait: float, follow: Mapping[str, bool]) -> list[Check]:
    try:  # the OTLP messages and the telemetry parser come with the `doctor` extra; `heron up` needs neither
        from heron_stack.doctor import canary_checks
    except ImportError as exc:
        return [warn("canary", f"not sent: {exc.name} is not installed", "pip install 'heron-stack[doctor]'")]
    return canary_checks.run_canary(config, probes, wait, follow)


def default_probes(config: StackConfig, timeout: float, request_timeout: float = 2.0) -> Probes:
    http = httpx.Client(trust_env=False)  # loopback services: never through a proxy from the environment
    probes = Probes(http=http, processes=Runner(config.state_dir), which=shutil.which, timeout=request_timeout)
    probes.deadline = probes.monotonic() + timeout
    return probes


def doctor_command(config: StackConfig, as_json: bool = False, timeout: float = DEFAULT_TIMEOUT) -> int:
    """Run every check against the stack described by `config`, print the report, return the exit code."""
    started = time.monotonic()
    probes = default_probes(config, timeout)
    try:
        checks = diagnose(config, probes, agent_every=agent_interval(os.environ))
    finally:
        probes.http.close()
    seconds = time.monotonic() - started
    sys.stdout.write((report.render_json if as_json else report.render_text)(checks, seconds) + "\n")
    return report.exit_code(checks)
