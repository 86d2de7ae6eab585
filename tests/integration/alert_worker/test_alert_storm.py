"""An alert storm on a slow chat: evaluation keeps its schedule and every chat ends showing the truth.

60 alerts fire at once into a Telegram stand-in that accepts one message per second (429 with
retry_after otherwise). Half of them are over after 20 s, while most of their firing notices still wait.
Meanwhile a second rule group flaps every second. Everything runs as `heron up` runs it: the real
Prometheus scraping the storm's series, Redis, beat, an evaluation pool and a separate delivery pool.
The scenario lives in tests/fixtures/storm.py; `python -m bench storm` measures the same run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.stack import StackHandle
from tests.fixtures.storm import run_storm

pytestmark = pytest.mark.integration


def test_a_notification_storm_starves_no_evaluation_and_every_chat_ends_true(
    stack: StackHandle, tmp_path: Path
) -> None:
    result = run_storm(tmp_path, stack.redis_url.rsplit("/", 1)[0] + "/11")

    hit, expected = result.flap_slots()
    assert hit >= 0.95 * expected, f"flap group evaluated in {hit} of {expected} slots"

    per_alert = result.per_alert()
    for storm_id in result.stay:  # still firing: told once, never resolved
        assert per_alert[storm_id] == ["firing"], (storm_id, per_alert[storm_id])
    for storm_id in result.gone:  # over: the last word is resolved; a firing notice never follows it; no repeats
        assert per_alert[storm_id] in (["firing", "resolved"], ["collapsed"]), (storm_id, per_alert[storm_id])
