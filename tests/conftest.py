"""Shared fixtures: the real stack for integration and e2e tests, a clean environment for unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.stack import StackHandle, start_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackHandle]:
    """The real collector, Prometheus, VictoriaLogs and Redis on free loopback ports, for the whole session."""
    handle = start_stack(tmp_path_factory.mktemp("heron-stack"))
    try:
        yield handle
    finally:
        handle.stack.down()
