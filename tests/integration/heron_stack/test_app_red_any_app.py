"""The App (RED) dashboard and the app rules see any OpenTelemetry app, whatever it emits, once.

Apps that know nothing of Heron send to the real collector and Prometheus:
- a Flask app instrumented by upstream opentelemetry-instrumentation-flask on its default conventions
  (the older http.server.duration in milliseconds, and traces), exporting metrics every 2 s;
- the same app with OTEL_SEMCONV_STABILITY_OPT_IN=http (the stable http.server.request.duration, and traces);
- a Go-shaped service that sends only traces, as raw OTLP protobufs (span metrics only);
- the first Flask app on the SDK's default 60 s metric export interval: one sample in a minute, while its
  span metrics arrive every few seconds.
Each serves a steady 10 requests/s: 20 s without errors, then 4 of every 10 fail. The dashboard's own
queries must show each service, its request and error rates as sent (the Flask apps, which also send
traces, counted once), and the shipped error-rate rule must fire for each once its errors begin.
"""

from __future__ import annotations

import dataclasses
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from alert_worker.rules.backtest import align, backtest
from alert_worker.rules.loader import load_rule_files
from alert_worker.sources.prometheus import PrometheusSource
from heron_stack import components, red_rules
from heron_stack.config import PROJECT_DIR, resolve
from heron_stack.dashboards import render_all
from heron_stack.dashboards.checks import queries, substitute
from tests.fixtures.apps.upstream import Call, UpstreamApp, send_spans, start_upstream_flask
from tests.fixtures.stack import StackHandle
from tests.helpers import DeadlineExceeded, prom_query, wait_for

pytestmark = pytest.mark.integration

TICK_S = 0.5
CLEAN_S = 20.0
OK_CALLS = [Call("GET", "/orders/<int:order_id>", 200)] * 3
FAILING = [Call("POST", "/checkout", 500)] * 2
SPAN_OK = [Call("GET", "/payments/{id}", 200)] * 3
SPAN_FAILING = [Call("POST", "/pay", 503)] * 2
APPS = {
    # service -> (the source it must be measured from, the routes it must show)
    "shop-upstream-defaults": ("http_old", {"/orders/<int:order_id>", "/checkout"}),
    "shop-upstream-stable": ("http", {"/orders/<int:order_id>", "/checkout"}),
    "checkout-traces-only": ("spans", {"/payments/{id}", "/pay"}),
}
SLOW = "shop-upstream-60s"
SOURCE_REQUESTS = red_rules.name("service_route_source", "requests", "1m")
ROUTE_REQUESTS = red_rules.name("service_route", "requests", "1m")
RULES = PROJECT_DIR / "prometheus" / "rules" / "heron-apps.rules.yml"
RULE_TESTS = PROJECT_DIR / "prometheus" / "rules" / "tests" / "heron-red.test.yml"


@dataclass
class Sent:
    """What one service was sent, as the driver saw it answered."""

    requests: int = 0
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


@dataclass
class Traffic:
    started: float
    errors_from: float
    sent: dict[str, Sent]
    apps: dict[str, UpstreamApp]


def _flask_tick(client: httpx.Client, app: UpstreamApp, calls: list[Call], sent: Sent) -> None:
    for i, call in enumerate(calls):
        path = call.route.replace("<int:order_id>", str(i))
        status = client.request(call.method, f"{app.url}{path}").status_code
        sent.requests += 1
        sent.errors += status >= 500
        sent.statuses[status] = sent.statuses.get(status, 0) + 1


def _drive(endpoint: str, apps: dict[str, UpstreamApp], sent: dict[str, Sent], stop: threading.Event) -> None:
    """Fixed pace: tick k starts at started + k * TICK_S, whatever the previous one took."""
    started = time.monotonic()
    with httpx.Client(timeout=10) as client:
        k = 0
        while not stop.is_set():
            failing = time.monotonic() - started >= CLEAN_S
            for service, app in apps.items():
                _flask_tick(client, app, OK_CALLS + (FAILING if failing else OK_CALLS[:2]), sent[service])
            spans = SPAN_OK + (SPAN_FAILING if failing else SPAN_OK[:2])
            send_spans(client, endpoint, "checkout-traces-only", spans)
            traced = sent["checkout-traces-only"]
            traced.requests += len(spans)
            traced.errors += sum(c.failed for c in spans)
            k += 1
            stop.wait(max(0.0, started + k * TICK_S - time.monotonic()))


@pytest.fixture(scope="module")
def traffic(stack: StackHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Traffic]:
    logs = tmp_path_factory.mktemp("upstream-apps")
    apps: dict[str, UpstreamApp] = {}
    stop = threading.Event()
    driver: threading.Thread | None = None
    try:
        for service, stable in (("shop-upstream-defaults", False), ("shop-upstream-stable", True)):
            apps[service] = start_upstream_flask(stack.otlp_http_endpoint, service, logs, stable=stable)
        apps[SLOW] = start_upstream_flask(stack.otlp_http_endpoint, SLOW, logs, stable=False, export_interval_ms=None)
        for app in apps.values():
            wait_for(lambda a=app: "serving" in a.log.read_text(), timeout=30, what=f"{app.service} up ({app.log})")
        sent = {service: Sent() for service in [*APPS, SLOW]}
        started = time.time()
        driver = threading.Thread(target=_drive, args=(stack.otlp_http_endpoint, apps, sent, stop), daemon=True)
        driver.start()
        yield Traffic(started, started + CLEAN_S, sent, apps)
    finally:
        stop.set()
        if driver is not None:
            driver.join(timeout=30)
        for app in apps.values():
            app.stop()


def _panel(title: str) -> str:
    (expr,) = [q.expr for q in queries(render_all()["app-red"]) if q.panel_title == title]
    return expr


def _value(stack: StackHandle, title: str, service: str, by: str = "") -> dict[str, float]:
    rows = prom_query(stack.prometheus_url, substitute(_panel(title), {"service": service}))
    return {r["metric"].get(by, ""): float(r["value"][1]) for r in rows}


def _near(actual: float | None, expected: float, tolerance: float) -> bool:
    return actual is not None and abs(actual - expected) <= tolerance * expected


@pytest.mark.parametrize("service", list(APPS))
def test_every_app_is_in_the_service_list(stack: StackHandle, traffic: Traffic, service: str) -> None:
    (variable,) = render_all()["app-red"]["templating"]["list"]
    metric, label = variable["query"].removeprefix("label_values(").removesuffix(")").split(", ")
    wait_for(
        lambda: service in {s["metric"][label] for s in prom_query(stack.prometheus_url, metric)},
        timeout=90,
        what=f"{service} in the service list ({metric})",
    )


@pytest.mark.parametrize("service", list(APPS))
def test_red_panels_show_the_rates_it_was_sent_counted_once(stack: StackHandle, traffic: Traffic, service: str) -> None:
    source, routes = APPS[service]
    sent = traffic.sent[service]
    seen: dict[str, Any] = {}

    def steady() -> dict[str, Any] | None:
        # What the driver achieved: 10 requests/s and 4 errors/s at its fixed pace, less if the machine lags.
        now = time.time()
        if now < traffic.errors_from + 1:
            return None
        requests, errors = sent.requests / (now - traffic.started), sent.errors / (now - traffic.errors_from)
        shown = {
            "requests": _value(stack, "Requests /s", service).get(""),
            "errors": _value(stack, "Errors /s", service).get(""),
            "ratio": _value(stack, "Error rate", service).get(""),
        }
        seen.update(panels=shown, sent={"requests": requests, "errors": errors})
        ok = (
            _near(shown["requests"], requests, 0.15)
            and _near(shown["errors"], errors, 0.15)
            and _near(shown["ratio"], errors / requests, 0.15)
        )
        return shown if ok else None

    try:
        wait_for(
            steady,
            timeout=150,
            interval=2,
            what=f"{service}: panels at the request and error rates it was sent, once (not doubled)",
        )
    except DeadlineExceeded as exc:
        pytest.fail(f"{exc}; last seen per second: {seen}")
    if service != "checkout-traces-only":
        assert set(sent.statuses) == {200, 500}, (
            f"the app answered {sent.statuses} (its log: {traffic.apps[service].log})"
        )
        # The Flask apps are also known by their traces: two sources, and the panels above counted them once.
        both = f'{SOURCE_REQUESTS}{{service_name="{service}", red_source=~"{source}|spans"}}'
        assert {r["metric"]["red_source"] for r in prom_query(stack.prometheus_url, both)} == {source, "spans"}
    assert set(_value(stack, "Request rate by route", service, "http_route")) == routes
    assert set(_value(stack, "Where each service's RED comes from", service, "red_source")) == {source}


@pytest.mark.parametrize("service", list(APPS))
def test_error_rate_rule_fires_once_errors_cross_the_threshold(
    stack: StackHandle, traffic: Traffic, service: str
) -> None:
    """The shipped AppHighErrorRate expression through Heron's state machine, its 5 min hold cut to 10 s
    (the hold itself is covered by the promtool unit tests in prometheus/rules/tests/)."""
    (shipped,) = [r for g in load_rule_files([RULES]) for r in g.rules if r.name == "AppHighErrorRate"]
    rule = dataclasses.replace(shipped, for_s=10.0)
    step = 5.0
    source = PrometheusSource(stack.prometheus_url, timeout=30)

    def episodes() -> list[Any]:
        start, end = align(traffic.started, time.time(), step)
        found = backtest(rule, source.query_range(rule.expr, start, end, step), start, end, step)
        return [e for e in found if e.labels.get("service_name") == service]

    try:
        (episode,) = wait_for(episodes, timeout=120, interval=2, what=f"AppHighErrorRate firing for {service}")
    finally:
        source.close()
    assert episode.fired_at >= traffic.errors_from + rule.for_s, "fired before its errors began"
    assert episode.resolved_at is None


def test_prometheus_evaluates_every_red_rule_without_error(stack: StackHandle, traffic: Traffic) -> None:
    """With all three sources present, no RED rule fails (say, on two series with one label set)."""

    def evaluated() -> list[dict[str, Any]] | None:
        groups = httpx.get(f"{stack.prometheus_url}/api/v1/rules", timeout=10).json()["data"]["groups"]
        rules = [r for g in groups if g["name"].startswith("heron-red-") for r in g["rules"]]
        return rules if rules and all(r.get("lastEvaluation", "").startswith("2") for r in rules) else None

    rules = wait_for(evaluated, timeout=60, what="the RED recording rules evaluated by Prometheus")
    assert len(rules) == sum(len(g["rules"]) for g in red_rules.groups())
    assert [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"] == []


def test_an_app_on_the_60s_default_export_shows_its_rate_from_one_source(stack: StackHandle, traffic: Traffic) -> None:
    """One metric sample a minute leaves the 1-minute rate empty: the panels fall back to the 5-minute
    series, and the source stays http_old although the app's span metrics fill every minute."""
    sent = traffic.sent[SLOW]
    seen: dict[str, Any] = {}

    def shown() -> float | None:
        rate = sent.requests / (time.time() - traffic.started)
        seen.update(panel=_value(stack, "Requests /s", SLOW).get(""), sent=rate)
        # The 5-minute window is not full yet: until it is, the rate reads low, never high.
        value = seen["panel"]
        return value if value is not None and 0 < value <= rate * 1.15 else None

    try:
        wait_for(shown, timeout=180, interval=2, what=f"{SLOW}: Requests /s shows its rate")
    except DeadlineExceeded as exc:
        pytest.fail(f"{exc}; last seen per second: {seen}")
    # Both sources were there to choose from in every minute the span metrics filled ...
    spans = f'{SOURCE_REQUESTS}{{service_name="{SLOW}", red_source="spans"}}'
    assert prom_query(stack.prometheus_url, spans), "the app's span metrics are missing"
    # ... and, once its first HTTP export arrived (up to 60 s after start; until then its traces are
    # all Heron has of it), no minute was counted from them.
    chosen = f'{red_rules.CHOICE}{{service_name="{SLOW}", red_source="http_old"}}'
    since = prom_query(stack.prometheus_url, f"min_over_time(timestamp({chosen})[10m:])")
    assert since, f"{SLOW} never measured from http_old"
    window = f"{max(1, int(time.time() - float(since[0]['value'][1])))}s"
    flapped = f'count_over_time({ROUTE_REQUESTS}{{service_name="{SLOW}", red_source!="http_old"}}[{window}])'
    assert prom_query(stack.prometheus_url, flapped) == []
    # The source panel reads the 5-minute series, recorded one rule evaluation after the choice: poll.
    wait_for(
        lambda: set(_value(stack, "Where each service's RED comes from", SLOW, "red_source")) == {"http_old"},
        timeout=90,
        what=f"{SLOW}: the source panel to name http_old",
    )


@pytest.mark.parametrize("component", ["promtool3", "promtool"])  # compose's v3, and Debian's for `make up`
def test_promtool_unit_tests_of_the_red_family_pass(component: str) -> None:
    """Source choice, 60 s exporters next to span metrics, the 10-minute fallback, query strings dropped."""
    promtool = components.registry(resolve({}))[component].ensure()
    done = subprocess.run(
        [str(promtool), "test", "rules", str(RULE_TESTS)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
