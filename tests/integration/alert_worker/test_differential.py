"""The same rule file in Debian's Prometheus and in Heron's engine: firing and resolving agree.

Heron's side keeps its state where the shipped worker keeps it, in the real Redis.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime

import httpx
import pytest

from alert_worker.engine import Engine, evaluate_group
from alert_worker.rules.loader import load_rule_files
from alert_worker.sources.prometheus import PrometheusSource
from alert_worker.state.redis_store import RedisStore
from tests.fixtures.stack import StackHandle
from tests.helpers import prom_query, wait_for

from .support import MetricsTarget, PrivatePrometheus

pytestmark = pytest.mark.integration

INTERVAL = 2.0
SETTLE = 0.3  # seconds after Prometheus' tick before Heron evaluates the same instant
RULES = """\
groups:
  - name: diff
    interval: 2s
    rules:
      - alert: DiffHigh
        expr: heron_diff_value > 5
        for: 4s
      - alert: DiffKeep
        expr: heron_diff_value > 5
        keep_firing_for: 4s
"""


def _prom_episode(url: str, alert: str, start: float, end: float) -> tuple[float, float]:
    """First and last firing sample of ALERTS; the resolve is the evaluation after the last sample."""
    raw = prom_query(url, f'ALERTS{{alertname="{alert}",alertstate="firing"}}[{int(end - start) + 5}s]', end)
    assert raw, f"Prometheus never fired {alert}"
    samples = [float(t) for t, _ in raw[0]["values"]]
    return samples[0], samples[-1] + INTERVAL


def _prom_phase(url: str) -> float | None:
    """The instant of the diff group's last evaluation in Prometheus (its ticks are that + k * interval)."""
    groups = httpx.get(f"{url}/api/v1/rules", timeout=5).json()["data"]["groups"]
    last = next((g.get("lastEvaluation") for g in groups if g["name"] == "diff"), None)
    if not last or last.startswith("0001-"):
        return None
    whole, _, frac = last.rstrip("Z").partition(".")
    stamp = datetime.fromisoformat(whole).replace(tzinfo=UTC).timestamp()
    return stamp + float(f"0.{frac or 0}")


@pytest.mark.parametrize("flavour", ["v3", "debian"])
def test_firing_and_resolving_times_agree_with_prometheus(tmp_path, stack: StackHandle, flavour: str):
    """On the Prometheus compose ships (v3) and the one `make up` runs (Debian's)."""
    rule_file = tmp_path / "diff.rules.yml"
    rule_file.write_text(RULES)
    target = MetricsTarget()
    target.set('heron_diff_value{host_name="diff-1"}', 0)
    prom = PrivatePrometheus(tmp_path, rule_file, target.port, "2s", flavour)
    source = PrometheusSource(prom.url)
    stop = threading.Event()
    try:
        wait_for(lambda: prom_query(prom.url, "heron_diff_value"), timeout=30, what="first scrape")
        (group,) = load_rule_files([rule_file])
        store = RedisStore.from_url(stack.redis_url.rsplit("/", 1)[0] + "/13")
        store.r.flushdb()
        engine = Engine(source=source, store=store)
        mine: dict[str, list[tuple[str, float]]] = {"DiffHigh": [], "DiffKeep": []}

        # Evaluate at Prometheus' own evaluation instants, a moment after each (so both see the same
        # samples): the comparison is then about rule semantics, not about the phase of two schedulers.
        phase = wait_for(lambda: _prom_phase(prom.url), timeout=30, what="Prometheus' first rule evaluation")

        def loop() -> None:
            while not stop.is_set():
                slot = phase + INTERVAL * math.floor((time.time() - SETTLE - phase) / INTERVAL)
                for t in evaluate_group(engine, group, slot).transitions:
                    if t.rule in mine and (t.from_state, t.to_state) in {("pending", "firing"), ("firing", "inactive")}:
                        mine[t.rule].append((t.to_state, t.at))
                stop.wait(max(0.0, slot + INTERVAL + SETTLE - time.time()))

        worker = threading.Thread(target=loop, daemon=True)
        worker.start()
        start = time.time()
        target.set('heron_diff_value{host_name="diff-1"}', 10)
        wait_for(lambda: time.time() > start + 14, timeout=30, what="breach period", interval=0.5)
        target.set('heron_diff_value{host_name="diff-1"}', 0)
        wait_for(
            lambda: all(any(s == "inactive" for s, _ in v) for v in mine.values()),
            timeout=40,
            what="both rules resolved in Heron",
        )
        stop.set()
        worker.join(timeout=10)
        end = time.time()
        for alert, events in mine.items():
            fired = next(t for s, t in events if s == "firing")
            resolved = next(t for s, t in events if s == "inactive")
            p_fired, p_resolved = _prom_episode(prom.url, alert, start - 5, end)
            # Same instants, same samples: the same evaluation, or the next one when a scrape committed
            # just after Prometheus' tick (Prometheus queries at the tick itself; see docs/alerting.md).
            assert abs(fired - p_fired) <= INTERVAL + 0.1, (alert, fired, p_fired)
            assert abs(resolved - p_resolved) <= INTERVAL + 0.1, (alert, resolved, p_resolved)
    finally:
        stop.set()
        source.close()
        prom.close()
        target.close()
