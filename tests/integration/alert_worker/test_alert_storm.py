"""An alert storm on a slow chat: evaluation keeps its schedule and every chat ends showing the truth.

60 alerts fire at once into a Telegram stand-in that accepts one message per second (429 with
retry_after otherwise). Half of them are over after 20 s, while most of their firing notices still wait.
Meanwhile a second rule group flaps every second. Everything runs as `heron up` runs it: the real
Prometheus scraping the storm's series, Redis, beat, an evaluation pool and a separate delivery pool.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
import redis

from tests.fixtures.stack import StackHandle, clean_env
from tests.fixtures.standins import TelegramStandIn
from tests.helpers import wait_for
from tests.integration.alert_worker.delivery.conftest import write_destinations
from tests.integration.alert_worker.support import MetricsTarget, PrivatePrometheus

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent / "alert-worker"
TOKEN = "123456:STORM-token-abcdefghijklmnopqrstu"
CHAT = "-100555"
STAY = [f"s{i:02d}" for i in range(30)]
GONE = [f"g{i:02d}" for i in range(30)]
GONE_AFTER_S = 20
FLAP_INTERVAL_S = 1


def _rules(uid: str) -> str:
    return f"""
groups:
  - name: storm-{uid}
    interval: 2s
    rules:
      - alert: Storm
        expr: storm_level > 0
        annotations: {{summary: "storm {{{{ $labels.storm_id }}}}", heron_no_data: resolve}}
  - name: flap-{uid}
    interval: {FLAP_INTERVAL_S}s
    rules:
      - alert: Flapping
        expr: 'label_replace(vector(time()) % 4 < 2, "storm_id", "flap", "", "")'
        annotations: {{summary: "flap", heron_no_data: resolve, heron_channels: console}}
"""


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("w") as out:
        return subprocess.Popen(
            [str(BIN), *args], env=env, cwd=log.parent, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _messages_by_alert(texts: list[str]) -> dict[str, list[str]]:
    """storm id -> "firing" / "resolved" / "collapsed" for each message about it, in arrival order."""
    out: dict[str, list[str]] = defaultdict(list)
    for text in texts:
        kind = "firing" if "[FIRING" in text else ("collapsed" if "(fired " in text else "resolved")
        for storm_id in dict.fromkeys(re.findall(r"storm ([sg]\d\d)", text)):
            out[storm_id].append(kind)
    return out


def test_a_notification_storm_starves_no_evaluation_and_every_chat_ends_true(
    stack: StackHandle, tmp_path: Path
) -> None:
    uid = uuid.uuid4().hex[:8]
    rules = tmp_path / "storm.rules.yml"
    rules.write_text(_rules(uid))
    routing = tmp_path / "routing.yaml"
    routing.write_text(
        'route:\n  receivers: ["tg"]\n  group_by: [alertname, storm_id]\n  group_wait: 0s\n'
        "  group_interval: 0s\n  cooldown: 0s\n  repeat_interval: 4h\n  send_resolved: true\n"
    )
    target = MetricsTarget()
    for storm_id in STAY + GONE:
        target.set(f'storm_level{{storm_id="{storm_id}"}}', 1)
    (tmp_path / "no-rules.yml").write_text("groups: []\n")
    prometheus = PrivatePrometheus(tmp_path, tmp_path / "no-rules.yml", target.port, "1s")
    redis_url = stack.redis_url.rsplit("/", 1)[0] + "/11"
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    with TelegramStandIn(tokens={TOKEN}, chats={CHAT}, min_interval=1.0) as telegram:
        destinations = write_destinations(
            tmp_path / "destinations.yaml",
            {
                "tg": {
                    "type": "telegram",
                    "token": TOKEN,
                    "chat_id": CHAT,
                    "api_url": telegram.url,
                    "rate_per_second": 1,
                }
            },
        )
        env = clean_env(
            {
                "HERON_ALERTS_PROMETHEUS_URL": prometheus.url,
                "HERON_ALERTS_REDIS_URL": redis_url,
                "HERON_ALERTS_RULE_FILES": str(rules),
                "HERON_ALERTS_ROUTING_FILE": str(routing),
                "HERON_ALERTS_DESTINATIONS_FILE": str(destinations),
                "HERON_ALERTS_EVAL_QUEUE": f"alerts-{uid}",
                "HERON_ALERTS_NOTIFY_QUEUE": f"notify-{uid}",
                "HERON_ALERTS_FLAP_THRESHOLD": "1000000",  # the flap group flips on purpose
                "OTEL_SDK_DISABLED": "true",
            }
        )
        # As `heron up` runs them: an evaluation pool and a delivery pool, one beat.
        evaluator = _start(["worker", "--role", "evaluate", "--concurrency", "2"], env, tmp_path / "evaluate.log")
        sender = _start(["worker", "--role", "deliver", "--concurrency", "4"], env, tmp_path / "deliver.log")
        beat = _start(["beat"], env, tmp_path / "beat.log")
        slots: set[float] = set()
        slot_key = f"heron:alerts:slot:flap-{uid}"
        try:
            wait_for(lambda: telegram.accepted, timeout=90, what="the first storm message")
            window_start = time.time()
            gone_at = window_start + GONE_AFTER_S
            # While the backlog drains at 1 message/s, watch the flapping group's evaluations.
            while time.time() - window_start < 45:
                if time.time() >= gone_at:  # half the storm is over while its firing notices still wait
                    for storm_id in GONE:
                        target.set(f'storm_level{{storm_id="{storm_id}"}}', 0)
                raw = client.get(slot_key)
                if raw is not None:
                    slots.add(float(raw))
                time.sleep(0.2)
            window_end = time.time()

            def drained() -> bool:
                per_alert = _messages_by_alert([m.text for m in telegram.accepted])
                return all(per_alert.get(s) for s in STAY) and all(
                    per_alert.get(g, [""])[-1] in ("resolved", "collapsed") for g in GONE
                )

            wait_for(drained, timeout=240, what="every storm alert's final state in the chat", interval=1.0)
        finally:
            for proc in (beat, evaluator, sender):
                _stop(proc)
            client.flushdb()
            client.close()
            prometheus.close()
            target.close()
        texts = [m.text for m in telegram.accepted]

    in_window = [s for s in slots if window_start + 1 <= s <= window_end - 1]
    expected = int((window_end - 1) - (window_start + 1)) // FLAP_INTERVAL_S
    assert len(in_window) >= 0.95 * expected, f"flap group evaluated in {len(in_window)} of {expected} slots"

    per_alert = _messages_by_alert(texts)
    for storm_id in STAY:  # still firing: told once, never resolved
        assert per_alert[storm_id] == ["firing"], (storm_id, per_alert[storm_id])
    for storm_id in GONE:  # over: the last word is resolved; a firing notice never follows it; no repeats
        assert per_alert[storm_id] in (["firing", "resolved"], ["collapsed"]), (storm_id, per_alert[storm_id])
