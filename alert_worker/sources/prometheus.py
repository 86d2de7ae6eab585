"""Prometheus HTTP API adapter: instant and range queries, with a transport tests can inject."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from alert_worker.exceptions import SourceError
from alert_worker.rules.evaluator import Sample


def redact_url(url: str) -> str:
    """`url` without user:password, safe for logs and error messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _float(value: str) -> float:
    return {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf}.get(value) or float(value)


def selector_for(labels: Mapping[str, str]) -> str:
    """A series selector matching every series that carries all `labels` (empty values skipped)."""
    parts = []
    for name, value in sorted(labels.items()):
        if value:
            escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            parts.append(f'{name}="{escaped}"')
    return "{" + ", ".join(parts) + "}" if parts else ""


class PrometheusSource:
    """Query Prometheus; raises SourceError (transient for network/5xx, permanent for bad queries)."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)
        self.queries = 0

    def close(self) -> None:
        self._client.close()

    def _get(self, path: str, params: dict[str, str]) -> Any:
        self.queries += 1
        where = redact_url(self.base_url)
        try:
            resp = self._client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise SourceError(f"Prometheus at {where} unreachable: {type(exc).__name__}", transient=True) from exc
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if resp.status_code >= 500 or resp.status_code == 429:
            raise SourceError(f"Prometheus at {where} answered HTTP {resp.status_code}", transient=True)
        if resp.status_code >= 400 or body.get("status") != "success":
            error = body.get("error") or resp.text[:200]
            raise SourceError(f"query {params.get('query')!r} rejected by Prometheus: {error}", transient=False)
        return body["data"]

    def query(self, expr: str, at: float) -> list[Sample]:
        """Instant vector at `at`; a scalar result becomes one series without labels."""
        data = self._get("/api/v1/query", {"query": expr, "time": f"{at:.3f}"})
        if data["resultType"] == "vector":
            return [Sample(dict(r["metric"]), _float(r["value"][1])) for r in data["result"]]
        if data["resultType"] == "scalar":
            return [Sample({}, _float(data["result"][1]))]
        raise SourceError(f"query {expr!r} returned a {data['resultType']}; alert rules need a vector", transient=False)

    def query_range(
        self, expr: str, start: float, end: float, step: float
    ) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
        """Matrix of (labels, [(ts, value)]) for a range query."""
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        data = self._get("/api/v1/query_range", params)
        return [(dict(r["metric"]), [(float(t), _float(v)) for t, v in r["values"]]) for r in data["result"]]

    def series_present(self, labels: Mapping[str, str], at: float) -> bool:
        """Whether any series with these labels still has a sample in the lookback window at `at`."""
        selector = selector_for(labels)
        if not selector or not re.search(r'="[^"]', selector):
            return True
        return bool(self.query(f"count({selector})", at))
