"""SLOs on the real Prometheus and promtool.

The generated rules pass both promtools. Then 28 days of request counters are backfilled into a real
Prometheus 3 (0.2 % errors, the last 65 minutes 30 %) that loads the generated recording rules; Heron's
engine, evaluating the generated alerts, pages with the budget left and the time to exhaustion in the
notification, `alert-worker slo status` reports what was computed by hand below, and `rules backtest`
finds the page over the backfilled past (where no recorded series exist) by expanding the recording rules.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from alert_worker.channels.render import NO_LINKS, render
from alert_worker.cli import main
from alert_worker.engine import Engine, evaluate_group
from alert_worker.notify.routing import parse_routing
from alert_worker.rules.loader import parse_rules
from alert_worker.slo.generate import generate
from alert_worker.slo.spec import parse_spec
from alert_worker.sources.prometheus import PrometheusSource
from alert_worker.state.redis_store import RedisStore
from heron_stack import components
from heron_stack.config import resolve
from heron_stack.dashboards import render_all
from heron_stack.dashboards.checks import queries, substitute
from tests.fixtures.backfill import backfill, openmetrics
from tests.fixtures.stack import StackHandle, free_port
from tests.helpers import prom_query, wait_for

from .support import PrivatePrometheus

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[3]
SERVICE = "slo-proof"
SPEC = f"""\
version: heron/v1
service: {SERVICE}
interval: 5s
budget_interval: 5s
slos:
  - name: availability
    objective: 99
    window: 28d
    sli:
      http: availability
"""
STEP = 60  # seconds between backfilled samples over the last 3 days and 3 hours (the burn windows)
OLD_STEP = 6 * 3600  # before that, every 6 hours: the 28-day ratio needs no more, and backfill stays fast
RATE = 10.0  # requests per second
BACKGROUND, INCIDENT = 0.002, 0.3  # error ratios
INCIDENT_MIN = 65
WINDOW_MIN = 28 * 24 * 60
ROUTING = "route:\n  receivers: [console]\n  group_by: [alertname, service_name, slo]\n  group_wait: 0s\n"


def _ratio(window_min: float) -> float:
    """Hand computation: the error ratio over the last `window_min` minutes of data."""
    incident = min(window_min, INCIDENT_MIN)
    return (INCIDENT * incident + BACKGROUND * (window_min - incident)) / window_min


def _history(end: float) -> str:
    """Cumulative 200 and 503 counters from 28 days and 6 hours before `end`."""
    ok = {"service_name": SERVICE, "http_response_status_code": "200", "http_route": "/api/orders"}
    bad = {**ok, "http_response_status_code": "503"}
    name = "http_server_request_duration_seconds_count"
    good, errors, rows = 0.0, 0.0, []
    ts, dense = end - (WINDOW_MIN + 360) * 60, end - (3 * 1440 + 180) * 60
    while ts <= end:
        rows.append((ts, [(name, ok, good), (name, bad, errors)]))
        step = OLD_STEP if ts < dense else STEP
        # Counters grow at 10 requests/s; the last 65 minutes at the incident's error ratio.
        for minute in range(step // 60):
            ratio = INCIDENT if ts + minute * 60 >= end - INCIDENT_MIN * 60 else BACKGROUND
            good += RATE * 60 * (1 - ratio)
            errors += RATE * 60 * ratio
        ts += step
    return openmetrics(rows)


@pytest.mark.parametrize("component", ["promtool3", "promtool"])  # compose's v3, and Debian's for `make up`
def test_promtool_accepts_the_generated_rules(tmp_path: Path, component: str) -> None:
    promtool = components.registry(resolve({}))[component].ensure()
    generated = generate(parse_spec(SPEC, "slo/proof.slo.yml"), "slo/proof.slo.yml")
    (tmp_path / "proof.slo.yml").write_text(generated.recording)
    (tmp_path / "proof.slo.rules.yml").write_text(generated.alerts)
    files = [
        tmp_path / "proof.slo.yml",
        tmp_path / "proof.slo.rules.yml",
        PROJECT / "prometheus" / "recording" / "loadgen.slo.yml",
        PROJECT / "prometheus" / "rules" / "loadgen.slo.rules.yml",
    ]
    done = subprocess.run(
        [str(promtool), "check", "rules", *map(str, files)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == 4
    unit = PROJECT / "prometheus" / "rules" / "tests" / "loadgen-slo.test.yml"
    done = subprocess.run([str(promtool), "test", "rules", str(unit)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_fast_burn_pages_with_budget_left_and_time_to_exhaustion(
    tmp_path: Path, stack: StackHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = parse_spec(SPEC, str(tmp_path / "slo" / "proof.slo.yml"))
    generated = generate(spec, "slo/proof.slo.yml")
    recording = tmp_path / "recording.yml"
    recording.write_text(generated.recording)
    end = float(int(time.time()) // STEP * STEP)
    backfill(tmp_path / "data", _history(end), tmp_path)
    prom = PrivatePrometheus(tmp_path, recording, free_port(), "5s", flags=["--storage.tsdb.retention.time=60d"])
    source = PrometheusSource(prom.url, timeout=30)
    try:
        sel = f'{{service_name="{SERVICE}", slo="availability"}}'
        wait_for(
            lambda: prom_query(prom.url, f"slo:time_to_exhaustion:seconds{sel}"),
            timeout=60,
            what="the recording rules' first results",
        )

        # Hand computation: budget 1 %; 30 % errors for 65 minutes of 28 days on top of 0.2 %.
        period = _ratio(WINDOW_MIN)
        remaining = 1 - period / 0.01
        tte = remaining * WINDOW_MIN * 60 / (INCIDENT / 0.01)
        assert remaining == pytest.approx(0.75196, abs=1e-5)
        assert tte == pytest.approx(16 * 3600 + 50 * 60 + 38, abs=1)

        assert main(["slo", "status", "--json", "--prometheus-url", prom.url, str(_spec_file(tmp_path))]) == 0
        (status,) = json.loads(capsys.readouterr().out)
        # Within 0.2 %: the 28-day window starts up to 6 hours before its first (sparse) old sample.
        assert status["error_budget_remaining"] == pytest.approx(remaining, rel=2e-3)
        assert status["time_to_exhaustion_seconds"]["1h"] == pytest.approx(tte, rel=2e-3)
        for window, minutes in {"5m": 5, "30m": 30, "1h": 60}.items():
            assert status["burn_rates"][window] == pytest.approx(_ratio(minutes) / 0.01, rel=1e-3), window
        # Longer windows drift by the minute or so between the data's end and the evaluation.
        for window, minutes in {"2h": 120, "6h": 360, "1d": 1440, "3d": 4320}.items():
            assert status["burn_rates"][window] == pytest.approx(_ratio(minutes) / 0.01, rel=0.02), window
        assert [(f["severity"], f["factor"]) for f in status["firing"]] == [("page", 14.4)]

        # The SLO dashboard draws this SLO: every panel's query has data.
        for panel in queries(render_all()["slo"]):
            assert prom_query(prom.url, substitute(panel.expr, {})), panel

        (group,) = parse_rules(generated.alerts, "proof.slo.rules.yml")
        store = RedisStore.from_url(stack.redis_url.rsplit("/", 1)[0] + "/12")
        store.r.flushdb()
        engine = Engine(source=source, store=store, routing=parse_routing(ROUTING, "routing.yaml"))
        outcome = evaluate_group(engine, group, time.time())
        fired = {(t.rule, t.labels["severity"]) for t in outcome.transitions if t.to_state == "firing"}
        assert fired == {("SloProofAvailabilityBudgetBurn", "page")}, outcome
        (job,) = outcome.jobs
        text = render(job, "console", NO_LINKS).text
        assert "slo-proof SLO availability (99% over 28d): error budget burning 30.0x too fast" in text, text
        found = re.search(
            r"Error budget left: ([\d.]+)%\. Time to exhaustion at the 1h burn rate: (\d+)h (\d+)m (\d+)s",
            text,
        )
        assert found, text
        assert float(found[1]) / 100 == pytest.approx(remaining, rel=2e-3)
        hours, minutes, seconds = map(int, found.groups()[1:])
        assert hours * 3600 + minutes * 60 + seconds == pytest.approx(tte, rel=2e-3)

        # Backtest over the backfilled past, where no recorded series exist: the 1h window's burn passes
        # 14.4x once (0.3 m + 0.002 (60 - m)) / 60 > 0.144, m > 28.6 minutes into the incident; the 5m one earlier.
        alerts = tmp_path / "proof.slo.rules.yml"
        alerts.write_text(generated.alerts)
        args = ["--since", "3h", "--step", "1m", "--rules", str(alerts), "--recording", str(recording)]
        assert main(["rules", "backtest", "SloProofAvailabilityBudgetBurn", *args, "--prometheus-url", prom.url]) == 0
        out = capsys.readouterr().out
        assert "recording rules inlined" in out
        episodes = re.findall(r"fired (\S+ \S+)  resolved (.+?)  \{(.*)\}", out)
        assert [(resolved, labels) for _, resolved, labels in episodes] == [
            ("still firing", "service_name=slo-proof,severity=page,slo=availability")
        ], out
        fired = datetime.strptime(episodes[0][0], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()
        minutes_in = (0.144 - BACKGROUND) * 60 / (INCIDENT - BACKGROUND)
        expected = end - INCIDENT_MIN * 60 + minutes_in * 60
        assert abs(fired - expected) <= 120, (episodes, expected)
        store.r.close()
    finally:
        source.close()
        prom.close()


def _spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "slo" / "proof.slo.yml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(SPEC)
    return path
