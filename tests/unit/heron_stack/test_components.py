"""Component bootstrap: where binaries are found, and what it says when it cannot get one."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from heron_stack.components import CollectorComponent, DebianComponent, victorialogs_component
from heron_stack.config import PROJECT_DIR
from heron_stack.exceptions import ComponentMissing


def _fake_binary(directory: Path, name: str, output: str) -> Path:
    path = directory / name
    path.write_text(f"#!/bin/sh\necho '{output}'\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_collector_cache_key_follows_the_manifest(tmp_path: Path) -> None:
    component = CollectorComponent(PROJECT_DIR, tmp_path)
    assert component.version == "0.159.0"
    assert component.cached_path.parent.parent == tmp_path / "collector"
    assert component.cached_path.parent.name.startswith("0.159.0-")


def test_a_binary_of_the_pinned_version_on_path_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_binary(bin_dir, "otelcol-contrib", "otelcol-contrib version 0.159.0")
    monkeypatch.setenv("PATH", str(bin_dir))
    status = CollectorComponent(PROJECT_DIR, tmp_path / "cache").locate()
    assert status.status == "on PATH"
    assert status.path == bin_dir / "otelcol-contrib"


def test_a_binary_of_another_version_on_path_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_binary(bin_dir, "victoria-logs", "victoria-logs-v1.20.0")
    monkeypatch.setenv("PATH", str(bin_dir))
    status = victorialogs_component(PROJECT_DIR, tmp_path / "cache").locate()
    assert status.path is None
    assert "not built yet" in status.status


def test_without_go_the_build_stops_with_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ComponentMissing) as info:
        victorialogs_component(PROJECT_DIR, tmp_path / "cache").ensure(progress=lambda _: None)
    assert "victorialogs" in str(info.value)
    assert "Go toolchain" in str(info.value)
    assert "Install Go 1.25 or newer" in str(info.value)


def test_debian_component_reports_version_and_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_binary(tmp_path, "redis-server", "Redis server v=7.0.15 sha=00000000:0")
    monkeypatch.setenv("PATH", str(tmp_path))
    status = DebianComponent("redis", "redis-server", "redis-server", ["--version"]).locate()
    assert (status.version, status.path, status.status) == ("7.0.15", tmp_path / "redis-server", "installed")


def test_missing_debian_package_names_the_install_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    status = DebianComponent("prometheus", "prometheus", "prometheus", ["--version"]).locate()
    assert status.path is None
    assert status.status == "missing (apt-get install prometheus)"


def test_victorialogs_is_installed_from_its_pinned_module(tmp_path: Path) -> None:
    component = victorialogs_component(PROJECT_DIR, tmp_path)
    pins = yaml.safe_load((PROJECT_DIR / "build" / "versions.yaml").read_text())["victorialogs"]
    assert component.pin.ref == f"github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@{pins['version']}"
    assert component.cached_path.parent.name.startswith(pins["version"].lstrip("v") + "-")


def test_a_cached_binary_reports_the_version_it_prints(tmp_path: Path) -> None:
    component = victorialogs_component(PROJECT_DIR, tmp_path)
    component.cache_dir.mkdir(parents=True)
    _fake_binary(component.cache_dir, "victoria-logs", "victoria-logs-v9.8.7")
    assert component.locate().version == "9.8.7"
