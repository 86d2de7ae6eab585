"""Unit tests are hermetic: no HERON_* or OTEL_* setting leaks in from the developer's shell."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("HERON_", "OTEL_")):
            monkeypatch.delenv(key, raising=False)
