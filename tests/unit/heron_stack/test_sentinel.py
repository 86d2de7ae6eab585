"""Sentinel service specs: what a topology starts next to its Redis primary."""

from __future__ import annotations

from pathlib import Path

import pytest

from alert_worker.redis_url import parse_redis_url
from heron_stack.sentinel import SentinelLayout, sentinel_config, sentinel_specs

LAYOUT = SentinelLayout(host="127.0.0.1", primary_port=6379, replica_port=6380, sentinel_ports=(26379, 26380, 26381))


def test_specs_start_the_replica_before_the_sentinels(tmp_path):
    specs = sentinel_specs(LAYOUT, Path("/usr/bin/redis-server"), Path("/usr/bin/redis-sentinel"), tmp_path)
    assert list(specs) == ["redis-replica", "sentinel-1", "sentinel-2", "sentinel-3"]
    replica = list(specs["redis-replica"].argv)
    assert replica[replica.index("--replicaof") + 1 :][:2] == ["127.0.0.1", "6379"]
    assert "--appendonly" in replica, "the replica keeps the primary's persistence once promoted"
    assert specs["sentinel-2"].argv == ["/usr/bin/redis-sentinel", str(tmp_path / "sentinel-2" / "sentinel.conf")]


def test_a_sentinel_config_is_written_once_and_then_left_to_the_sentinel(tmp_path):
    spec = sentinel_specs(LAYOUT, Path("redis-server"), Path("redis-sentinel"), tmp_path)["sentinel-1"]
    assert spec.prepare is not None
    spec.prepare()
    conf = tmp_path / "sentinel-1" / "sentinel.conf"
    assert "sentinel monitor heron 127.0.0.1 6379 2" in conf.read_text()
    conf.write_text(conf.read_text() + "sentinel known-replica heron 127.0.0.1 6380\n")  # what a sentinel adds
    spec.prepare()
    assert "known-replica" in conf.read_text()


def test_the_config_carries_the_timings():
    text = sentinel_config(LAYOUT, 26379, Path("/state"))
    assert "sentinel down-after-milliseconds heron 5000" in text
    assert "sentinel failover-timeout heron 30000" in text
    assert "port 26379" in text


def test_the_layout_url_is_what_the_alert_worker_reads():
    target = parse_redis_url(LAYOUT.url(db=2))
    assert target.sentinels == (("127.0.0.1", 26379), ("127.0.0.1", 26380), ("127.0.0.1", 26381))
    assert (target.master_name, target.db) == ("heron", 2)


def test_a_quorum_larger_than_the_sentinels_is_refused():
    with pytest.raises(ValueError, match="quorum 4"):
        SentinelLayout(host="h", primary_port=1, replica_port=2, sentinel_ports=(3, 4, 5), quorum=4)


def test_the_replica_and_sentinels_are_ready_when_they_answer_ping_like_the_stacks_redis():
    import socket
    import threading

    from heron_stack import services
    from heron_stack.runner import redis_ready

    assert services.redis_ready is redis_ready  # one PING check for the stack's Redis and the topology's
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def answer(reply: bytes) -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(64)
                conn.sendall(reply)

        for reply, expected in ((b"+PONG\r\n", None), (b"-NOAUTH Authentication required.\r\n", "NOAUTH")):
            thread = threading.Thread(target=answer, args=(reply,))
            thread.start()
            problem = redis_ready("127.0.0.1", port)()
            thread.join(timeout=5)
            assert problem is None if expected is None else expected in (problem or "")
    assert "127.0.0.1" in (redis_ready("127.0.0.1", port)() or "")  # nothing listens now
    spec = sentinel_specs(LAYOUT, Path("redis-server"), Path("redis-sentinel"), Path("/nonexistent"))["sentinel-1"]
    assert spec.ready.__qualname__ == redis_ready("h", 1).__qualname__
