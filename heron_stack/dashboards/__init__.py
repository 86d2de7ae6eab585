"""Heron's Grafana dashboards, generated as code into grafana/dashboards/*.json."""

from __future__ import annotations

from heron_stack.dashboards.render import DASHBOARDS, build_all, render_all, stale_files

__all__ = ["DASHBOARDS", "build_all", "render_all", "stale_files"]
