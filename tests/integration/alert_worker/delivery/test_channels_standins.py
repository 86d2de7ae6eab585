"""Channels through `DeliveryService` on real Redis, against the Telegram, Slack, Discord and webhook stand-ins."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from alert_worker.channels.config import resolve_destinations
from alert_worker.delivery import DeliveryPolicy, OutboxRecord, RedisDestinationState, RedisOutbox
from alert_worker.delivery.wiring import build_service
from tests.fixtures.standins import DiscordStandIn, Fault, SlackStandIn, TelegramStandIn, WebhookStandIn
from tests.fixtures.standins.base import Reply
from tests.fixtures.standins.jobs import make_alert, make_job
from tests.integration.alert_worker.delivery.conftest import write_destinations

pytestmark = pytest.mark.integration
TOKEN = "123456:TEST-token-abcdefghijklmnopqrstu"
POLICY = DeliveryPolicy(max_age=3600, lease=5, backoff_base=0.05, backoff_cap=0.2, max_inline_wait=10)


@pytest.fixture
def service_for(tmp_path, redis_client):
    built = []

    def make(destinations, fallback: str = ""):
        path = write_destinations(tmp_path / "dest.yaml", destinations)
        if fallback:
            path.write_text(path.read_text() + f"fallback: {fallback}\n")
        service = build_service(resolve_destinations(path, environ={}), redis_client, policy=POLICY)
        built.append(service)
        return service

    yield make
    for service in built:
        service.close()


def outbox_record(redis_client, key: str) -> OutboxRecord:
    record = RedisOutbox(redis_client).get(key)
    assert record is not None, f"no outbox record for {key}"
    return record


def now_job(destination: str, **kwargs):
    return make_job(destination, created_at=datetime.now(UTC), **kwargs)


def tg_dest(tg: TelegramStandIn, **extra):
    return {"type": "telegram", "token": TOKEN, "chat_id": "-100", "api_url": tg.url, "timeout_seconds": 1, **extra}


class _SecondPartFailsOnce(TelegramStandIn):
    """Answers 502 to the second sendMessage it sees, once (a 5xx in the middle of a split message)."""

    calls = 0

    def process(self, path: str, payload: dict[str, Any], headers: dict[str, str]) -> Reply:
        self.calls += 1
        if self.calls == 2:
            return Reply(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
        return super().process(path, payload, headers)


def test_telegram_split_message_retried_after_a_5xx_shows_every_part_once(ns, service_for, redis_client) -> None:
    alerts = tuple(make_alert(labels={"n": str(i)}, summary=f"disk {i} " + "x" * 300) for i in range(30))
    with _SecondPartFailsOnce() as tg:
        service = service_for({f"tg-{ns}": tg_dest(tg, max_parts=3)})
        job = now_job(f"tg-{ns}", alerts=alerts)
        first = service.deliver(job)
        assert first.status == "retry"
        assert len(tg.accepted) == 1
        # The retry itself: the task Celery runs after its countdown (the outbox does not hold it back).
        assert service.deliver(job).status == "sent"
        texts = [m.text for m in tg.accepted]
        assert len(texts) == 3
        assert len(set(texts)) == 3  # part 1 was not sent again
        assert texts[-1].endswith("(truncated)")


def test_telegram_429_waits_exactly_retry_after(ns, service_for, redis_client) -> None:
    with TelegramStandIn() as tg:
        service = service_for({f"tg-{ns}": tg_dest(tg)})
        body = {"ok": False, "error_code": 429, "description": "Too Many Requests", "parameters": {"retry_after": 2}}
        tg.inject(Fault(429, body))
        started = time.time()
        outcome = service.deliver(now_job(f"tg-{ns}"))
        assert outcome.status == "sent"
        assert len(tg.accepted) == 1
        assert tg.accepted[0].at - started >= 2.0  # never earlier than Telegram asked
        assert tg.requests == 2


def test_telegram_bad_markup_falls_back_to_plain_text(ns, service_for, redis_client) -> None:
    with TelegramStandIn() as tg:
        service = service_for({f"tg-{ns}": tg_dest(tg)})
        body = {"ok": False, "error_code": 400, "description": "Bad Request: can't parse entities: Unsupported tag"}
        tg.inject(Fault(400, body))
        assert service.deliver(now_job(f"tg-{ns}")).status == "sent"
        (accepted,) = tg.accepted
        assert "parse_mode" not in accepted.payload
        assert "CPU above 90% on web-1" in accepted.text


def test_telegram_migrated_chat_is_persisted(ns, service_for, redis_client) -> None:
    with TelegramStandIn(migrated={"-100": "-1002000"}) as tg:
        service = service_for({f"tg-{ns}": tg_dest(tg)})
        assert service.deliver(now_job(f"tg-{ns}")).status == "sent"
        assert RedisDestinationState(redis_client).overrides(f"tg-{ns}") == {"chat_id": "-1002000"}
        # A fresh service (another worker, after a restart) goes straight to the new chat.
        fresh = service_for({f"tg-{ns}": tg_dest(tg)})
        before = tg.requests
        assert fresh.deliver(now_job(f"tg-{ns}")).status == "sent"
        assert tg.requests == before + 1
        assert [a.target for a in tg.accepted] == ["-1002000", "-1002000"]


def test_telegram_resolve_edits_the_firing_message(ns, service_for, redis_client) -> None:
    with TelegramStandIn() as tg:
        service = service_for({f"tg-{ns}": tg_dest(tg, edit_on_resolve=True)})
        service.deliver(now_job(f"tg-{ns}", group_key=f"g-{ns}"))
        service.deliver(now_job(f"tg-{ns}", group_key=f"g-{ns}", status="resolved"))
        assert len(tg.accepted) == 1
        (edit,) = tg.edits
        assert edit.message_id == tg.accepted[0].message_id
        assert "RESOLVED" in edit.text


@pytest.mark.parametrize(
    "fault",
    [Fault(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}), Fault(delay=1.5), Fault(drop=True)],
    ids=["5xx", "timeout", "connection-dropped"],
)
def test_telegram_transient_failures_are_retried(ns, service_for, redis_client, fault) -> None:
    with TelegramStandIn() as tg:
        service = service_for({f"tg-{ns}": tg_dest(tg)})
        tg.inject(fault)
        job = now_job(f"tg-{ns}")
        first = service.deliver(job)
        assert first.status == "retry"
        assert outbox_record(redis_client, job.idempotency_key).state == "pending"
        # The retry itself: the task Celery runs after its countdown (the outbox does not hold it back).
        assert service.deliver(job).status == "sent"
        assert len(tg.accepted) == 1
        assert TOKEN not in outbox_record(redis_client, job.idempotency_key).last_error


def test_slack_archived_channel_is_unhealthy_and_reported_to_fallback(ns, service_for, redis_client) -> None:
    hook = f"/services/T1/B1/{ns}"
    with SlackStandIn(archived={hook}) as slack, WebhookStandIn() as fallback:
        service = service_for(
            {
                f"slack-{ns}": {"type": "slack", "webhook_url": slack.url + hook},
                f"hook-{ns}": {"type": "webhook", "url": fallback.url + "/alerts"},
            },
            fallback=f"hook-{ns}",
        )
        job = now_job(f"slack-{ns}")
        outcome = service.deliver(job)
        assert outcome.status == "dead"
        assert "channel_is_archived" in outcome.detail
        assert ns not in outcome.detail  # the webhook URL (its last part) is redacted
        assert RedisDestinationState(redis_client).health(f"slack-{ns}").healthy is False
        record = outbox_record(redis_client, job.idempotency_key)
        assert record.state == "dead"
        (meta,) = fallback.accepted
        alert = meta.payload["alerts"][0]
        assert alert["labels"]["alertname"] == "HeronDestinationUnhealthy"
        assert alert["labels"]["destination"] == f"slack-{ns}"


def test_slack_retry_after_pauses_every_sender(ns, service_for, redis_client) -> None:
    with SlackStandIn() as slack:
        # One token per second: no second message can be granted while the 429 is still on its way back
        # (however slow the machine), and without the pause the next one would go out after about 1 s.
        dest = {"type": "slack", "webhook_url": slack.webhook_url(f"/services/T/B/{ns}"), "rate_per_second": 1}
        service = service_for({f"slack-{ns}": dest})
        slack.inject(Fault(429, "rate_limited", {"Retry-After": "2"}))
        jobs = [now_job(f"slack-{ns}") for _ in range(4)]
        started = time.time()
        with ThreadPoolExecutor(4) as pool:
            outcomes = list(pool.map(service.deliver, jobs))
        assert [o.status for o in outcomes] == ["sent"] * 4
        assert len(slack.accepted) == 4
        assert min(a.at for a in slack.accepted) - started >= 2.0  # nothing went out during the pause


def test_discord_and_webhook_deliver(ns, service_for, redis_client) -> None:
    with DiscordStandIn() as discord, WebhookStandIn(bearer_token="hook-token-123") as hook:
        service = service_for(
            {
                f"dc-{ns}": {"type": "discord", "webhook_url": discord.webhook_url()},
                f"wh-{ns}": {"type": "webhook", "url": hook.url + "/am", "bearer_token": "hook-token-123"},
            },
        )
        discord.inject(Fault(429, {"message": "rate limited", "retry_after": 0.3, "global": False}))
        assert service.deliver(now_job(f"dc-{ns}")).status == "sent"
        job = now_job(f"wh-{ns}")
        assert service.deliver(job).status == "sent"
        assert service.deliver(job).status == "duplicate"
    assert "CPU above 90% on web" in discord.accepted[0].text.replace("\\", "")
    (received,) = hook.accepted
    assert received.payload["version"] == "4"
    assert received.payload["receiver"] == f"wh-{ns}"
    assert received.headers["idempotency-key"] == job.idempotency_key


def test_concurrent_claims_send_once(ns, service_for, redis_client) -> None:
    with WebhookStandIn(hold=0.3) as hook:
        dests = {f"wh-{ns}": {"type": "webhook", "url": hook.url + "/am", "rate_per_second": 100, "burst": 100}}
        services = [service_for(dests) for _ in range(4)]
        job = now_job(f"wh-{ns}")
        with ThreadPoolExecutor(4) as pool:
            outcomes = list(pool.map(lambda s: s.deliver(job), services))
    assert sorted(o.status for o in outcomes) == ["busy", "busy", "busy", "sent"]
    assert len(hook.accepted) == 1
