"""Schemathesis against /openapi.json: no 5xx, every answer conforms to the documented schema."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings

from loadgen.lab import lab
from tests.unit.loadgen.conftest import make_app

# Built at import: schemathesis' fixture-based loader does not support pytest 9 yet.
_DISK_DIR = tempfile.TemporaryDirectory(prefix="loadgen-fuzz-")
APP = make_app(Path(_DISK_DIR.name))
schema = schemathesis.openapi.from_wsgi("/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def _shutdown_app() -> Iterator[None]:
    yield
    lab(APP).shutdown()
    _DISK_DIR.cleanup()


@pytest.fixture
def fuzz_app() -> Flask:
    return APP


@schema.exclude(path="/api/demo/slow").parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_api_conforms_to_its_openapi(case: Any) -> None:
    case.call_and_validate()


def test_spec_documents_every_route(fuzz_app: Flask) -> None:
    spec = fuzz_app.test_client().get("/openapi.json").get_json()
    documented = {p.replace("{id}", "<x>") for p in spec["paths"]}
    routed = {
        str(rule).replace("<action_id:action_id>", "<x>").replace("<scenario_id>", "<x>")
        for rule in fuzz_app.url_map.iter_rules()
        if str(rule).startswith("/api/")
    }
    assert routed - documented == {"/api/demo/flaky"}
