"""`loadgen serve` on the Heron SDK: init/shutdown, the missing-SDK warning, shared providers, error capture."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from flask import Flask

import heron
from heron.testing import CapturedTelemetry, capture
from loadgen.config import LoadgenConfig
from loadgen.events import EventLog
from loadgen.instrumentation import HEALTH_ROUTES, Instrumentation
from loadgen.lab import lab
from loadgen.telemetry import Telemetry
from tests.unit.loadgen.conftest import fake_factories, tiny_catalog

EXPORTING = LoadgenConfig(service_name="lg-unit", otlp_export=True, metric_export_interval_ms=1500)


class FakeHeron(ModuleType):
    """Records the public calls loadgen makes."""

    def __init__(self, started: bool = True) -> None:
        super().__init__("heron")
        self.started = started
        self.init_calls: list[dict[str, Any]] = []
        self.shutdown_calls: list[float] = []

    def init(self, **kwargs: Any) -> bool:
        self.init_calls.append(kwargs)
        return self.started

    def shutdown(self, timeout: float = 2.0) -> Any:
        self.shutdown_calls.append(timeout)
        return SimpleNamespace(completed=True)


def test_serve_starts_heron_with_loadgen_settings_and_flushes_on_shutdown() -> None:
    fake = FakeHeron()
    sdk = Instrumentation(load=lambda: fake)
    assert sdk.start(EXPORTING, {})
    assert fake.init_calls == [
        {"service_name": "lg-unit", "metric_export_interval": 1.5, "health_check_routes": ("/api/health",)}
    ]
    sdk.shutdown(timeout=1.0)
    sdk.shutdown(timeout=1.0)
    assert fake.shutdown_calls == [1.0]


def test_own_health_routes_setting_wins() -> None:
    fake = FakeHeron()
    Instrumentation(load=lambda: fake).start(EXPORTING, {"HERON_HEALTH_ROUTES": "/ping"})
    assert "health_check_routes" not in fake.init_calls[0]


def test_no_export_configured_leaves_the_sdk_alone() -> None:
    fake = FakeHeron()
    sdk = Instrumentation(load=lambda: fake)
    assert not sdk.start(LoadgenConfig(otlp_export=False), {})
    assert fake.init_calls == []
    assert not sdk.active


def test_a_refused_init_falls_back_to_loadgen_exporters() -> None:
    sdk = Instrumentation(load=lambda: FakeHeron(started=False))
    assert not sdk.start(EXPORTING, {})
    assert not sdk.active


def test_missing_sdk_is_one_warning_naming_the_package(caplog: pytest.LogCaptureFixture) -> None:
    sdk = Instrumentation(load=lambda: None)
    with caplog.at_level(logging.WARNING, logger="loadgen"):
        assert not sdk.start(EXPORTING, {})
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "heron-sdk is not installed" in warnings[0].getMessage()
    assert "pip install ./sdk" in warnings[0].getMessage()


def test_shared_telemetry_records_through_heron(heron_telemetry: CapturedTelemetry) -> None:
    telemetry = Telemetry.shared()
    events = EventLog()
    events.subscribe(telemetry.on_event)
    events.emit("action_started", "cpu-stress started", "info", action_id="cpu-stress-1")
    telemetry.traffic(ok=4, failed=1, dropped=0, latencies=[0.01] * 5)
    telemetry.shutdown()
    requests = {p.attributes["outcome"]: p.value for p in heron_telemetry.metrics("loadgen.traffic.requests")}
    assert requests == {"ok": 4, "failed": 1}
    assert heron_telemetry.metrics("http.client.request.duration")[0].value == 5
    assert [p.value for p in heron_telemetry.metrics("loadgen.actions.active")] == [0, 0, 0, 0]
    record = next(r for r in heron_telemetry.logs() if r.log_record.body == "cpu-stress started")
    assert record.log_record.attributes is not None
    assert record.log_record.attributes["event.type"] == "action_started"
    assert record.resource.attributes["service.name"] == "heron-test"


@pytest.fixture
def lab_telemetry() -> Iterator[CapturedTelemetry]:
    """Heron with in-memory exporters and the health routes `loadgen serve` passes to `heron.init`."""
    captured = capture(service_name="lg-unit", health_check_routes=HEALTH_ROUTES)
    try:
        yield captured
    finally:
        heron.shutdown(timeout=0.5)


def _lab_app(tmp_path: Any) -> Flask:
    from loadgen import create_app

    config = LoadgenConfig(disk_dir=tmp_path, max_duration_seconds=60.0)
    app = create_app(config, factories=fake_factories(), telemetry=Telemetry.shared(), catalog=tiny_catalog())

    @app.get("/api/demo/boom")
    def boom() -> str:
        raise RuntimeError("demo failure")

    return app


def test_routes_become_server_spans_and_errors_are_captured(lab_telemetry: CapturedTelemetry, tmp_path: Any) -> None:
    app = _lab_app(tmp_path)
    try:
        client = app.test_client()
        assert client.get("/api/demo/ok").status_code == 200
        assert client.get("/api/health").status_code == 200
        response = client.get("/api/demo/boom")
        assert response.status_code == 500
        assert response.get_json()["error"] == "internal_error"
    finally:
        lab(app).shutdown()
    ok = lab_telemetry.span("GET /api/demo/ok")
    assert ok.attributes is not None
    assert ok.attributes["http.response.status_code"] == 200
    routes = {p.attributes["http.route"] for p in lab_telemetry.metrics("http.server.request.duration")}
    assert routes == {"/api/demo/ok", "/api/demo/boom"}
    failed = lab_telemetry.span("GET /api/demo/boom")
    assert [e.name for e in failed.events] == ["exception"]
    errors = lab_telemetry.metrics("heron.errors")
    assert [p.attributes["error.type"] for p in errors] == ["RuntimeError"]
    error_logs = [r for r in lab_telemetry.logs() if r.log_record.severity_text == "ERROR"]
    assert error_logs
    assert all(r.log_record.trace_id == failed.context.trace_id for r in error_logs)
