"""Parsing HERON_ALERTS_REDIS_URL: one server or a Sentinel-managed primary, and the forms each client gets."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from alert_worker.config import resolve_config
from alert_worker.exceptions import ConfigError
from alert_worker.redis_url import RedisTarget, parse_redis_url, redact


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "rediss://cache:6380/2", "unix:///run/redis.sock"])
def test_a_single_server_url_is_kept_as_redis_py_reads_it(url):
    target = parse_redis_url(url)
    assert target == RedisTarget(url=url)
    assert not target.is_sentinel
    assert target.kombu_broker() == (url, {})
    assert target.redbeat_url() == url


def test_a_sentinel_url_names_sentinels_master_and_db():
    target = parse_redis_url("redis+sentinel://:s3cret@10.0.0.1:26379,10.0.0.2,[::1]:26380/heron/3")
    assert target.sentinels == (("10.0.0.1", 26379), ("10.0.0.2", 26379), ("::1", 26380))
    assert (target.master_name, target.db, target.username, target.password) == ("heron", 3, None, "s3cret")


def test_the_db_defaults_to_0():
    assert parse_redis_url("redis+sentinel://h:26379/heron").db == 0


def test_kombu_gets_one_sentinel_url_per_sentinel_and_the_master_name():
    target = parse_redis_url("redis+sentinel://app:p%40ss@h1:26379,h2:26380/heron/2")
    url, options = target.kombu_broker()
    assert url == "sentinel://app:p%40ss@h1:26379/2;sentinel://app:p%40ss@h2:26380/2"
    assert options == {"master_name": "heron"}
    assert target.password == "p@ss"
    assert target.redbeat_url() == "redis-sentinel://h1:26379/2"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("127.0.0.1:6379", "must be a Redis URL"),
        ("http://127.0.0.1:6379/0", "must be a Redis URL"),
        ("redis+sentinel://h1:26379,h2:26379", "names no master"),
        ("redis+sentinel://h1:26379/", "names no master"),
        ("redis+sentinel://h1:26379,,h2:26379/heron", "empty sentinel address"),
        ("redis+sentinel://h1:99999/heron", "port from 1 to 65535"),
        ("redis+sentinel://h1:26379/heron/zero", "db a number"),
        ("redis+sentinel://h1:26379/heron/0/extra", "/master_name/db"),
        ("redis+sentinel://h1:26379/he ron/0", "master name"),
        ("redis+sentinel://h1:26379/heron/0?ssl=true", "no query"),
    ],
)
def test_bad_urls_say_what_is_allowed(url, message):
    with pytest.raises(ValueError, match=message):
        parse_redis_url(url)


def test_config_error_names_the_variable_and_hides_the_password():
    env = {"HERON_ALERTS_REDIS_URL": "redis+sentinel://:hunter2@h1:26379"}
    with pytest.raises(ConfigError) as info:
        resolve_config(env=env)
    assert info.value.field == "HERON_ALERTS_REDIS_URL"
    assert "hunter2" not in str(info.value)
    assert "redis+sentinel://:***@h1:26379" in str(info.value)
    assert "names no master" in str(info.value)


def test_the_broker_follows_the_redis_url_under_sentinel():
    cfg = resolve_config(env={"HERON_ALERTS_REDIS_URL": "redis+sentinel://h1:26379,h2:26379/heron/1"})
    assert cfg.broker == "sentinel://h1:26379/1;sentinel://h2:26379/1"
    assert cfg.replica_wait().replicas == 1


def test_a_single_server_does_not_wait_for_replicas_unless_told():
    assert resolve_config(env={}).replica_wait().replicas == 0
    cfg = resolve_config(env={"HERON_ALERTS_REDIS_WAIT_REPLICAS": "2", "HERON_ALERTS_REDIS_WAIT_TIMEOUT": "250ms"})
    wait = cfg.replica_wait()
    assert (wait.replicas, wait.timeout_s) == (2, 0.25)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("HERON_ALERTS_REDIS_WAIT_REPLICAS", "-1", "from 0"),
        ("HERON_ALERTS_REDIS_WAIT_REPLICAS", "many", "integer"),
        ("HERON_ALERTS_REDIS_WAIT_TIMEOUT", "1m", "10ms to 10s"),
        ("HERON_ALERTS_BROKER_URL", "rabbit:5672", "Celery broker URL"),
        ("HERON_ALERTS_BROKER_URL", "redis+sentinel://h1:26379", "names no master"),
    ],
)
def test_bad_wait_settings_name_the_variable(name, value, message):
    with pytest.raises(ConfigError, match=message) as info:
        resolve_config(env={name: value})
    assert info.value.field == name


def test_redact_leaves_urls_without_a_password_alone():
    assert redact("redis://h:6379/0") == "redis://h:6379/0"
    assert redact("redis://user:pw@h:6379/0") == "redis://user:***@h:6379/0"


def test_a_non_redis_broker_passes_through():
    cfg = resolve_config(env={"HERON_ALERTS_BROKER_URL": "amqp://guest@rabbit:5672//"})
    assert cfg.broker_transport() == ("amqp://guest@rabbit:5672//", {})


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis+sentinel://:pa/ss@h:26379/m", "redis+sentinel://:***@h:26379/m"),
        ("redis://app:p@ss@h:6379/0", "redis://app:***@h:6379/0"),
        ("redis://:a/b?c#d@h:6379/0", "redis://:***@h:6379/0"),
    ],
)
def test_redact_masks_the_whole_password_up_to_the_last_at(url, shown):
    assert redact(url) == shown


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://:pa/ss@h:26379/m",
        "redis://:pa/ss@h:6379/0",
        "redis://app:p@ss@h:6379/0",
        "rediss://:pa?ss@h:6379/0",
        "redis://:pa#ss@h:6379/0",
    ],
)
def test_an_unencoded_slash_or_at_in_the_password_is_refused_without_showing_it(url):
    with pytest.raises(ConfigError) as info:
        resolve_config(env={"HERON_ALERTS_REDIS_URL": url})
    message = str(info.value)
    assert info.value.field == "HERON_ALERTS_REDIS_URL"
    assert "percent-encode / and @ in the password" in message
    for fragment in ("pa/ss", "pa?ss", "pa#ss", "p@ss", "ss@"):
        assert fragment not in message
    assert "***" in message


def test_the_target_repr_leaves_the_password_out():
    target = parse_redis_url("redis+sentinel://app:hunter2@h:26379/heron")
    assert target.password == "hunter2"
    assert "hunter2" not in repr(target)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://127.0.0.1:99999/0", "Port out of range"),
        ("redis://h:port/0", "Port could not be cast"),
        ("redis://", "names no host"),
        ("rediss:///0", "names no host"),
        ("unix://", "names no socket path"),
    ],
)
def test_a_bad_single_server_url_stops_at_config_time(url, message):
    with pytest.raises(ConfigError, match=message) as info:
        resolve_config(env={"HERON_ALERTS_REDIS_URL": url})
    assert info.value.field == "HERON_ALERTS_REDIS_URL"
    assert "redis+sentinel://" in str(info.value)  # the allowed forms


def test_a_bad_single_server_url_hides_its_password():
    with pytest.raises(ConfigError) as info:
        resolve_config(env={"HERON_ALERTS_REDIS_URL": "redis://:hunter2@h:99999/0"})
    assert "hunter2" not in str(info.value)
    assert "redis://:***@h:99999/0" in str(info.value)


def test_the_cli_reports_a_bad_port_instead_of_a_traceback():
    env = {**os.environ, "HERON_ALERTS_REDIS_URL": "redis://127.0.0.1:99999/0"}
    done = subprocess.run(
        [sys.executable, "-m", "alert_worker", "shards"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "HERON_ALERTS_REDIS_URL" in done.stderr
    assert "Port out of range" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_config_s_repr_and_celery_s_conf_show_neither_the_api_token_nor_the_redis_password() -> None:
    from alert_worker.celery_app import create_celery
    from alert_worker.config import resolve_config

    config = resolve_config(
        env={
            "HERON_ALERTS_API_TOKEN": "s3cret-token",
            "HERON_ALERTS_REDIS_URL": "redis://:s3cret-pass@127.0.0.1:6379/0",
        }
    )
    shown = repr(config)
    assert "s3cret" not in shown
    assert "redis://:***@127.0.0.1:6379/0" in shown
    assert "api_token='***'" in shown
    heron_config = create_celery(config).conf.heron_config
    assert "s3cret" not in repr(heron_config)
