from __future__ import annotations

import pytest

from alert_worker.channels import DestinationConfigError, preview_destination, resolve_destinations, send_test
from tests.fixtures.standins.jobs import make_job

SLACK = "https://hooks.slack.com/services/T/B/previewsecret"


def test_preview_renders_for_the_destination_type() -> None:
    config = resolve_destinations(environ={"HERON_ALERTS_SLACK_WEBHOOK_URL": SLACK})
    out = preview_destination(config, "slack", make_job("slack"))
    assert out.startswith("Subject: [FIRING:1] HighCpu (critical)")
    assert "*CPU above 90% on web-1*" in out  # Slack mrkdwn, not HTML
    assert "Heron test notification" in preview_destination(config, "console")


def test_preview_of_unknown_destination_names_the_known_ones() -> None:
    config = resolve_destinations(environ={})
    with pytest.raises(DestinationConfigError, match="'pager' is not configured; configured destinations: console"):
        preview_destination(config, "pager")


def test_send_test_posts_a_sample_message(script) -> None:
    config = resolve_destinations(environ={"HERON_ALERTS_SLACK_WEBHOOK_URL": SLACK})
    s = script((200, "ok"))
    send_test(config, "slack", transport=s.transport)
    assert s.bodies()[0]["text"].startswith("[FIRING:1] HeronTestNotification")
