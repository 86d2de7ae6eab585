"""Run the canary through the real pipeline, time each leg, and name the hop that lost it."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx

from heron_stack import endpoints
from heron_stack.config import StackConfig
from heron_stack.doctor import collector
from heron_stack.doctor.adapters import Probes
from heron_stack.doctor.canary import Canary, log_request, metric_request, partial_rejection
from heron_stack.doctor.http import ProbeFailed, log_messages, prom_query
from heron_stack.doctor.models import Check, fail, ok, warn
from heron_stack.endpoints import SINGLE_COLLECTOR
from heron_stack.stack_table import RECEIVERS

COMPONENT = "canary"
POLL_S = 0.2


@dataclass(frozen=True)
class Sent:
    signal: str
    status: int | None
    detail: str = ""

    @property
    def accepted(self) -> bool:
        return self.status == 200 and not self.detail


def send(probes: Probes, config: StackConfig, signal: str, body: bytes) -> Sent:
    headers = {"content-type": "application/x-protobuf"}
    if config.otlp_token:
        headers["authorization"] = f"Bearer {config.otlp_token}"
    url = f"{config.url('otlp_http')}/v1/{signal}"
    try:
        resp = probes.http.post(url, content=body, headers=headers, timeout=probes.call_timeout)
    except httpx.HTTPError as exc:
        return Sent(signal, None, f"{type(exc).__name__} {exc}".strip())
    if resp.status_code != 200:
        return Sent(signal, resp.status_code, " ".join(resp.text.split())[:160])
    return Sent(signal, 200, partial_rejection(signal, resp.content) or "")


def judge_send(sent: Sent, url: str, token_set: bool) -> Check | None:
    """None when the collector took the canary; otherwise what went wrong sending it."""
    if sent.accepted:
        return None
    if sent.status is None:
        return fail(COMPONENT, f"cannot send {sent.signal} to {url}: {sent.detail}", "see the collector check above")
    if sent.status == 401:
        fix = (
            "this shell's HERON_OTLP_TOKEN differs from the collector's: use the same token (or HERON_OTLP_TOKEN_FILE)"
            if token_set
            else "the collector requires a token: set HERON_OTLP_TOKEN (or HERON_OTLP_TOKEN_FILE) to its token"
        )
        return fail(COMPONENT, f"the collector refused the {sent.signal} canary: 401 Unauthorized", fix)
    if sent.status == 200:
        return fail(
            COMPONENT, f"the collector rejected the {sent.signal} canary ({sent.detail})", "see the collector log"
        )
    return fail(
        COMPONENT,
        f"the collector answered {sent.status} to the {sent.signal} canary: {sent.detail}",
        "see the collector log",
    )


@dataclass(frozen=True)
class WriteAnswer:
    """How the endpoint the collectors remote-write to answered an empty write (status None: no answer)."""

    url: str
    status: int | None


def judge_write(answer: WriteAnswer | None, cluster: bool) -> tuple[str, str] | None:
    """What the remote-write endpoint's answer says about a lost metric, as (what, fix); None: nothing."""
    if answer is None:
        return None
    if not cluster:
        if answer.status != 404:
            return None
        return "Prometheus' remote-write receiver is off", "start Prometheus with --web.enable-remote-write-receiver"
    if answer.status is None or answer.status >= 500:
        said = "did not answer" if answer.status is None else f"answered {answer.status}"
        return (
            f"the receivers' load balancer {answer.url} {said}",
            f"no Thanos receiver takes writes: see `heron status` and the logs of {', '.join(RECEIVERS)} and haproxy",
        )
    return None


@dataclass(frozen=True)
class Silent:
    """A collector whose telemetry did not answer while the canary was followed."""

    name: str
    url: str
    log: str


def judge_silent(lost: str, silent: Sequence[Silent], single_fix: str) -> Check:
    """The lost canary when some collector's counters could not be read (none listed: the only one)."""
    if not silent or [s.name for s in silent] == [SINGLE_COLLECTOR]:
        return fail(COMPONENT, f"{lost}; the collector's telemetry did not answer", single_fix)
    what = "; ".join(f"{s.name}'s telemetry ({s.url}/metrics) did not answer" for s in silent)
    fix = "; ".join(f"is {s.name} running? see `heron status` and its log {s.log}" for s in silent)
    return fail(COMPONENT, f"{lost}; {what}", fix)


def judge_metric_leg(
    latency: float | None,
    wait: float,
    d: Mapping[str, float],
    write: tuple[str, str] | None,
    silent: Sequence[Silent] = (),
    cluster: bool = False,
) -> Check:
    """`d`: the collectors' counters' growth (summed over every collector that answered); `write`: judge_write."""
    if latency is not None:
        what = f"metric reached Prometheus in {latency:.2f}s (OTLP -> collector -> remote write)"
        return ok(COMPONENT, what, latency_s=round(latency, 3))
    lost = f"metric not in Prometheus after {wait:.0f}s"
    if write is not None:
        return fail(COMPONENT, f"{lost}: {write[0]}", write[1])
    if silent or not d:
        return judge_silent(lost, silent, "see the collector check and its log")
    return fail(COMPONENT, *_metric_hop(lost, d, cluster))


def _metric_hop(lost: str, d: Mapping[str, float], cluster: bool = False) -> tuple[str, str]:
    """The first hop whose counters show where the canary stopped, as (what, fix); `cluster`: the collectors
    write to the Thanos receivers through HAProxy instead of Prometheus."""
    if cluster:
        store, logs = "the Thanos receivers", f"the logs of {', '.join(RECEIVERS)} and haproxy (`heron status`)"
        write_fix = f"the collector log names the HTTP status; see {logs}"
    else:
        store, logs = "Prometheus", "Prometheus' log"
        write_fix = "the collector log names the HTTP status; check HERON_PROMETHEUS_PORT and Prometheus' log"
    hops: list[tuple[bool, str, str]] = [
        (
            d["otelcol_receiver_refused_metric_points_total"] > 0,
            "the collector refused it (memory limiter)",
            "raise HERON_COLLECTOR_MEMORY_LIMIT_MIB or send less",
        ),
        (
            d["otelcol_receiver_failed_metric_points_total"] > 0,
            "the collector's metrics pipeline failed it",
            "see the collector log",
        ),
        (
            d["otelcol_receiver_accepted_metric_points_total"] <= 0,
            "the collector did not count it as accepted",
            "see the collector log",
        ),
        (
            d["otelcol_exporter_send_failed_metric_points_total"] > 0,
            f"remote write from the collector to {store} failed",
            write_fix,
        ),
        (
            d["queue:metrics"] > 0,
            f"{d['queue:metrics']:.0f} batches wait in the collector's remote-write queue",
            f"{store} cannot keep up or cannot be reached: see the collector log and {logs}",
        ),
        (
            d["otelcol_exporter_sent_metric_points_total"] > 0,
            f"the collector sent it but {store} dropped the sample",
            f"samples older than the out-of-order window are dropped: check this host's clock and {logs}",
        ),
    ]
    for hit, what, fix in hops:
        if hit:
            return f"{lost}: {what}", fix
    return f"{lost}: accepted but not exported yet", "see the collector log (batch, exporter queue)"


def judge_log_leg(latency: float | None, wait: float, d: Mapping[str, float], silent: Sequence[Silent] = ()) -> Check:
    if latency is not None:
        return ok(
            COMPONENT,
            f"log record reached VictoriaLogs in {latency:.2f}s (OTLP -> collector -> VictoriaLogs)",
            latency_s=latency,
        )
    lost = f"log record not in VictoriaLogs after {wait:.0f}s"
    if silent or not d:
        return judge_silent(lost, silent, "see the collector and victorialogs checks")
    if d["otelcol_receiver_refused_log_records_total"] > 0:
        return fail(
            COMPONENT, f"{lost}: the collector refused it (memory limiter)", "raise HERON_COLLECTOR_MEMORY_LIMIT_MIB"
        )
    if d["otelcol_exporter_send_failed_log_records_total"] > 0 or d["queue:logs"] > 0:
        return fail(
            COMPONENT,
            f"{lost}: the collector cannot deliver logs to VictoriaLogs",
            "see the victorialogs check above and the collector log (it names the store's answer)",
        )
    if d["otelcol_exporter_sent_log_records_total"] > 0:
        return fail(
            COMPONENT, f"{lost}, though the collector sent it: VictoriaLogs did not store it", "see VictoriaLogs' log"
        )
    return fail(COMPONENT, f"{lost}: not exported yet", "see the collector log (batch, exporter queue)")


def _metric_arrived(probes: Probes, config: StackConfig, canary: Canary) -> bool:
    rows = prom_query(probes, config.url("prometheus"), canary.promql)
    return any(math.isclose(float(r["value"][1]), canary.value, rel_tol=1e-9) for r in rows)


def _log_arrived(probes: Probes, config: StackConfig, canary: Canary) -> bool:
    start, end = canary.time_ns - 60 * 10**9, int(probes.now() * 1e9) + 60 * 10**9
    return any(
        canary.id in line for line in log_messages(probes, config.url("victorialogs"), canary.logsql, start, end)
    )


def _remote_write(probes: Probes, config: StackConfig) -> WriteAnswer:
    """An empty write to where the collectors remote-write (Prometheus, or the receivers' load balancer)."""
    url = endpoints.remote_write_url(config)
    try:
        resp = probes.http.post(url, content=b"", timeout=probes.call_timeout)
    except httpx.HTTPError:
        return WriteAnswer(url, None)
    return WriteAnswer(url, resp.status_code)


def run_canary(config: StackConfig, probes: Probes, wait: float, follow: Mapping[str, bool]) -> list[Check]:
    """Send one gauge and one log record, poll until both are found or `wait` seconds pass.

    `follow` says which legs to poll for (signal -> its destination is ready); the others are only sent.
    """
    telemetry = endpoints.collector_telemetry_urls(config)
    before = collector.read_each(probes, telemetry)
    canary = Canary.new(int(probes.now() * 1e9))
    started = probes.monotonic()
    sent = {
        s: send(probes, config, s, body)
        for s, body in (("metrics", metric_request(canary)), ("logs", log_request(canary)))
    }
    url = config.url("otlp_http")
    refused = [c for s in sent.values() if (c := judge_send(s, url, bool(config.otlp_token)))]
    legs = {"metrics": _metric_arrived, "logs": _log_arrived}
    pending = {name: arrived for name, arrived in legs.items() if sent[name].accepted and follow.get(name)}
    latency: dict[str, float] = {}
    deadline = started + wait
    while pending:
        for name, arrived in list(pending.items()):
            try:
                found = arrived(probes, config, canary)
            except ProbeFailed:
                found = False
            if found:
                latency[name] = probes.monotonic() - started
                del pending[name]
        if not pending or probes.monotonic() >= deadline:
            break
        probes.sleep(POLL_S)
    grown = collector.delta_each(before, collector.read_each(probes, telemetry)) if pending else collector.Growth({})
    d = grown.counters
    silent = [Silent(name, telemetry[name], str(probes.processes.state(name).log)) for name in grown.silent]
    out = list(refused)
    for name, where in (("metrics", "Prometheus"), ("logs", "VictoriaLogs")):
        if not sent[name].accepted:
            continue
        if not follow.get(name):
            out.append(warn(COMPONENT, f"{name} sent but not followed: {where} is not ready", f"fix the {where} check"))
        elif name == "metrics":
            rw = _remote_write(probes, config) if "metrics" in pending else None
            write = judge_write(rw, config.topology == "cluster")
            out.append(judge_metric_leg(latency.get("metrics"), wait, d, write, silent, config.topology == "cluster"))
        else:
            out.append(judge_log_leg(latency.get("logs"), wait, d, silent))
    return out
