"""Component bootstrap: where binaries are found, and what it says when it cannot get one."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from heron_stack import cli, components
from heron_stack.components import (
    CollectorComponent,
    Component,
    ComponentStatus,
    DebianComponent,
    GoInstallComponent,
    PrometheusModuleComponent,
    ensure_all,
    registry,
    victorialogs_component,
)
from heron_stack.config import PROJECT_DIR, resolve
from heron_stack.exceptions import ComponentMissing
from heron_stack.services import components_for


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


def test_prometheus_3_is_built_from_its_module_and_named_by_its_release(tmp_path: Path) -> None:
    config = resolve({}, state_dir=tmp_path, project_dir=PROJECT_DIR)
    parts = registry(config)
    server, tool = parts["prometheus3"], parts["promtool3"]
    assert isinstance(server, PrometheusModuleComponent)
    assert isinstance(tool, PrometheusModuleComponent)
    assert server.pin.module == "github.com/prometheus/prometheus"
    assert server.pin.release == "v3." + str(int(server.pin.version.split(".")[1]) % 100) + ".0"
    assert server.cache_dir == tool.cache_dir  # one `go install` builds both


def test_the_first_make_up_does_not_build_prometheus_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []

    def fake_ensure(self: Component, progress: object = None) -> Path:
        built.append(self.name)
        return tmp_path / self.name

    for cls in (CollectorComponent, DebianComponent, GoInstallComponent):
        monkeypatch.setattr(cls, "ensure", fake_ensure)
    ensure_all(resolve({}, state_dir=tmp_path, project_dir=PROJECT_DIR))
    assert "prometheus3" not in built
    assert {"collector", "victorialogs", "prometheus", "redis"} <= set(built)


def test_heron_prometheus_v3_runs_the_module_build(tmp_path: Path) -> None:
    v3 = resolve({"HERON_PROMETHEUS": "v3"}, state_dir=tmp_path, project_dir=PROJECT_DIR)
    assert components_for(["prometheus", "redis"], v3) == ["prometheus3", "redis"]
    debian = resolve({}, state_dir=tmp_path, project_dir=PROJECT_DIR)
    assert components_for(["prometheus", "redis"], debian) == ["prometheus", "redis"]


class _Fake:
    def __init__(self, name: str, path: Path | None) -> None:
        self.name, self.path = name, path

    def locate(self) -> ComponentStatus:
        return ComponentStatus(self.name, "1", self.path, "ok" if self.path else "not built yet")


@pytest.mark.parametrize(("missing", "code"), [("prometheus3", 0), ("collector", 1)])
def test_components_ensure_fails_only_for_what_make_up_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, missing: str, code: int
) -> None:
    names = ["collector", "victorialogs", "prometheus", "redis", "prometheus3", "promtool3"]
    fakes = {n: _Fake(n, None if n in (missing, "promtool3") else tmp_path / n) for n in names}
    monkeypatch.setattr(components, "registry", lambda config: fakes)
    monkeypatch.setattr(components, "ensure_all", lambda config: {})
    assert cli.main(["components", "--ensure"]) == code
