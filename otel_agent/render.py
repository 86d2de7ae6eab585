"""Human and machine renderings of one cycle, for `otel-agent --once`."""

from __future__ import annotations

import json
from collections.abc import Mapping

from otel_agent.collectors.naming import info_for
from otel_agent.models import Cycle


def _fmt(value: float | int) -> str:
    return str(value) if isinstance(value, int) else f"{value:.6g}"


def render_text(cycle: Cycle) -> str:
    lines = []
    for p in cycle.points:
        info = info_for(p.name)
        attrs = ",".join(f'{k}="{v}"' for k, v in p.attrs)
        unit = info.unit if info else ""
        lines.append(f"{p.name}{{{attrs}}} {_fmt(p.value)} {unit}".rstrip())
    return "\n".join(lines)


def render_json(cycle: Cycle, resource: Mapping[str, str]) -> str:
    points = []
    for p in cycle.points:
        info = info_for(p.name)
        points.append(
            {
                "name": p.name,
                "attributes": dict(p.attrs),
                "value": p.value,
                "unit": info.unit if info else "",
                "kind": info.kind.value if info else "",
            }
        )
    return json.dumps({"time_unix_nano": cycle.time_ns, "resource": dict(resource), "points": points}, indent=2)
