"""Pipeline checks read from Prometheus: scrape targets, rules, collector counters, agents reporting."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from heron_stack import endpoints
from heron_stack.config import StackConfig
from heron_stack.doctor.adapters import Probes
from heron_stack.doctor.http import ProbeFailed, prom_api, prom_query, prom_scalar_sum
from heron_stack.doctor.models import Check, fail, ok, warn

COLLECTOR_JOB = "otel-collector"
AGENT_JOB = "otel-agent"
WINDOW = "5m"

COUNTERS: dict[str, tuple[str, str, str]] = {
    "otelcol_receiver_refused_metric_points_total": (
        "collector",
        "refused {n:.0f} metric points in the last 5 min",
        "the memory limiter refuses data while the collector is over HERON_COLLECTOR_MEMORY_LIMIT_MIB: "
        "raise it or send less; see the collector log",
    ),
    "otelcol_receiver_failed_metric_points_total": (
        "collector",
        "failed {n:.0f} metric points in the last 5 min",
        "a processor or exporter behind the OTLP receiver returned errors: see the collector log",
    ),
    "otelcol_exporter_send_failed_metric_points_total": (
        "prometheus",
        "remote write from the collector failed for {n:.0f} points in the last 5 min",
        "Prometheus must run with --web.enable-remote-write-receiver (`heron up` does) and accept the samples; "
        "the collector log names the HTTP status",
    ),
    "otelcol_receiver_refused_log_records_total": (
        "collector",
        "refused {n:.0f} log records in the last 5 min",
        "the memory limiter refuses data while the collector is over HERON_COLLECTOR_MEMORY_LIMIT_MIB; "
        "see the collector log",
    ),
    "otelcol_exporter_send_failed_log_records_total": (
        "victorialogs",
        "the collector failed to send {n:.0f} log records to VictoriaLogs in the last 5 min",
        "check VictoriaLogs is ready and reachable at HERON_VICTORIALOGS_OTLP_ENDPOINT "
        "(its /insert/opentelemetry/v1/logs path); see the collector log",
    ),
}
"""Collector self-metric -> (component to blame, what it means, what to do) when it increases."""


def judge_targets(data: Mapping[str, Any], answers_now: bool = False) -> Check:
    """`answers_now`: the collector's telemetry endpoint answered the doctor just now (a stale failed scrape)."""
    targets = [t for t in data.get("activeTargets", []) if t.get("labels", {}).get("job") == COLLECTOR_JOB]
    if not targets:
        return fail(
            "prometheus",
            f"no `{COLLECTOR_JOB}` scrape job: the collector's self-metrics are not collected",
            "run Prometheus with the config `heron up` renders from prometheus/prometheus.yml",
        )
    down = [t for t in targets if t.get("health") != "up"]
    if not down:
        return ok("prometheus", f"scrapes the collector's self-metrics ({targets[0].get('scrapeUrl', '')})")
    first = down[0]
    if answers_now:
        return warn(
            "prometheus",
            f"last scrape of {first.get('scrapeUrl', '?')} failed ({first.get('lastError', '')}) but it answers now",
            "a collector that just (re)started is scraped again within 5 s; if this stays, see Prometheus' log",
        )
    return fail(
        "prometheus",
        f"scrape target {first.get('scrapeUrl', '?')} is {first.get('health', '?')}: {first.get('lastError', '')}",
        "the collector's telemetry port must match HERON_COLLECTOR_TELEMETRY_PORT; is the collector running?",
    )


def judge_rules(data: Mapping[str, Any]) -> Check:
    rules = [(g.get("name", "?"), r) for g in data.get("groups", []) for r in g.get("rules", [])]
    broken = [(group, r) for group, r in rules if r.get("health") == "err"]
    if broken:
        group, rule = broken[0]
        names = ", ".join(str(r.get("name")) for _, r in broken[:5])
        return fail(
            "prometheus",
            f"{len(broken)} rule(s) fail to evaluate ({names}); {group}: {rule.get('lastError', '')}",
            "check the expression with `promtool check rules prometheus/recording/*.yml` and query it in Prometheus",
        )
    # Alert rules run in Heron's alert worker; Prometheus holds recording rules only, and may hold none.
    return ok("prometheus", f"{len(rules)} recording rule(s) loaded, none failing")


def judge_counters(increases: Mapping[str, float], accepted: float) -> list[Check]:
    out = []
    for name, n in increases.items():
        if n > 0 and name in COUNTERS:
            component, what, fix = COUNTERS[name]
            out.append(fail(component, what.format(n=n), fix, counter=name, increase=n))
    if not out:
        out.append(ok("collector", f"accepted {accepted:.0f} metric points in the last 5 min, none refused or failed"))
    return out


def judge_agents(ages: Mapping[str, float], known: Sequence[str], interval: float) -> Check:
    """`ages`: host -> seconds since its last uptime sample; `known`: hosts seen in the last hour."""
    limit = 3 * interval
    stale = sorted({h for h in known if h not in ages} | {h for h, age in ages.items() if age > limit})
    hosts = sorted(set(known) | set(ages))
    if not hosts:
        return fail(
            "agent",
            "no host reports system_uptime_seconds",
            "start the agent (`heron up --only agent`) and check OTEL_EXPORTER_OTLP_ENDPOINT points at the collector",
        )
    if stale:
        names = ", ".join(stale[:5]) + (f" (+{len(stale) - 5} more)" if len(stale) > 5 else "")
        return fail(
            "agent",
            f"{len(stale)} of {len(hosts)} host(s) silent for more than {limit:.0f}s (3 intervals): {names}",
            "on each: is `otel-agent` running, and can it reach the collector (its log says why not)?",
            stale=stale,
        )
    newest = min(ages.values())
    return ok("agent", f"{len(hosts)} host(s) reporting, newest sample {newest:.0f}s ago", hosts=len(hosts))


def _counters(probes: Probes, base: str) -> tuple[dict[str, float], float]:
    increases = {name: prom_scalar_sum(probes, base, f"sum(increase({name}[{WINDOW}]))") for name in COUNTERS}
    accepted = prom_scalar_sum(probes, base, f"sum(increase(otelcol_receiver_accepted_metric_points_total[{WINDOW}]))")
    return increases, accepted


def _agent_ages(probes: Probes, base: str) -> tuple[dict[str, float], list[str]]:
    selector = f'system_uptime_seconds{{job="{AGENT_JOB}"}}'
    now = probes.now()
    fresh = prom_query(probes, base, f"max by (host_name) (timestamp({selector}))")
    ages = {
        str(r["metric"].get("host_name", "?")): now - float(r["value"][1])
        for r in fresh
        if math.isfinite(float(r["value"][1]))
    }
    seen = prom_query(probes, base, f"count by (host_name) (last_over_time({selector}[1h]))")
    return ages, [str(r["metric"].get("host_name", "?")) for r in seen]


def check_pipeline(config: StackConfig, probes: Probes, agent_interval: float) -> list[Check]:
    base = config.url("prometheus")

    def _telemetry_answers() -> bool:
        """Every collector's own metrics endpoint answers now (the scrape targets are single-node only)."""
        try:
            return all(
                probes.http.get(f"{url}/metrics", timeout=probes.call_timeout).is_success
                for url in endpoints.collector_telemetry_urls(config).values()
            )
        except httpx.HTTPError:
            return False

    steps: list[tuple[str, Callable[[], list[Check]]]] = [
        ("prometheus", lambda: [judge_targets(prom_api(probes, base, "/api/v1/targets"), _telemetry_answers())]),
        ("prometheus", lambda: [judge_rules(prom_api(probes, base, "/api/v1/rules"))]),
        ("collector", lambda: judge_counters(*_counters(probes, base))),
        ("agent", lambda: [judge_agents(*_agent_ages(probes, base), agent_interval)]),
    ]
    if config.topology == "cluster":
        # Nothing scrapes in the cluster topology (no targets); the collectors push their own counters.
        steps = steps[2:]
    out: list[Check] = []
    for component, step in steps:
        try:
            out.extend(step())
        except ProbeFailed as exc:
            out.append(warn(component, f"not checked: Prometheus did not answer ({exc})", "see the prometheus check"))
    return out
