"""`heron dashboards preview`: draw each dashboard's panels from a real Prometheus into a PNG.

Grafana cannot run everywhere Heron is developed; these pictures show what an operator sees,
from the same queries the dashboards run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from heron_stack.dashboards.checks import panels, substitute

UNIT_SCALE = {"percentunit": (100.0, "%"), "bytes": (1 / 2**20, "MiB"), "Bps": (1 / 2**10, "KiB/s")}


def _range(prometheus_url: str, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
    resp = httpx.get(
        f"{prometheus_url}/api/v1/query_range",
        params={"query": expr, "start": start, "end": end, "step": step},
        timeout=30,
    )
    resp.raise_for_status()
    result: list[dict[str, Any]] = resp.json()["data"]["result"]
    return result


def _legend(template: str, labels: Mapping[str, str]) -> str:
    text = template
    for key, value in labels.items():
        text = text.replace("{{" + key + "}}", value)
    return text or ",".join(f"{k}={v}" for k, v in labels.items() if k != "__name__") or "value"


def render_png(
    dash: Mapping[str, Any], prometheus_url: str, out: Path, variables: Mapping[str, str], minutes: float = 15
) -> Path:
    """Plot every Prometheus panel of `dash` over the last `minutes` into one PNG at `out`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    drawable = [p for p in panels(dash) if p.get("type") in {"timeseries", "stat", "table"} and p.get("targets")]
    cols = 3
    rows = max(1, math.ceil(len(drawable) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 5.2, rows * 2.8), squeeze=False)
    end = time.time()
    start = end - minutes * 60
    for ax, panel in zip(axes.flat, drawable, strict=False):
        unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "")
        scale, suffix = UNIT_SCALE.get(unit, (1.0, unit if unit not in {"short", "none"} else ""))
        for target in panel["targets"]:
            expr = substitute(target["expr"], variables)
            for series in _range(prometheus_url, expr, start, end, max(1.0, (end - start) / 240))[:12]:
                xs = [(float(t) - end) / 60 for t, _ in series["values"]]
                ys = [float(v) * scale for _, v in series["values"]]
                ax.plot(xs, ys, linewidth=1, label=_legend(target.get("legendFormat", ""), series["metric"])[:40])
        ax.set_title(panel.get("title", ""), fontsize=9)
        ax.set_xlabel("minutes ago", fontsize=7)
        ax.set_ylabel(suffix, fontsize=7)
        ax.tick_params(labelsize=7)
        if ax.lines:
            ax.legend(fontsize=6, loc="upper left")
        else:
            ax.text(0.5, 0.5, "No data", ha="center", va="center", transform=ax.transAxes, color="red")
    for ax in list(axes.flat)[len(drawable) :]:
        ax.axis("off")
    fig.suptitle(f"{dash.get('title')} — {', '.join(f'{k}={v}' for k, v in variables.items())}", fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return out
