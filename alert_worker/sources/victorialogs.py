"""VictoriaLogs adapter for `type: vlogs` rule groups: LogsQL stats queries as instant vectors.

A LogsQL alert expression ends in a `stats` pipe (`service.name:shop AND level:error | stats by
(service.name) count() as errors`), optionally followed by a threshold (`| filter errors:>20`). Each
row of the answer is one alert candidate, as a Prometheus instant-vector sample would be.

The window an expression counts over is its own `_time:` filter when it has one (relative to the
evaluation time), otherwise the group's interval, so consecutive evaluations see each line once.
Field names become label names the Prometheus way (`service.name` -> `service_name`).
"""

from __future__ import annotations

import httpx

from alert_worker.exceptions import SourceError
from alert_worker.rules.evaluator import Sample
from alert_worker.rules.logsql import has_time_filter, label_name
from alert_worker.sources.prometheus import redact_url
from heron_stack import logsql

# An evaluation time at which the store holds nothing: checking a query there parses it and scans no data.
_CHECK_TIME = "1970-01-02T00:00:00Z"


class VictoriaLogsSource:
    """Run LogsQL stats queries; raises SourceError (transient when the store is unreachable or 5xx)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(timeout=timeout, transport=transport, headers=headers)
        self.queries = 0

    def close(self) -> None:
        self._client.close()

    def query(self, expr: str, at: float, window_s: float) -> list[Sample]:
        """One sample per stats row at `at`, counted over `window_s` unless `expr` has a `_time:` filter."""
        self.queries += 1
        start = None if has_time_filter(expr) else f"{at - window_s:.3f}"
        try:
            rows = logsql.stats(self._client, self.base_url, expr, time=f"{at:.3f}", start=start)
        except logsql.LogsQLUnavailable as exc:
            raise SourceError(f"VictoriaLogs at {redact_url(self.base_url)}: {exc}", transient=True) from exc
        except logsql.LogsQLRejected as exc:
            raise SourceError(str(exc), transient=False) from exc
        out = []
        for row in rows:
            labels = {label_name(k): v for k, v in row.labels.items() if k != "__name__" and v != ""}
            out.append(Sample(labels, row.value))
        return out

    def check(self, expr: str) -> str | None:
        """The store's own parser on `expr`: its message when refused, None when accepted.

        Raises SourceError(transient=True) when the store cannot be asked.
        """
        try:
            logsql.stats(self._client, self.base_url, expr, time=_CHECK_TIME)
        except logsql.LogsQLUnavailable as exc:
            raise SourceError(f"VictoriaLogs at {redact_url(self.base_url)}: {exc}", transient=True) from exc
        except logsql.LogsQLRejected as exc:
            return exc.reason
        return None
