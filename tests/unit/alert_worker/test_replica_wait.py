"""ReplicaWait: a marker write and WAIT on one connection; a shortfall is logged once, then not waited for."""

from __future__ import annotations

import logging
from typing import Any

from alert_worker.redis_client import MARKER_KEY, ReplicaWait


class FakePipeline:
    def __init__(self, client: FakeRedis) -> None:
        self.client, self.commands = client, []

    def __enter__(self) -> FakePipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def incr(self, key: str) -> None:
        self.commands.append(("INCR", key))

    def wait(self, replicas: int, timeout_ms: int) -> None:
        self.commands.append(("WAIT", replicas, timeout_ms))

    def execute(self) -> list[Any]:
        self.client.sent.append(self.commands)
        return [1, self.client.acked]


class FakeRedis:
    def __init__(self, acked: int) -> None:
        self.acked, self.sent = acked, []

    def pipeline(self, transaction: bool = True) -> FakePipeline:
        assert transaction is False, "WAIT cannot run inside MULTI; the pipeline only keeps one connection"
        return FakePipeline(self)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_waits_for_the_replicas_after_a_marker_write_on_the_same_connection():
    client = FakeRedis(acked=1)
    assert ReplicaWait(1, 0.5)(client) is True
    assert client.sent == [[("INCR", MARKER_KEY), ("WAIT", 1, 500)]]


def test_zero_replicas_sends_nothing():
    client = FakeRedis(acked=0)
    assert ReplicaWait(0, 1.0)(client) is False
    assert client.sent == []


def test_a_shortfall_is_logged_and_later_writes_skip_the_wait_for_a_while(caplog):
    clock, client = Clock(), FakeRedis(acked=0)
    wait = ReplicaWait(1, 1.0, backoff_s=30, clock=clock)
    with caplog.at_level(logging.WARNING):
        assert wait(client) is False
        assert wait(client) is False
    assert len(client.sent) == 1, "the second write did not wait again"
    assert wait.shortfalls == 1
    assert "0 of 1 replicas" in caplog.text
    client.acked = 1
    clock.now += 31
    assert wait(client) is True
    assert len(client.sent) == 2
