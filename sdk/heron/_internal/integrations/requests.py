"""Outgoing HTTP calls made with requests: client spans, trace context headers, http.client.request.duration."""

from __future__ import annotations

import os

from heron._internal import proxies
from heron._internal.config import HeronConfig

SEMCONV_OPT_IN = "OTEL_SEMCONV_STABILITY_OPT_IN"


def use_stable_http_semconv() -> None:
    """Stable HTTP names (http.request.method, url.full, ...) unless the app chose otherwise."""
    os.environ.setdefault(SEMCONV_OPT_IN, "http")


class RequestsIntegration:
    name = "requests"
    library = "opentelemetry.instrumentation.requests"

    def install(self, config: HeronConfig) -> None:
        from opentelemetry.instrumentation.requests import RequestsInstrumentor

        use_stable_http_semconv()
        instrumentor = RequestsInstrumentor()
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=proxies.TRACER_PROVIDER, meter_provider=proxies.METER_PROVIDER)

    def uninstall(self) -> None:
        from opentelemetry.instrumentation.requests import RequestsInstrumentor

        instrumentor = RequestsInstrumentor()
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
