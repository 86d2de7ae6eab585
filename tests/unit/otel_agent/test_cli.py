"""`otel-agent --once` on the fixture tree: every point printed as text or JSON."""

from __future__ import annotations

import json

import pytest

from otel_agent.cli import main

from .conftest import FIXTURE_ROOT


def test_once_prints_points_with_attributes_values_and_units(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--once", "--root", str(FIXTURE_ROOT), "--source", "procfs"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert 'system.cpu.time{cpu.mode="user",cpu.logical_number="0"} 200 s' in out
    assert "system.process.created{} 24007 {process}" in out
    assert (
        'system.network.connection.count{network.transport="tcp",network.connection.state="listen"} 2 {connection}'
        in out
    )


def test_once_json_carries_resource_and_points(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--once", "--json", "--root", str(FIXTURE_ROOT), "--source", "procfs", "--service-name", "edge"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["resource"]["host.name"] == "fixture-host"
    assert doc["resource"]["host.id"] == "0123456789abcdef0123456789abcdef"
    assert doc["resource"]["service.name"] == "edge"
    assert doc["resource"]["os.description"].startswith("Debian GNU/Linux 12")
    load = next(p for p in doc["points"] if p["name"] == "system.cpu.load_average.1m")
    assert load == {
        "name": "system.cpu.load_average.1m",
        "attributes": {},
        "value": 0.5,
        "unit": "{thread}",
        "kind": "gauge",
    }


def test_once_in_hostmetrics_naming(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--once", "--root", str(FIXTURE_ROOT), "--source", "procfs", "--naming", "hostmetrics"]) == 0
    assert 'system.cpu.time{state="user",cpu="cpu0"} 200 s' in capsys.readouterr().out.splitlines()


def test_psutil_source_runs_on_this_host(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--once", "--json", "--source", "psutil"]) == 0
    names = {p["name"] for p in json.loads(capsys.readouterr().out)["points"]}
    assert {"system.cpu.time", "system.memory.usage", "system.network.io", "system.uptime"} <= names


def test_resource_attributes_from_the_environment_override_detection(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "host.name=edge-7,deployment.environment.name=prod")
    assert main(["--once", "--json", "--root", str(FIXTURE_ROOT), "--source", "procfs"]) == 0
    resource = json.loads(capsys.readouterr().out)["resource"]
    assert resource["host.name"] == "edge-7"
    assert resource["deployment.environment.name"] == "prod"
    assert resource["host.id"] == "0123456789abcdef0123456789abcdef"
