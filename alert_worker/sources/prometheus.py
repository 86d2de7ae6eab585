"""Prometheus HTTP API adapter: instant and range queries, with a transport tests can inject.

One client per process keeps its connections alive (as many idle ones as the engine's query
concurrency); answers are decoded by msgspec into typed structs, and every query asks for the query
API's `stats` so Prometheus' own evaluation time is told apart from Heron's (stage `prometheus`).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import msgspec

from alert_worker import stages
from alert_worker.exceptions import SourceError
from alert_worker.rules.evaluator import Sample


class _Timings(msgspec.Struct):
    evalTotalTime: float = 0.0  # noqa: N815 - Prometheus' field name


class _Stats(msgspec.Struct):
    timings: _Timings | None = None


class _Data(msgspec.Struct):
    resultType: str  # noqa: N815 - Prometheus' field name
    result: msgspec.Raw
    stats: _Stats | None = None


class _Answer(msgspec.Struct):
    status: str = ""
    data: _Data | None = None
    error: str = ""


class _Instant(msgspec.Struct):
    metric: dict[str, str]
    value: tuple[float, str]


class _Range(msgspec.Struct):
    metric: dict[str, str]
    values: list[tuple[float, str]]


_ANSWER = msgspec.json.Decoder(_Answer)
_VECTOR = msgspec.json.Decoder(list[_Instant])
_MATRIX = msgspec.json.Decoder(list[_Range])
_SCALAR = msgspec.json.Decoder(tuple[float, str])


def redact_url(url: str) -> str:
    """`url` without user:password, safe for logs and error messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _float(value: str) -> float:
    return {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf}.get(value) or float(value)


PRESENCE_BATCH = 200
"""Label sets asked about in one presence query (keeps the query well inside URL length limits)."""

_REGEX_SPECIAL = re.compile(r"([\\.+*?()|\[\]{}^$])")


def _promql_string(value: str) -> str:
    """`value` escaped for a double-quoted PromQL string."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _alternatives(values: Iterable[str]) -> str:
    """An RE2 regex matching exactly these values (Prometheus anchors label regexes)."""
    return "|".join(sorted({_REGEX_SPECIAL.sub(r"\\\1", v) for v in values}))


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

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        connections: int = 8,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # Idle connections kept for the next cycle; no cap on open ones, so a query never waits for a slot.
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=max(connections, 1))
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport, limits=limits)
        self.queries = 0
        self._count_lock = threading.Lock()

    def close(self) -> None:
        self._client.close()

    def _get(self, path: str, params: dict[str, str]) -> _Data:
        with self._count_lock:
            self.queries += 1
        where = redact_url(self.base_url)
        try:
            resp = self._client.get(path, params={**params, "stats": "all"})
        except httpx.HTTPError as exc:
            raise SourceError(f"Prometheus at {where} unreachable: {type(exc).__name__}", transient=True) from exc
        started = time.perf_counter()
        try:
            body = _ANSWER.decode(resp.content)
        except msgspec.DecodeError:
            body = _Answer()
        stages.record("decode", time.perf_counter() - started)
        if resp.status_code >= 500 or resp.status_code == 429:
            raise SourceError(f"Prometheus at {where} answered HTTP {resp.status_code}", transient=True)
        if resp.status_code >= 400 or body.status != "success" or body.data is None:
            error = body.error or resp.text[:200]
            raise SourceError(f"query {params.get('query')!r} rejected by Prometheus: {error}", transient=False)
        if body.data.stats is not None and body.data.stats.timings is not None:
            stages.record("prometheus", body.data.stats.timings.evalTotalTime)
        return body.data

    def _decode(self, decoder: msgspec.json.Decoder[Any], data: _Data) -> Any:
        started = time.perf_counter()
        try:
            return decoder.decode(data.result)
        except msgspec.DecodeError as exc:
            message = f"Prometheus answered a {data.resultType} Heron cannot read: {exc}"
            raise SourceError(message, transient=False) from exc
        finally:
            stages.record("decode", time.perf_counter() - started)

    def query(self, expr: str, at: float) -> list[Sample]:
        """Instant vector at `at`; a scalar result becomes one series without labels."""
        data = self._get("/api/v1/query", {"query": expr, "time": f"{at:.3f}"})
        if data.resultType == "vector":
            series: list[_Instant] = self._decode(_VECTOR, data)
            return [Sample(r.metric, _float(r.value[1])) for r in series]
        if data.resultType == "scalar":
            scalar: tuple[float, str] = self._decode(_SCALAR, data)
            return [Sample({}, _float(scalar[1]))]
        raise SourceError(f"query {expr!r} returned a {data.resultType}; alert rules need a vector", transient=False)

    def query_range(
        self, expr: str, start: float, end: float, step: float
    ) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
        """Matrix of (labels, [(ts, value)]) for a range query."""
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        data = self._get("/api/v1/query_range", params)
        matrix: list[_Range] = self._decode(_MATRIX, data)
        return [(r.metric, [(float(t), _float(v)) for t, v in r.values]) for r in matrix]

    def series_present_many(self, label_sets: Sequence[Mapping[str, str]], at: float) -> list[bool]:
        """`series_present` of each label set, in a few queries instead of one per set.

        Sets with the same label names are asked together, `PRESENCE_BATCH` at a time:
        `count by (names) ({name=~"v1|v2|..."})` returns the combinations that still have a sample.
        """
        out = [True] * len(label_sets)
        by_names: dict[tuple[str, ...], list[tuple[int, tuple[str, ...]]]] = {}
        for i, labels in enumerate(label_sets):
            names = tuple(sorted(k for k, v in labels.items() if v))
            if names:
                by_names.setdefault(names, []).append((i, tuple(labels[k] for k in names)))
        for names, wanted in by_names.items():
            for start in range(0, len(wanted), PRESENCE_BATCH):
                chunk = wanted[start : start + PRESENCE_BATCH]
                matchers = ", ".join(
                    f'{name}=~"{_promql_string(_alternatives(v[k] for _, v in chunk))}"' for k, name in enumerate(names)
                )
                found = {
                    tuple(s.labels.get(n, "") for n in names)
                    for s in self.query(f"count by ({', '.join(names)}) ({{{matchers}}})", at)
                }
                for i, values in chunk:
                    out[i] = values in found
        return out

    def series_present(self, labels: Mapping[str, str], at: float) -> bool:
        """Whether any series with these labels still has a sample in the lookback window at `at`."""
        selector = selector_for(labels)
        if not selector or not re.search(r'="[^"]', selector):
            return True
        return bool(self.query(f"count({selector})", at))
