"""`heron simulate` flags and their one resolver: command line, then the agent's OTEL_* environment, then defaults."""

from __future__ import annotations

import argparse
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypedDict

from heron_stack import config as stack_config
from heron_stack.exceptions import ConfigError

MAX_HOSTS = 100_000
MAX_PRE_ENCODED = 50_000
"""Host readings `--pre-encode` may hold at once (hosts x intervals; about 23 KB each, 1.1 GiB in all)."""
PROTOCOLS = {"http": "http/protobuf", "grpc": "grpc"}
_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


@dataclass(frozen=True)
class SimulateConfig:
    """What `heron simulate` runs: how many hosts, how often, for how long, and where to send."""

    hosts: int
    interval: float = 10.0
    cycles: int | None = None
    """Intervals to run; None runs until interrupted."""
    endpoint: str = "http://127.0.0.1:4318"
    protocol: str = "http/protobuf"
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    compression: str = "gzip"
    timeout: float = 10.0
    seed: int = 0
    prefix: str = "sim-"
    batch_hosts: int = 50
    senders: int = 4
    service_name: str = "otel-agent"
    attributes: Mapping[str, str] = field(default_factory=dict)
    pre_encode: bool = False
    """Build every interval's requests before sending the first (runner.Simulator)."""


class _Export(TypedDict):
    endpoint: str
    protocol: str
    headers: dict[str, str]
    compression: str
    timeout: float
    service_name: str
    attributes: dict[str, str]


def _number(flag: str, raw: object, kind: type[int] | type[float], low: float, high: float) -> float:
    allowed = f"a {'whole ' if kind is int else ''}number from {low:g} to {high:g}"
    try:
        value = kind(str(raw))
    except ValueError:
        raise ConfigError(flag, raw, allowed) from None
    if not low <= value <= high or (kind is float and not math.isfinite(value)):
        raise ConfigError(flag, raw, allowed)
    return value


def _cycles(options: Mapping[str, object], interval: float) -> int | None:
    cycles, duration = options.get("cycles"), options.get("duration")
    if cycles is not None and duration is not None:
        raise ConfigError("--duration", duration, "leave it out when --cycles is given (use one of the two)")
    if cycles is not None:
        return int(_number("--cycles", cycles, int, 1, 10**9))
    if duration is not None:
        seconds = _number("--duration", duration, float, 1, 10**9)
        return max(1, round(seconds / interval))
    return None


def _export(options: Mapping[str, object], env: Mapping[str, str]) -> _Export:
    """Endpoint, protocol and headers the way the agent resolves them, defaulting to the local stack."""
    from otel_agent.config import resolve_config
    from otel_agent.exceptions import ConfigError as AgentConfigError

    protocol = options.get("protocol")
    if protocol is not None and protocol not in PROTOCOLS:
        raise ConfigError("--protocol", protocol, f"one of {', '.join(PROTOCOLS)}")
    endpoint = options.get("endpoint")
    if endpoint is not None and not re.match(r"^https?://[^/\s]+", str(endpoint)):
        raise ConfigError("--endpoint", endpoint, "an http:// or https:// URL, e.g. http://127.0.0.1:4318")
    cli = {"export.endpoint": endpoint, "export.protocol": PROTOCOLS.get(str(protocol)) if protocol else None}
    try:
        agent = resolve_config(cli, env, config_file=None)
    except AgentConfigError as exc:
        field_name = exc.field or "environment"
        raise ConfigError(field_name, env.get(field_name, exc.value), str(exc)) from None
    export = agent.export
    stack = stack_config.resolve(env)
    headers = dict(export.headers)
    if stack.otlp_token and not any(k.lower() == "authorization" for k in headers):
        headers["authorization"] = f"Bearer {stack.otlp_token}"
    url = export.metrics_url()
    if export.endpoint is None and export.metrics_endpoint is None:
        url = stack.url("otlp_grpc") if export.protocol == "grpc" else stack.url("otlp_http") + "/v1/metrics"
    return _Export(
        endpoint=url,
        protocol=export.protocol,
        headers=headers,
        compression=export.compression,
        timeout=export.timeout,
        service_name=agent.resource.service_name,
        attributes=dict(agent.resource.attributes),
    )


def resolve(options: Mapping[str, object], env: Mapping[str, str] | None = None) -> SimulateConfig:
    """Validate command-line `options` (None = not given) over the environment and defaults."""
    env = os.environ if env is None else env
    if options.get("hosts") is None:
        raise ConfigError("--hosts", None, f"required: how many hosts to simulate, 1 to {MAX_HOSTS}")
    hosts = int(_number("--hosts", options["hosts"], int, 1, MAX_HOSTS))
    interval = _number("--interval", options.get("interval", 10.0) or 10.0, float, 1, 3600)
    prefix = str(options.get("prefix") or "sim-")
    if not _PREFIX.match(prefix):
        raise ConfigError(
            "--prefix", prefix, "1 to 40 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    seed = int(_number("--seed", options.get("seed") or 0, int, 0, 2**32 - 1))
    batch = int(_number("--batch-hosts", options.get("batch_hosts") or 50, int, 1, 1000))
    cycles = _cycles(options, interval)
    pre_encode = bool(options.get("pre_encode"))
    if pre_encode and cycles is None:
        raise ConfigError("--pre-encode", True, "give --cycles or --duration too: every request is built first")
    if pre_encode and cycles is not None and hosts * cycles > MAX_PRE_ENCODED:
        raise ConfigError(
            "--pre-encode",
            f"{hosts} hosts x {cycles} intervals",
            f"at most {MAX_PRE_ENCODED} host readings held in memory; use fewer --cycles",
        )
    return SimulateConfig(
        hosts=hosts,
        interval=interval,
        cycles=cycles,
        pre_encode=pre_encode,
        seed=seed,
        prefix=prefix,
        batch_hosts=batch,
        **_export(options, env),
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `simulate` flags; values are checked by `config.resolve`, which names the flag on error."""
    parser.add_argument("--hosts", required=True, help=f"how many synthetic hosts, 1 to {MAX_HOSTS}")
    parser.add_argument("--interval", help="seconds between two reports of each host, 1 to 3600 (default 10)")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--duration", help="run this many seconds (default: until Ctrl-C)")
    length.add_argument("--cycles", help="run this many intervals (default: until Ctrl-C)")
    parser.add_argument("--endpoint", help="OTLP base URL (default OTEL_EXPORTER_OTLP_ENDPOINT, else the local stack)")
    parser.add_argument("--protocol", help=f"OTLP protocol: {' or '.join(PROTOCOLS)} (default http)")
    parser.add_argument("--seed", help="random seed: the same seed gives the same fleet (default 0)")
    parser.add_argument("--prefix", help="host.name prefix; hosts are <prefix>0, <prefix>1, ... (default sim-)")
    parser.add_argument("--batch-hosts", help="hosts per OTLP request, 1 to 1000 (default 50)")
    parser.add_argument(
        "--pre-encode",
        action="store_true",
        help=f"build every interval's requests before sending (needs --cycles or --duration; "
        f"hosts x intervals at most {MAX_PRE_ENCODED}), so the simulator spends no CPU encoding while it sends",
    )


def options_from(args: argparse.Namespace) -> dict[str, object]:
    names = (
        "hosts", "interval", "duration", "cycles", "endpoint", "protocol", "seed", "prefix", "batch_hosts", "pre_encode"
    )  # fmt: skip
    return {name: getattr(args, name, None) for name in names}
