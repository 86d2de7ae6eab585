"""Fakes for the loadgen API tests: actions that only wait on their stop event."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import pytest
from flask import Flask
from flask.testing import FlaskClient

from loadgen import create_app
from loadgen.actions.base import Action, ActionEnv
from loadgen.budget import MIB, Reservation
from loadgen.config import LoadgenConfig
from loadgen.lab import lab
from loadgen.scenarios.alerts import AlertSource
from loadgen.scenarios.model import Phase, Scenario, Step
from loadgen.targets import resolve_targets
from loadgen.telemetry import Telemetry


class FakeAction(Action):
    """Reserves what the real action would, reports progress on a wall clock, holds no resources."""

    kind: ClassVar[str] = "fake"

    def __init__(self, request: Any, env: ActionEnv, kind: str) -> None:
        super().__init__()
        self.request = request
        self.kind_name = kind
        self.duration = float(getattr(request, "duration_seconds", 0.5))

    @property
    def expected_seconds(self) -> float:
        return self.duration

    def reservation(self) -> Reservation:
        r = self.request
        if self.kind_name == "cpu-stress":
            return Reservation(cpu_cores=(r.cores or 2) * r.target_percent / 100)
        if self.kind_name == "memory-leak":
            return Reservation(memory_bytes=r.size_mb * MIB)
        if self.kind_name == "traffic":
            return Reservation(traffic_rate=r.requests_per_sec)
        return Reservation()

    def run(self, stop: threading.Event) -> None:
        started = time.monotonic()
        while not stop.wait(0.02):
            progress = (time.monotonic() - started) / self.duration
            self._report(progress, fake_value=1.0)
            if progress >= 1:
                return


def fake_resolver(host: str) -> list[str]:
    return {"localhost": ["127.0.0.1"], "metadata.internal.test": ["169.254.169.254"]}.get(host, ["192.0.2.10"])


def fake_factories() -> dict[str, Any]:
    def make(kind: str) -> Any:
        def factory(request: Any, env: ActionEnv) -> Action:
            if kind == "traffic":
                resolve_targets(request.endpoints, env.config.own_url, env.config.traffic_allow, fake_resolver)
            return FakeAction(request, env, kind)

        return factory

    return {k: make(k) for k in ("cpu-stress", "memory-leak", "disk-io", "traffic")}


class FakeAlerts:
    """An alert source whose firing set tests control."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.url = "http://alerts.test"

    def firing(self) -> set[str]:
        return set(self.names)


def tiny_catalog() -> dict[str, Scenario]:
    steps_a = (Step(0, "cpu-stress", {"target_percent": 50, "duration_seconds": 20, "cores": 1}),)
    steps_b = (Step(10, "traffic", {"requests_per_sec": 10, "duration_seconds": 20}),)
    scenario = Scenario(
        "tiny",
        "Tiny",
        "Two phases.",
        20.0,
        (Phase(0, "calm", "", steps_a), Phase(10, "storm", "", steps_b)),
        ("HighCpuUsage",),
    )
    return {"tiny": scenario}


def make_app(tmp_path: Any, *, alerts: AlertSource | None = None, **overrides: Any) -> Flask:
    values: dict[str, Any] = {"disk_dir": tmp_path, "max_duration_seconds": 60.0} | overrides
    config = LoadgenConfig(**values)
    return create_app(
        config,
        factories=fake_factories(),
        telemetry=Telemetry(),
        alert_source=alerts,
        catalog=tiny_catalog(),
        memory_available=lambda: 1024 * MIB,
    )


@pytest.fixture
def app(tmp_path: Any) -> Iterator[Flask]:
    application = make_app(tmp_path)
    yield application
    lab(application).shutdown()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def error_fields(body: Mapping[str, Any]) -> set[str]:
    return {d["field"] for d in body["details"]}
