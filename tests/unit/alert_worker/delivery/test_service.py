from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from alert_worker.channels import PermanentError, SendContext, SendResult, TransientError
from alert_worker.delivery import (
    DeliveryPolicy,
    DeliveryService,
    InMemoryDestinationState,
    InMemoryOutbox,
    InMemoryRateLimiter,
    Rate,
)
from alert_worker.delivery.state import LastSent
from alert_worker.models import NotificationJob
from tests.fixtures.standins.jobs import T0, make_job


class FakeClock:
    def __init__(self, start: float) -> None:
        self.t = start
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


@dataclass
class FakeChannel:
    """Answers from `script` (exceptions are raised), then succeeds; records what it was given."""

    kind: str = "fake"
    script: list[object] = field(default_factory=list)
    sent: list[tuple[NotificationJob, SendContext, float]] = field(default_factory=list)
    clock: FakeClock | None = None

    def send(self, job: NotificationJob, ctx: SendContext) -> SendResult:
        answer = self.script.pop(0) if self.script else SendResult(remote_id=f"m{len(self.sent) + 1}")
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, SendResult)
        self.sent.append((job, ctx, self.clock.now() if self.clock else 0.0))
        return answer


@pytest.fixture
def env():
    clock = FakeClock(T0.timestamp() + 1)
    channels = {"tg": FakeChannel(clock=clock), "fallback": FakeChannel(clock=clock)}
    service = DeliveryService(
        channels=channels,
        outbox=InMemoryOutbox(),
        limiter=InMemoryRateLimiter(clock.now),
        state=InMemoryDestinationState(),
        rates={"tg": Rate(1.0), "fallback": Rate(100.0, 100)},
        policy=DeliveryPolicy(max_age=3600, backoff_base=2, backoff_cap=300, max_inline_wait=60),
        clock=clock,
        fallback="fallback",
        rng=random.Random(7),
    )
    return service, channels, clock


def test_sends_once_and_recognises_the_duplicate(env) -> None:
    service, channels, _ = env
    job = make_job()
    assert service.deliver(job).status == "sent"
    assert service.deliver(job).status == "duplicate"
    assert len(channels["tg"].sent) == 1
    record = service.outbox.get(job.idempotency_key)
    assert (record.state, record.attempts, record.remote_id) == ("sent", 1, "m1")


def test_transient_error_retries_with_backoff_then_succeeds(env) -> None:
    service, channels, clock = env
    channels["tg"].script = [TransientError("HTTP 502"), TransientError("HTTP 503")]
    job = make_job()
    first = service.deliver(job)
    assert first.status == "retry"
    assert 1.0 <= first.retry_in <= 2.0  # attempt 1: base 2 s with equal jitter
    assert service.outbox.get(job.idempotency_key).state == "pending"
    assert service.outbox.get(job.idempotency_key).last_error == "HTTP 502"
    clock.t += first.retry_in
    second = service.deliver(job)
    assert 2.0 <= second.retry_in <= 4.0
    clock.t += second.retry_in
    assert service.deliver(job).status == "sent"
    assert len(channels["tg"].sent) == 1
    assert service.outbox.get(job.idempotency_key).attempts == 3


def test_progress_of_a_failed_attempt_reaches_the_next_attempt(env) -> None:
    service, channels, clock = env
    channels["tg"].script = [TransientError("HTTP 502 on part 2", progress='{"mode": "html", "ids": ["7"]}')]
    job = make_job()
    first = service.deliver(job)
    assert first.status == "retry"
    clock.t += first.retry_in
    assert service.deliver(job).status == "sent"
    [(_, ctx, _)] = channels["tg"].sent
    assert ctx.progress == '{"mode": "html", "ids": ["7"]}'
    other = make_job(key="another-notification", created_at=T0 + timedelta(seconds=1))
    clock.t += 5
    service.deliver(other)
    assert channels["tg"].sent[-1][1].progress is None  # progress belongs to one notification


def test_gives_up_after_max_age_with_the_reason(env) -> None:
    service, channels, clock = env
    channels["tg"].script = [TransientError("HTTP 500 upstream")] * 100
    job = make_job()
    outcome = service.deliver(job)
    while outcome.status == "retry":
        clock.t += outcome.retry_in
        outcome = service.deliver(job)
    assert outcome.status == "dead"
    assert "gave up after" in outcome.detail
    assert "HTTP 500 upstream" in outcome.detail
    assert clock.t - job.created_at.timestamp() <= 3600
    assert service.outbox.dlq == [job.idempotency_key]
    assert channels["tg"].sent == []


def test_retry_after_waits_exactly_that_long_inline(env) -> None:
    service, channels, clock = env
    channels["tg"].script = [TransientError("429", retry_after=7)]
    start = clock.t
    assert service.deliver(make_job()).status == "sent"
    ((_, _, sent_at),) = channels["tg"].sent
    assert sent_at - start == pytest.approx(7.0)


def test_long_retry_after_becomes_a_countdown(env) -> None:
    service, channels, _ = env
    channels["tg"].script = [TransientError("429", retry_after=120)]
    outcome = service.deliver(make_job())
    assert (outcome.status, outcome.retry_in) == ("retry", 120)


def test_permanent_error_dead_letters_and_reports_unhealthy_once(env) -> None:
    service, channels, _ = env
    channels["tg"].script = [PermanentError("HTTP 403 bot was blocked"), PermanentError("HTTP 403 bot was blocked")]
    first, second = make_job(), make_job()
    assert service.deliver(first).status == "dead"
    assert service.deliver(second).status == "dead"
    assert service.state.health("tg").healthy is False
    assert "bot was blocked" in service.state.health("tg").reason
    meta = [job for job, _, _ in channels["fallback"].sent]
    assert len(meta) == 1  # one meta-notification per transition, not per failed message
    assert meta[0].alerts[0].labels["destination"] == "tg"
    assert "bot was blocked" in meta[0].alerts[0].annotations["description"]
    assert service.deliver(make_job()).status == "sent"
    assert service.state.health("tg").healthy is True


def test_message_specific_permanent_error_keeps_destination_healthy(env) -> None:
    service, channels, _ = env
    channels["tg"].script = [PermanentError("invalid_payload", destination_broken=False)]
    assert service.deliver(make_job()).status == "dead"
    assert service.state.health("tg").healthy is True
    assert channels["fallback"].sent == []


def test_unknown_destination_is_dead_lettered(env) -> None:
    service, _, _ = env
    outcome = service.deliver(make_job("nowhere"))
    assert outcome.status == "dead"
    assert "'nowhere' is not configured (configured: fallback, tg)" in outcome.detail


def test_expired_job_is_not_sent(env) -> None:
    service, channels, _ = env
    outcome = service.deliver(make_job(created_at=T0 - timedelta(hours=2)))
    assert outcome.status == "dead"
    assert "max age" in outcome.detail
    assert channels["tg"].sent == []


def test_migrated_chat_id_is_persisted_and_used(env) -> None:
    service, channels, _ = env
    channels["tg"].script = [SendResult(remote_id="1", updates={"chat_id": "-1009"})]
    service.deliver(make_job())
    service.deliver(make_job(key="next", group_key="other-group"))
    assert channels["tg"].sent[1][1].overrides == {"chat_id": "-1009"}


def test_resolve_sees_the_firing_message_id(env) -> None:
    service, channels, _ = env
    service.deliver(make_job(group_key="g"))
    service.deliver(make_job(key="g-resolved", group_key="g", status="resolved", created_at=T0 + timedelta(seconds=30)))
    assert channels["tg"].sent[1][1].previous_remote_id == "m1"
    assert "collapsed" not in channels["tg"].sent[1][0].extra  # its firing notice went first


def test_busy_when_another_worker_holds_the_lease(env) -> None:
    service, channels, clock = env
    job = make_job()
    service.outbox.claim(job, "other-worker", clock.now(), 60)
    outcome = service.deliver(job)
    assert outcome.status == "busy"
    assert outcome.retry_in == pytest.approx(60)
    assert channels["tg"].sent == []
    clock.t += 61  # the other worker died mid-send: its lease expires and the send is taken over
    assert service.deliver(job).status == "sent"
    assert service.outbox.get(job.idempotency_key).recovered == 1


def test_burst_goes_out_in_order_at_the_rate(env) -> None:
    service, channels, _ = env
    jobs = [make_job(created_at=T0 + timedelta(milliseconds=i)) for i in range(10)]
    for job in jobs:
        assert service.deliver(job).status == "sent"
    sent = channels["tg"].sent
    assert [j.idempotency_key for j, _, _ in sent] == [j.idempotency_key for j in jobs]
    gaps = [b[2] - a[2] for a, b in itertools.pairwise(sent)]
    assert min(gaps) >= 1.0 - 1e-9


def test_unexpected_adapter_bug_is_retried_not_lost(env) -> None:
    service, channels, _ = env
    channels["tg"].script = [KeyError("template variable")]
    outcome = service.deliver(make_job())
    assert outcome.status == "retry"
    assert "KeyError" in outcome.detail


def test_a_finished_job_gives_up_its_place_in_the_destination_queue(env) -> None:
    service, channels, _ = env
    done = make_job(key="done", created_at=T0)
    assert service.deliver(done).status == "sent"
    # The same job queued again (a late redelivery) is a duplicate and must not hold newer jobs back.
    service.limiter.announce("tg", "done", T0.timestamp())
    assert service.deliver(done).status == "duplicate"
    newer = make_job(key="newer", created_at=T0 + timedelta(seconds=1))
    assert service.deliver(newer).status == "sent"
    assert [j.idempotency_key for j, _, _ in channels["tg"].sent] == ["done", "newer"]


def test_a_retry_is_not_attempted_before_it_is_due(env) -> None:
    # A task copy that runs early (a countdown cut to fit the broker, or a duplicate) waits for the backoff.
    service, channels, clock = env
    channels["tg"].script = [TransientError("HTTP 502")] * 3
    job = make_job()
    for _ in range(2):
        clock.t += service.deliver(job).retry_in
    third = service.deliver(job)  # backoff 4 to 8 s
    clock.t += third.retry_in / 2
    early = service.deliver(job)
    assert (early.status, early.detail) == ("retry", "not due yet")
    assert early.retry_in == pytest.approx(third.retry_in / 2)
    assert channels["tg"].sent == []
    clock.t += early.retry_in
    assert service.deliver(job).status == "sent"


def test_a_firing_notice_older_than_a_sent_resolved_notice_is_never_sent(env) -> None:
    """A 429 sent the firing notice back to wait; the resolved notice went first. The chat must end RESOLVED."""
    service, channels, clock = env
    firing = make_job(key="g-firing", group_key="g", created_at=T0)
    resolved = make_job(key="g-resolved", group_key="g", status="resolved", created_at=T0 + timedelta(seconds=40))
    assert service.deliver(resolved).status == "sent"
    clock.t += 1
    late = service.deliver(firing)
    assert late.status == "superseded"
    assert [job.status for job, _, _ in channels["tg"].sent] == ["resolved"]
    # The one message says both: it fired, and it is over.
    (job, _, _) = channels["tg"].sent[0]
    assert job.extra["collapsed"] == "true"
    assert service.deliver(firing).status == "duplicate"  # handled for good, also for a redelivered task


def test_notices_of_different_groups_do_not_supersede_each_other(env) -> None:
    service, channels, _ = env
    service.deliver(make_job(key="b", group_key="b", created_at=T0 + timedelta(seconds=5)))
    assert service.deliver(make_job(key="a", group_key="a", created_at=T0)).status == "sent"
    assert len(channels["tg"].sent) == 2


def test_a_notice_waits_while_another_notice_of_its_group_is_being_sent(env) -> None:
    """Two workers: one is sending the firing notice, the other picks up the resolved notice meanwhile."""
    service, channels, clock = env
    firing = make_job(key="g-firing", group_key="g", created_at=T0)
    resolved = make_job(key="g-resolved", group_key="g", status="resolved", created_at=T0 + timedelta(seconds=40))
    assert service.state.hold_group("tg", "g", firing.idempotency_key, 60)  # the other worker's send
    outcome = service.deliver(resolved)
    assert outcome.status == "busy"
    assert channels["tg"].sent == []
    # The firing notice's own redelivery (its worker died) takes its place back at once and goes first.
    assert service.deliver(firing).status == "sent"
    clock.t += 1
    assert service.deliver(resolved).status == "sent"
    assert [job.status for job, _, _ in channels["tg"].sent] == ["firing", "resolved"]
    assert "collapsed" not in channels["tg"].sent[1][0].extra


def test_a_resolved_notice_is_not_collapsed_when_its_firing_message_is_in_the_chat(env) -> None:
    """The firing message went out before the order record existed (an upgrade, or the record expired)."""
    service, channels, _ = env
    service.state.save_remote_id("tg", "g", "m-earlier", 3600)
    service.deliver(make_job(key="g-resolved", group_key="g", status="resolved"))
    (job, ctx, _) = channels["tg"].sent[0]
    assert ctx.previous_remote_id == "m-earlier"
    assert "collapsed" not in job.extra


def test_an_older_notice_never_overwrites_the_record_of_a_newer_one(env) -> None:
    service, _, _ = env
    state = service.state
    state.save_last_sent("tg", "g", LastSent(T0.timestamp() + 40, "resolved"), 3600)
    state.save_last_sent("tg", "g", LastSent(T0.timestamp(), "firing"), 3600)
    assert state.last_sent("tg", "g") == LastSent(T0.timestamp() + 40, "resolved")


def test_a_second_episode_s_resolved_notice_does_not_edit_the_first_episode_s_message(env) -> None:
    """Fired, resolved, fired again (that notice held up by 5xx), resolved: the last resolve stands alone."""
    service, channels, clock = env
    f1 = make_job(key="g-f1", group_key="g", created_at=T0)
    r1 = make_job(key="g-r1", group_key="g", status="resolved", created_at=T0 + timedelta(seconds=60))
    r2 = make_job(key="g-r2", group_key="g", status="resolved", created_at=T0 + timedelta(seconds=180))
    assert service.deliver(f1).status == "sent"
    clock.t += 1
    assert service.deliver(r1).status == "sent"
    assert channels["tg"].sent[1][1].previous_remote_id is not None  # the first resolve edits its firing message
    clock.t += 1
    assert service.deliver(r2).status == "sent"  # the second episode's firing notice is still in backoff
    (job, ctx, _) = channels["tg"].sent[2]
    assert ctx.previous_remote_id is None, "it would rewrite the first episode's message"
    assert job.extra["collapsed"] == "true"  # one message tells the on-call person it fired and resolved
