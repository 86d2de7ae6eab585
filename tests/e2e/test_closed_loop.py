"""The closed loop an operator relies on: load → host metric → rule → message → resolved message.

Everything runs as `heron up` runs it (the same service specs): the host agent, the load lab, the alert
API, worker and beat with the shipped rule pack, and the local mail sink, against the session's real
collector, Prometheus and VictoriaLogs. Telegram and Slack are the local stand-ins (their clouds cannot
run here); email goes over SMTP to the stack's own mail sink. The rule's expression is read from the
shipped rule file, and the load lab's own event log is checked in VictoriaLogs. Each step is polled with
a deadline.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from heron_stack.config import PROJECT_DIR
from heron_stack.dashboards import render_all
from heron_stack.dashboards.checks import queries, substitute
from heron_stack.mailsink import Mail, read_maildir
from tests.fixtures.stack import StackHandle, start_stack
from tests.fixtures.standins import SlackStandIn, TelegramStandIn
from tests.helpers import logs_query, prom_range, wait_for

pytestmark = pytest.mark.e2e

RULE = "LoadlabCpuSpike"
RULE_FILE = PROJECT_DIR / "prometheus" / "rules" / "heron-loadlab.rules.yml"
TOKEN = "123456:TEST-token-abcdefghijklmnopqrstu"
CHAT = "-100777"
SERVICES = ["redis", "mailsink", "agent", "alert-api", "alert-worker", "alert-sender", "alert-beat", "loadgen"]
# The shipped routing waits 30 s before a group's first message and 5 min between updates; the loop
# keeps the shipped rules but shortens those timers so the resolved message follows within seconds.
ROUTING = """
route:
  receivers: ["*"]
  group_by: [alertname, host_name]
  group_wait: 2s
  group_interval: 2s
  repeat_interval: 4h
  cooldown: 0s
  send_resolved: true
"""


@dataclass
class Loop:
    host: str
    services: StackHandle
    telegram: TelegramStandIn
    slack: SlackStandIn
    maildir: Path
    loadgen: str
    alerts_api: str


@pytest.fixture(scope="module")
def loop(stack: StackHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loop]:
    host = f"e2e-{uuid.uuid4().hex[:8]}"
    files = tmp_path_factory.mktemp("closed-loop-config")
    state = tmp_path_factory.mktemp("closed-loop-state")
    shared = {name: stack.config.port(name) for name in ("otlp_http", "otlp_grpc", "prometheus", "victorialogs")}
    with TelegramStandIn(tokens={TOKEN}, chats={CHAT}) as telegram, SlackStandIn() as slack:
        routing = files / "routing.yaml"
        routing.write_text(ROUTING, encoding="utf-8")
        destinations = files / "destinations.yaml"
        with pytest.MonkeyPatch.context() as env:
            # What an operator exports before `make up`: their own destinations and routing, a host name
            # and a one-second agent. The stack picks up the mail sink's port itself.
            env.setenv("OTEL_RESOURCE_ATTRIBUTES", f"host.name={host}")
            env.setenv("HERON_AGENT_INTERVAL", "1")
            env.setenv("HERON_ALERTS_ROUTING_FILE", str(routing))
            env.setenv("HERON_ALERTS_DESTINATIONS_FILE", str(destinations))
            services = start_stack(state, ports=shared, only=["redis"])
            try:
                _write_destinations(destinations, telegram, slack, services)
                services.stack.up(SERVICES)
            except BaseException:
                services.stack.down()
                raise
        try:
            yield Loop(
                host=host,
                services=services,
                telegram=telegram,
                slack=slack,
                maildir=state / "mail",
                loadgen=services.config.url("loadgen"),
                alerts_api=services.config.url("alert_api"),
            )
        finally:
            services.stack.down()


def _write_destinations(path: Path, telegram: TelegramStandIn, slack: SlackStandIn, services: StackHandle) -> None:
    cfg = services.config
    data = {
        "destinations": {
            "telegram": {"type": "telegram", "api_url": telegram.url, "token": TOKEN, "chat_id": CHAT},
            "slack": {"type": "slack", "webhook_url": slack.webhook_url()},
            "local-mail": {
                "type": "email",
                "host": cfg.host,
                "port": cfg.port("mail"),
                "security": "none",
                "from": "heron@localhost",
                "to": ["oncall@localhost"],
            },
        }
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")


def _texts(standin: TelegramStandIn | SlackStandIn) -> list[str]:
    """What a reader sees of each accepted message (Slack: the fallback text and every block)."""
    out = []
    for message in standin.accepted:
        blocks = message.payload.get("blocks") or []
        out.append("\n".join([message.text, *(str(b.get("text", {}).get("text", "")) for b in blocks)]))
    return out


def _about(host: str, texts: list[str], resolved: bool) -> list[str]:
    return [t for t in texts if host in t and ("resolved" in t.lower()) == resolved]


def _mails(maildir: Path, host: str, resolved: bool) -> list[Mail]:
    return [m for m in read_maildir(maildir) if host in m.text and ("resolved" in m.subject.lower()) == resolved]


def _shipped_expr(alert: str) -> str:
    groups = yaml.safe_load(RULE_FILE.read_text(encoding="utf-8"))["groups"]
    (expr,) = [r["expr"] for g in groups for r in g["rules"] if r.get("alert") == alert]
    return str(expr)


def _on(series: dict[str, Any], host: str) -> bool:
    return bool(series["metric"].get("host_name") == host)


def _alert_state(api: str, host: str) -> str | None:
    alerts = httpx.get(f"{api}/api/alerts/active", timeout=5).json()["alerts"]
    states = [
        a["state"] for a in alerts if a["labels"].get("alertname") == RULE and a["labels"].get("host_name") == host
    ]
    return states[0] if states else None


def _dashboard_query(dashboard: str, panel: str, contains: str, host: str) -> str:
    for query in queries(render_all()[dashboard]):
        if query.panel_title == panel and contains in query.expr:
            return substitute(query.expr, {"host": host})
    raise AssertionError(f"no query containing {contains!r} in panel {panel!r} of {dashboard}")


def _max_over(prometheus: str, expr: str, start: float, match: dict[str, str]) -> float:
    series = prom_range(prometheus, expr, start, time.time(), 2)
    values = [
        float(v) for s in series if all(s["metric"].get(k) == want for k, want in match.items()) for _, v in s["values"]
    ]
    return max(values, default=float("nan"))


def test_cpu_spike_fires_the_rule_notifies_every_channel_and_resolves(stack: StackHandle, loop: Loop) -> None:
    host = loop.host
    wait_for(lambda: _alert_state(loop.alerts_api, host) is None or None, timeout=5, what="no alert before the spike")
    started = time.time()
    resp = httpx.post(
        f"{loop.loadgen}/api/actions/cpu-stress",
        json={"target_percent": 100, "duration_seconds": 300, "cores": 0},
        timeout=10,
    )
    assert resp.status_code == 201, resp.text
    action = resp.json()["action_id"]

    # 1. The agent's metric crosses the threshold in Prometheus: the shipped rule's own expression.
    busy = _shipped_expr(RULE)
    wait_for(
        lambda: [s for s in prom_range(stack.prometheus_url, busy, started, time.time(), 1) if _on(s, host)],
        timeout=60,
        what=f"{busy} for {host}",
    )

    # The load lab's event log in VictoriaLogs records the action, on this host.
    events = f'{{service.name="heron-loadgen", host.name="{host}"}} event.type:="action_started"'
    started_events = wait_for(
        lambda: logs_query(stack.victorialogs_url, events, since_s=600), timeout=60, what=f"log entries {events}"
    )
    assert action in {e.get("loadgen.action_id") for e in started_events}

    # 2. The shipped rule fires in Heron's alert engine (pending for 30 s first).
    wait_for(lambda: _alert_state(loop.alerts_api, host) == "firing", timeout=120, what=f"{RULE} firing for {host}")

    # 3. The firing notification reaches Telegram, Slack and the SMTP mail sink.
    firing_tg = wait_for(lambda: _about(host, _texts(loop.telegram), False), timeout=60, what="Telegram firing message")
    firing_slack = wait_for(lambda: _about(host, _texts(loop.slack), False), timeout=60, what="Slack firing message")
    firing_mail = wait_for(lambda: _mails(loop.maildir, host, False), timeout=60, what="firing email in the mail sink")
    assert f"CPU spike on {host}" in firing_tg[0]
    assert f"CPU spike on {host}" in firing_slack[0]
    assert RULE in firing_mail[0].subject
    assert firing_mail[0].to == "oncall@localhost"

    # 4. The dashboards show the spike: the Load lab's CPU panel and the Alerts dashboard's rule panel.
    cpu_expr = _dashboard_query("load-lab", "CPU: target vs achieved", "system_cpu_utilization_ratio", host)
    assert _max_over(stack.prometheus_url, cpu_expr, started, {"host_name": host}) > 0.8
    target_expr = _dashboard_query("load-lab", "CPU: target vs achieved", "loadgen_cpu_target_ratio", host)
    assert _max_over(stack.prometheus_url, target_expr, started, {"loadgen_action_id": action}) == 1.0
    rules_expr = _dashboard_query("alerts", "Firing and pending by rule", "heron_alerts_rule_active", host)
    firing = {"alertname": RULE, "heron_alert_state": "firing"}
    assert wait_for(
        lambda: _max_over(stack.prometheus_url, rules_expr, started, firing) >= 1,
        timeout=60,
        what="the Alerts dashboard showing the rule firing",
    )
    sent_expr = _dashboard_query("alerts", "Notifications by channel and outcome", "notifications_total", host)
    for channel in ("telegram", "slack", "email"):
        assert wait_for(
            lambda ch=channel: (
                _max_over(stack.prometheus_url, sent_expr, started, {"channel": ch, "outcome": "sent"}) > 0
            ),
            timeout=60,
            what=f"the Alerts dashboard counting a {channel} notification sent",
        )

    # 5. The spike ends; the rule resolves and every channel gets the resolved notice.
    stop = httpx.delete(f"{loop.loadgen}/api/actions/{action}/stop", timeout=10)
    assert stop.status_code == 200, stop.text
    wait_for(lambda: _alert_state(loop.alerts_api, host) is None, timeout=120, what=f"{RULE} resolved for {host}")
    resolved_tg = wait_for(lambda: _about(host, _texts(loop.telegram), True), timeout=60, what="Telegram resolved")
    wait_for(lambda: _about(host, _texts(loop.slack), True), timeout=60, what="Slack resolved message")
    wait_for(lambda: _mails(loop.maildir, host, True), timeout=60, what="resolved email in the mail sink")
    assert f"CPU spike on {host}" in resolved_tg[0]
    # Exactly one firing and one resolved message per channel for this host: no repeats, nothing lost.
    assert len(_about(host, _texts(loop.telegram), False)) == 1
    assert len(_about(host, _texts(loop.slack), False)) == 1
    assert len(_mails(loop.maildir, host, False)) == 1
