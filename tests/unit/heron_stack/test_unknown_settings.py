"""A HERON_* variable no component reads is reported at start, with the closest known name."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from alert_worker.config import resolve_config as resolve_alerts
from heron_stack import settings
from heron_stack.config import resolve as resolve_stack
from loadgen.config import resolve_config as resolve_loadgen
from otel_agent.config import resolve_config as resolve_agent

TYPO = "HERON_ALERTS_PROMETEUS_URL"
MESSAGE = "HERON_ALERTS_PROMETEUS_URL is not a Heron setting; did you mean HERON_ALERTS_PROMETHEUS_URL?"


@pytest.fixture(autouse=True)
def _fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each name is reported once per process: start every test as a new process."""
    monkeypatch.setattr(settings, "_reported", set())


def test_an_unknown_name_comes_with_the_closest_known_one() -> None:
    env = {TYPO: "http://x:9090", "HERON_ALERTS_PROMETHEUS_URL": "http://y:9090", "PATH": "/bin"}
    assert settings.unknown_settings(env, settings.known_names()) == [(TYPO, "HERON_ALERTS_PROMETHEUS_URL")]


def test_a_name_like_nothing_known_still_is_reported() -> None:
    reported: list[str] = []
    settings.warn_unknown_settings({"HERON_ZZZZZZZZZZZZZZZZZZZZ": "1"}, reported.append)
    assert reported == ["HERON_ZZZZZZZZZZZZZZZZZZZZ is not a Heron setting (docs/operations.md lists them all)"]


def test_known_names_of_every_component_and_the_sdk_are_quiet() -> None:
    reported: list[str] = []
    env = dict.fromkeys(settings.known_names(), "1") | {"OTEL_SERVICE_NAME": "x", "HOME": "/root"}
    assert "HERON_INSTRUMENT_FLASK" in env  # an SDK name: an app and the alert worker may share compose's env
    assert "HERON_LOADGEN_TOKEN" in env  # another component's name
    assert settings.warn_unknown_settings(env, reported.append) == []
    assert reported == []


def test_each_unknown_name_is_reported_once_per_process() -> None:
    reported: list[str] = []
    settings.warn_unknown_settings({TYPO: "1", "HERON_AGENT_INTERVALL": "5"}, reported.append)
    settings.warn_unknown_settings({TYPO: "1"}, reported.append)
    assert reported == [
        "HERON_AGENT_INTERVALL is not a Heron setting; did you mean HERON_AGENT_INTERVAL?",
        MESSAGE,
    ]


def test_the_alert_worker_logs_it(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        resolve_alerts(env={TYPO: "http://x:9090"})
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("alert_worker.config", logging.WARNING, MESSAGE)
    ]


def test_the_load_lab_logs_it(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        resolve_loadgen(environ={"HERON_LOADGEN_THREAD": "4"})
    assert [r.getMessage() for r in caplog.records if r.name == "loadgen.config"] == [
        "HERON_LOADGEN_THREAD is not a Heron setting; did you mean HERON_LOADGEN_THREADS?"
    ]


def test_the_agent_logs_it(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        config = resolve_agent(None, {"HERON_AGENT_INTERVALL": "5"})
    assert config.interval == 10.0  # the misspelt variable changes nothing
    assert [r.getMessage() for r in caplog.records if r.name == "otel_agent.config"] == [
        "HERON_AGENT_INTERVALL is not a Heron setting; did you mean HERON_AGENT_INTERVAL?"
    ]


def test_heron_prints_it_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    resolve_stack({"HERON_BIND_HOTS": "0.0.0.0"}, state_dir=tmp_path)
    assert capsys.readouterr().err == ("heron: HERON_BIND_HOTS is not a Heron setting; did you mean HERON_BIND_HOST?\n")


def test_a_clean_environment_reports_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        resolve_alerts(env={"HERON_ALERTS_PROMETHEUS_URL": "http://x:9090", "HERON_LOADGEN_PORT": "8081"})
        resolve_agent(None, {"HERON_AGENT_INTERVAL": "5", "HERON_ENVIRONMENT": "prod"})
    assert caplog.records == []


def test_the_check_imports_no_other_component() -> None:
    """A container ships one component (and heron_stack): the agent's must warn without alert_worker or loadgen."""
    code = (
        "import sys\n"
        "from otel_agent.config import resolve_config\n"
        "resolve_config(None, {'HERON_AGENT_ROOT': '/', 'HERON_ALERTS_REDIS_URL': 'r', 'HERON_AGENT_ROTO': '/'})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alert_worker', 'loadgen', 'heron')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout == "[]\n"
    assert done.stderr == "HERON_AGENT_ROTO is not a Heron setting; did you mean HERON_AGENT_ROOT?\n"
