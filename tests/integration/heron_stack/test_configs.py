"""The checked-in configs pass the real tools' own validators."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from heron_stack import components
from heron_stack.config import PROJECT_DIR, resolve
from heron_stack.services import AUTH_OVERLAY

pytestmark = pytest.mark.integration


def _binary(name: str) -> Path:
    status = components.registry(resolve({})).get(name)
    assert status is not None
    found = status.locate().path
    assert found is not None, f"{name} is not installed; run `make components`"
    return found


def _run(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, env=env)


def test_collector_validates_otel_collector_yaml() -> None:
    done = _run([str(_binary("collector")), "validate", f"--config={PROJECT_DIR / 'otel-collector.yaml'}"])
    assert done.returncode == 0, done.stderr


def test_collector_validates_the_config_with_the_auth_overlay() -> None:
    argv = [str(_binary("collector")), "validate", f"--config={PROJECT_DIR / 'otel-collector.yaml'}"]
    argv += [f"--config={overlay}" for overlay in AUTH_OVERLAY]
    done = _run(argv)
    assert done.returncode == 0, done.stderr


def test_collector_rejects_a_broken_config(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    text = (
        (PROJECT_DIR / "otel-collector.yaml")
        .read_text()
        .replace("exporters: [prometheus_remote_write]", "exporters: [no_such_exporter]")
    )
    broken.write_text(text)
    done = _run([str(_binary("collector")), "validate", f"--config={broken}"])
    assert done.returncode != 0
    assert "no_such_exporter" in done.stderr


def test_collector_has_every_component_the_pipeline_needs() -> None:
    done = _run([str(_binary("collector")), "components"])
    assert done.returncode == 0, done.stderr
    for name in (
        "otlp",
        "batch",
        "memory_limiter",
        "resource",
        "prometheus_remote_write",
        "otlp_http",
        "debug",
        "health_check",
        "bearertokenauth",
        "span_metrics",
    ):
        assert f"name: {name}\n" in done.stdout, f"{name} is not compiled into the collector"


def test_promtool_accepts_prometheus_yml() -> None:
    done = _run([str(_binary("promtool")), "check", "config", str(PROJECT_DIR / "prometheus" / "prometheus.yml")])
    assert done.returncode == 0, done.stdout + done.stderr


def test_collector_validates_the_optional_loki_overlay() -> None:
    """The Loki compose profile's only Heron-side piece: the collector accepts the merged config."""
    overlay = PROJECT_DIR / "deploy" / "loki" / "otel-collector.loki.yaml"
    argv = [str(_binary("collector")), "validate", f"--config={PROJECT_DIR / 'otel-collector.yaml'}"]
    done = _run([*argv, f"--config={overlay}"])
    assert done.returncode == 0, done.stderr


def test_victorialogs_refuses_a_bad_retention_flag(tmp_path: Path) -> None:
    """The flags `heron up` passes are the store's own: a bad value stops it at start with its reason."""
    argv = [str(_binary("victorialogs")), f"-storageDataPath={tmp_path}", "-retentionPeriod=7x", "-httpListenAddr=:0"]
    done = _run(argv)
    assert done.returncode != 0
    assert "retentionPeriod" in done.stderr + done.stdout
