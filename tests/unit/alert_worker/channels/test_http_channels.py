"""Slack, Discord and generic webhook adapters against scripted answers."""

from __future__ import annotations

import pytest

from alert_worker.channels import (
    DiscordChannel,
    PermanentError,
    SendContext,
    SlackChannel,
    TransientError,
    WebhookChannel,
)
from tests.fixtures.standins.jobs import make_alert, make_job

SLACK_URL = "https://hooks.slack.com/services/T000/B000/SECRETSECRETSECRET"
DISCORD_URL = "https://discord.com/api/webhooks/123/SECRET-discord-token"


def slack(script) -> SlackChannel:
    return SlackChannel(SLACK_URL, transport=script.transport)


def test_slack_sends_blocks_and_escaped_fallback(script) -> None:
    s = script((200, "ok"))
    alert = make_alert(labels={"who": "<!channel> & <@U1>"}, summary="a<b")
    slack(s).send(make_job(alerts=(alert,)), SendContext())
    body = s.bodies()[0]
    assert body["text"].startswith("[FIRING:1] HighCpu")
    section = body["blocks"][1]["text"]["text"]
    assert "&lt;!channel&gt; &amp; &lt;@U1&gt;" in section  # no mention can fire from a label value
    assert "*a&lt;b*" in section
    assert "<http://grafana.local/d/host|Dashboard>" in section


@pytest.mark.parametrize(
    ("answer", "error", "retry_after", "broken"),
    [
        ((429, "rate_limited", {"Retry-After": "30"}), TransientError, 30.0, None),
        ((500, "internal_error"), TransientError, None, None),
        ((503, "service_unavailable"), TransientError, None, None),
        ((400, "invalid_payload"), PermanentError, None, False),
        ((400, "channel_is_archived"), PermanentError, None, True),
        ((403, "invalid_token"), PermanentError, None, True),
        ((404, "channel_not_found"), PermanentError, None, True),
        ((410, "channel_is_archived"), PermanentError, None, True),
    ],
)
def test_slack_error_classes(script, answer, error, retry_after, broken) -> None:
    with pytest.raises(error) as info:
        slack(script(answer)).send(make_job(), SendContext())
    if error is TransientError:
        assert info.value.retry_after == retry_after
    else:
        assert info.value.destination_broken is broken
    assert "SECRETSECRET" not in str(info.value)


def test_discord_disables_mentions_and_escapes_markdown(script) -> None:
    s = script((200, {"id": "999"}))
    alert = make_alert(labels={"team": "@everyone *ops*"})
    result = DiscordChannel(DISCORD_URL, transport=s.transport).send(make_job(alerts=(alert,)), SendContext())
    body = s.bodies()[0]
    assert body["allowed_mentions"] == {"parse": []}
    assert r"team=\@everyone \*ops\*" in body["content"]
    assert s.requests[0].url.params["wait"] == "true"
    assert result.remote_id == "999"


@pytest.mark.parametrize(
    ("answer", "error", "retry_after", "broken"),
    [
        (
            (429, {"message": "You are being rate limited.", "retry_after": 1.5, "global": False}),
            TransientError,
            1.5,
            None,
        ),
        ((502, {"message": "bad gateway"}), TransientError, None, None),
        ((400, {"message": "Cannot send an empty message", "code": 50006}), PermanentError, None, False),
        ((404, {"message": "Unknown Webhook", "code": 10015}), PermanentError, None, True),
        ((401, {"message": "Invalid Webhook Token", "code": 50027}), PermanentError, None, True),
    ],
)
def test_discord_error_classes(script, answer, error, retry_after, broken) -> None:
    with pytest.raises(error) as info:
        DiscordChannel(DISCORD_URL, transport=script(answer).transport).send(make_job(), SendContext())
    if error is TransientError:
        assert info.value.retry_after == retry_after
    else:
        assert info.value.destination_broken is broken
    assert "SECRET-discord-token" not in str(info.value)


def test_webhook_sends_alertmanager_payload(script) -> None:
    s = script((200, {"status": "ok"}))
    job = make_job(alerts=(make_alert(), make_alert(labels={"instance": "web-2"})), group_key="group-1")
    WebhookChannel("http://recv.local/hook", receiver="ops", bearer_token="tkn-123456", transport=s.transport).send(
        job, SendContext()
    )
    body = s.bodies()[0]
    assert body["version"] == "4"
    assert body["receiver"] == "ops"
    assert body["status"] == "firing"
    assert body["groupKey"] == "group-1"
    assert body["groupLabels"] == {"alertname": "HighCpu"}
    assert body["commonLabels"] == {"alertname": "HighCpu", "severity": "critical"}
    assert body["commonAnnotations"]["summary"] == "CPU above 90% on web-1"
    assert [a["labels"]["instance"] for a in body["alerts"]] == ["web-1", "web-2"]
    first = body["alerts"][0]
    assert first["startsAt"] == "2026-11-22T11:53:00Z"
    assert first["endsAt"] == "0001-01-01T00:00:00Z"
    assert set(first) >= {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}
    assert s.requests[0].headers["Idempotency-Key"] == job.idempotency_key
    assert s.requests[0].headers["Authorization"] == "Bearer tkn-123456"


@pytest.mark.parametrize(
    ("status", "error"),
    [(408, TransientError), (429, TransientError), (500, TransientError), (400, PermanentError), (422, PermanentError)],
)
def test_webhook_error_classes(script, status, error) -> None:
    with pytest.raises(error):
        WebhookChannel("http://recv.local/hook", receiver="ops", transport=script((status, {})).transport).send(
            make_job(), SendContext()
        )
