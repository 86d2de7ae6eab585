"""Render every dashboard to stable JSON; write it, or report which checked-in files differ."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from heron_stack.config import PROJECT_DIR
from heron_stack.dashboards import alerts, app, fleet, host, loadlab, pipeline, slo

DASHBOARD_DIR = PROJECT_DIR / "grafana" / "dashboards"

DASHBOARDS: dict[str, Callable[[], dashboard.Dashboard]] = {
    "alerts": alerts.build,
    "app-red": app.build,
    "fleet": fleet.build,
    "host-overview": host.build,
    "load-lab": loadlab.build,
    "pipeline-health": pipeline.build,
    "slo": slo.build,
}
"""File stem -> builder. The folder "Heron" comes from the provisioning provider."""


def _number_panels(dash: dict[str, Any]) -> None:
    next_id = 1
    for panel in dash.get("panels", []):
        panel["id"] = next_id
        next_id += 1
        for inner in panel.get("panels", []):
            inner["id"] = next_id
            next_id += 1


def render(builder: Callable[[], dashboard.Dashboard]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(JSONEncoder(sort_keys=True).encode(builder().build()))
    _number_panels(data)
    data["id"] = None
    data["version"] = 1
    return data


def to_text(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_all() -> dict[str, dict[str, Any]]:
    return {name: render(builder) for name, builder in DASHBOARDS.items()}


def build_all(out_dir: Path = DASHBOARD_DIR) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in render_all().items():
        path = out_dir / f"{name}.json"
        path.write_text(to_text(data), encoding="utf-8")
        written.append(path)
    return written


def stale_files(out_dir: Path = DASHBOARD_DIR) -> list[str]:
    """Names of dashboards whose checked-in JSON differs from the generator's output (or is missing/extra)."""
    rendered = {f"{name}.json": to_text(data) for name, data in render_all().items()}
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in out_dir.glob("*.json")} if out_dir.exists() else {}
    return sorted(name for name in rendered.keys() | on_disk.keys() if rendered.get(name) != on_disk.get(name))
