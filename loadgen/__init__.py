"""Heron loadgen: a Flask load lab with precise actions, scenarios and hard safety limits.

`create_app` is imported lazily so the CPU and traffic worker processes start without Flask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loadgen.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from loadgen.app import create_app

        return create_app
    raise AttributeError(f"module 'loadgen' has no attribute {name!r}")
