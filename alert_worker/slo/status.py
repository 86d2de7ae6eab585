"""Each SLO's budget left, burn rates and time to exhaustion, from the error ratios Prometheus recorded."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alert_worker.rules.evaluator import Sample
from alert_worker.rules.humanize import humanize_duration
from alert_worker.slo import burn
from alert_worker.slo.generate import ratio_name
from alert_worker.slo.spec import SLO

Query = Callable[[str], Sequence[Sample]]


@dataclass(frozen=True)
class SLOStatus:
    """One SLO at one instant. NaN where Prometheus has recorded nothing (no traffic or no rules loaded)."""

    slo: SLO
    period_error_ratio: float
    burn_rates: Mapping[str, float]

    @property
    def budget_remaining(self) -> float:
        return burn.budget_remaining(self.period_error_ratio, self.slo.objective)

    @property
    def time_to_exhaustion_s(self) -> dict[str, float]:
        """Seconds until the budget is spent at the burn rate of each alert long window (1h, 6h, 1d, 3d)."""
        return {
            w: burn.time_to_exhaustion(self.budget_remaining, self.burn_rates.get(w, math.nan), self.slo.window_s)
            for w in burn.EXHAUSTION_WINDOWS
        }

    @property
    def firing(self) -> list[burn.BurnAlert]:
        return burn.firing(self.burn_rates)

    @property
    def has_data(self) -> bool:
        return not math.isnan(self.period_error_ratio)


def status_from(slo: SLO, ratios: Mapping[str, float]) -> SLOStatus:
    """Status from error ratios by window (`5m` ... `3d` and the SLO window)."""
    burns = {w: burn.burn_rate(ratios.get(w, math.nan), slo.objective) for w in burn.BURN_WINDOWS}
    return SLOStatus(slo, ratios.get(slo.window, math.nan), burns)


def fetch_status(slo: SLO, query: Query) -> SLOStatus:
    """One instant query for every recorded error ratio of `slo`."""
    names = "|".join(ratio_name(w) for w in (*burn.BURN_WINDOWS, slo.window))
    expr = f'{{__name__=~"{names}", service_name="{slo.service}", slo="{slo.name}"}}'
    by_name = {s.labels.get("__name__", ""): s.value for s in query(expr)}
    return status_from(slo, {w: by_name.get(ratio_name(w), math.nan) for w in (*burn.BURN_WINDOWS, slo.window)})


def _pct(value: float) -> str:
    return "no data" if math.isnan(value) else f"{value * 100:.4g}%"


def _x(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3g}x"


def _tte(seconds: float) -> str:
    if math.isnan(seconds):
        return "no data"
    if math.isinf(seconds):
        return "never (nothing burns)"
    return "now (spent)" if seconds == 0 else humanize_duration(seconds)


def format_status(st: SLOStatus) -> str:
    slo = st.slo
    head = f"{slo.service}/{slo.name}  objective {slo.objective_percent}% over {slo.window}  ({slo.source})"
    if not st.has_data:
        return (
            f"{head}\n  no data: Prometheus has recorded no error ratio for this SLO (rules not loaded, or no traffic)"
        )
    burns = "  ".join(f"{w} {_x(st.burn_rates[w])}" for w in burn.BURN_WINDOWS)
    firing = sorted({a.severity for a in st.firing})
    alerts = (
        ", ".join(f"{a.severity} ({a.factor:g}x over {a.long} and {a.short})" for a in st.firing)
        or "none (no window pair above its burn rate)"
    )
    return "\n".join(
        [
            head,
            f"  error budget left   {_pct(st.budget_remaining)}  (error ratio over {slo.window}:"
            f" {_pct(st.period_error_ratio)}, budget {_pct(burn.error_budget(slo.objective))})",
            f"  burn rate           {burns}",
            "  time to exhaustion  "
            + f"\n{'':22}".join(f"{_tte(v)} at the {w} burn rate" for w, v in st.time_to_exhaustion_s.items()),
            f"  burning             {alerts}" + (f"  -> {', '.join(firing)}" if firing else ""),
        ]
    )


def _json_num(value: float) -> float | str | None:
    if math.isnan(value):
        return None
    return str(value) if math.isinf(value) else value


def status_json(st: SLOStatus) -> dict[str, Any]:
    return {
        "service": st.slo.service,
        "slo": st.slo.name,
        "objective": st.slo.objective,
        "window": st.slo.window,
        "error_ratio": _json_num(st.period_error_ratio),
        "error_budget_remaining": _json_num(st.budget_remaining),
        "burn_rates": {w: _json_num(v) for w, v in st.burn_rates.items()},
        "time_to_exhaustion_seconds": {w: _json_num(v) for w, v in st.time_to_exhaustion_s.items()},
        "firing": [{"severity": a.severity, "factor": a.factor, "long": a.long, "short": a.short} for a in st.firing],
    }
