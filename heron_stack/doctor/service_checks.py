"""Per-service checks: is the process running, does its port answer, is it the right service and ready."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from heron_stack import environment_variables as ev
from heron_stack.config import StackConfig
from heron_stack.doctor import identity
from heron_stack.doctor.adapters import Probes, log_tail
from heron_stack.doctor.identity import Endpoint, Seen, Verdict
from heron_stack.doctor.models import Check, Status, fail, ok, warn
from heron_stack.services import START_ORDER


@dataclass(frozen=True)
class Observation:
    """What was seen of one service, before any judgement."""

    name: str
    running: bool
    pid: int | None
    log: Path
    tail: tuple[str, ...] = ()
    addr: str | None = None
    port: int | None = None
    env_var: str | None = None
    listening: bool = False
    seen: Verdict | None = None


def _start_fix(name: str) -> str:
    return f"start it: `heron up` (or `heron up --only {name}`)"


def _tail(obs: Observation) -> tuple[str, ...]:
    if not obs.tail:
        return ()
    return (f"last lines of {obs.log}:", *(f"  {_clip(line)}" for line in obs.tail))


def _clip(line: str, width: int = 160) -> str:
    return line if len(line) <= width else line[: width - 3] + "..."


def judge(obs: Observation, endpoint: Endpoint | None) -> Check:
    """The verdict for one service from what was observed."""
    if endpoint is None or obs.port is None:
        if obs.running:
            return ok(obs.name, f"running (pid {obs.pid})", pid=obs.pid)
        return fail(obs.name, "not running", _start_fix(obs.name), _tail(obs))
    if not obs.listening:
        if obs.running:
            return fail(
                obs.name,
                f"running (pid {obs.pid}) but nothing answers on {obs.addr}",
                f"see its log {obs.log}; restart it: `heron down && heron up`",
                _tail(obs),
            )
        return fail(obs.name, f"not running (nothing answers on {obs.addr})", _start_fix(obs.name), _tail(obs))
    return _judge_answer(obs, endpoint)


def _judge_answer(obs: Observation, endpoint: Endpoint) -> Check:
    """Something answers on the service's port: is it the service, and is it ready?"""
    where = f"http://{obs.addr}" if endpoint.path is not None else obs.addr
    pid = f"pid {obs.pid}" if obs.running else "not started by `heron up`"
    seen, detail = obs.seen or (Seen.FOREIGN, "no answer to the readiness probe")
    if seen is Seen.READY:
        return ok(obs.name, f"ready at {where} ({pid})", pid=obs.pid)
    if seen is Seen.FOREIGN:
        return fail(
            obs.name,
            f"port {obs.port} answers but is not {endpoint.label} ({detail})",
            f"set {obs.env_var} to a free port, or stop what holds it (`ss -ltnp 'sport = :{obs.port}'`)",
        )
    if obs.running:
        return fail(
            obs.name,
            f"running ({pid}) but not ready: {detail}",
            f"wait a few seconds and run `heron doctor` again; if it stays, see {obs.log}",
            _tail(obs),
        )
    return warn(obs.name, f"answers on {where} ({pid}) but is not ready: {detail}", "wait, then check its own logs")


def _probe(endpoint: Endpoint, host: str, port: int, probes: Probes) -> Verdict:
    if endpoint.path is None:
        try:
            reply = probes.sockets.exchange(host, port, b"PING\r\n", probes.call_timeout)
        except OSError as exc:
            return Seen.FOREIGN, f"PING failed: {exc}"
        return identity.redis(reply)
    try:
        resp = probes.http.get(f"http://{host}:{port}{endpoint.path}", timeout=probes.call_timeout)
    except httpx.HTTPError as exc:
        return Seen.FOREIGN, f"{endpoint.path}: {type(exc).__name__} {exc}"
    return endpoint.classify(resp.status_code, resp.text)


def observe(name: str, config: StackConfig, probes: Probes) -> Observation:
    state = probes.processes.state(name)
    endpoint = identity.endpoint(name, config.topology)
    tail = () if state.running else tuple(log_tail(state.log))
    base = Observation(name, state.running, state.pid, state.log, tail)
    if endpoint is None:
        return base
    host, port = config.host, config.port(endpoint.port)
    listening = probes.sockets.listening(host, port, probes.call_timeout)
    seen = _probe(endpoint, host, port, probes) if listening else None
    if state.running and seen is not None and seen[0] is not Seen.READY:
        tail = tuple(log_tail(state.log))
    return Observation(
        name,
        state.running,
        state.pid,
        state.log,
        tail,
        f"{host}:{port}",
        port,
        ev.PORT_VARIABLES[endpoint.port][0],
        listening,
        seen,
    )


def otlp_ports(config: StackConfig, probes: Probes) -> list[Check]:
    """The collector's OTLP receivers answer on their own ports, apart from its health endpoint."""
    out = []
    for port_name, label in (("otlp_grpc", "OTLP/gRPC"), ("otlp_http", "OTLP/HTTP")):
        port = config.port(port_name)
        if not probes.sockets.listening(config.host, port, probes.call_timeout):
            var = ev.PORT_VARIABLES[port_name][0]
            out.append(
                fail(
                    "collector",
                    f"{label} receiver does not answer on {config.host}:{port}",
                    f"check {var} matches the collector's receiver and see the collector log",
                )
            )
    return out


def check_services(config: StackConfig, probes: Probes) -> list[Check]:
    """One check per service `heron up` runs; Grafana only where it is installed or answers."""
    checks = []
    for name in START_ORDER:
        obs = observe(name, config, probes)
        optional = name == "grafana" and probes.which("grafana") is None
        if optional and not obs.running and not obs.listening:
            checks.append(ok(name, "not installed (optional; `docker compose up -d grafana` runs it)"))
            continue
        checks.append(judge(obs, identity.endpoint(name, config.topology)))
        if name == "collector" and checks[-1].status is Status.OK:
            checks.extend(otlp_ports(config, probes))
    return checks
