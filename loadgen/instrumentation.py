"""The Heron SDK on `loadgen serve`: server spans, request metrics, Python logs and errors over OTLP.

`heron-sdk` is a local distribution (`pip install ./sdk`), so it stays optional: without it loadgen says so
in one warning line and keeps exporting its own metrics and events.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from loadgen import env
from loadgen.config import LoadgenConfig

log = logging.getLogger("loadgen")

SDK_DISTRIBUTION = "heron-sdk"
HEALTH_ROUTES = ("/api/health",)
"""Kept out of spans and metrics: `heron up` and container health checks poll it every few seconds."""

MISSING_SDK = (
    f"{SDK_DISTRIBUTION} is not installed: loadgen exports its own metrics and events but no server spans, "
    f"HTTP server metrics, logs or errors; install it with `pip install ./sdk` ({SDK_DISTRIBUTION}, import heron)"
)

SdkLoader = Callable[[], ModuleType | None]


@functools.cache
def _import_heron() -> ModuleType | None:
    try:
        import heron
    except ImportError:
        return None
    return heron


class Instrumentation:
    """Starts and stops the Heron SDK for one `loadgen serve` process."""

    def __init__(self, load: SdkLoader = _import_heron) -> None:
        self._load = load
        self._heron: ModuleType | None = None

    @property
    def active(self) -> bool:
        """True once `heron.init` has started exporting."""
        return self._heron is not None

    def start(self, config: LoadgenConfig, environ: Mapping[str, str]) -> bool:
        """Run `heron.init` when OTLP export is on; warn once when the SDK is missing. True when it runs."""
        if not config.otlp_export:
            return False
        heron = self._load()
        if heron is None:
            log.warning(MISSING_SDK)
            return False
        kwargs: dict[str, Any] = {
            "service_name": config.service_name,
            "metric_export_interval": config.metric_export_interval_ms / 1000,
        }
        if not environ.get(env.HERON_HEALTH_ROUTES):
            kwargs["health_check_routes"] = HEALTH_ROUTES
        if heron.init(**kwargs):
            self._heron = heron
        return self.active

    def shutdown(self, timeout: float = 2.0) -> None:
        """Flush spans, metrics and logs within `timeout` seconds (a dead collector cannot hang exit)."""
        heron, self._heron = self._heron, None
        if heron is not None:
            report = heron.shutdown(timeout=timeout)
            if not getattr(report, "completed", True):
                log.warning("telemetry flush did not complete within %.1f s; some data was dropped", timeout)


def capture_exception(exc: BaseException) -> None:
    """Record a handled `exc` as a span event, an ERROR log and a `heron.errors` count (no-op until init)."""
    heron = _import_heron()
    if heron is not None:
        heron.capture_exception(exc)
