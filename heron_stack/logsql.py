"""A small client for VictoriaLogs' LogsQL HTTP API: `heron logs`, the doctor, the tests and the alert worker.

It takes an `httpx.Client` (so unit tests pass a mock transport) and translates transport and query
errors at the edge: `LogsQLUnavailable` is transient (store down, timeout, 5xx), `LogsQLRejected` is
permanent (the store refused the query, e.g. a syntax error; its message quotes the store's reason).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

QUERY_PATH = "/select/logsql/query"
STATS_PATH = "/select/logsql/stats_query"
TAIL_PATH = "/select/logsql/tail"
HIDDEN_FIELDS = ("_stream_id",)


class LogsQLError(Exception):
    """A LogsQL request did not give an answer."""


class LogsQLUnavailable(LogsQLError):
    """The store could not be asked (connection refused, timeout, 5xx): worth retrying."""


class LogsQLRejected(LogsQLError):
    """The store refused the query (4xx, usually a LogsQL syntax error): retrying won't help."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


@dataclass(frozen=True)
class Sample:
    """One row of a stats query: its labels (the `by (...)` fields and `__name__`) and value."""

    labels: Mapping[str, str]
    value: float


def _raise_for(resp: httpx.Response, what: str) -> None:
    if resp.status_code < 400:
        return
    try:
        body = resp.json()
        text = str(body.get("error") or resp.text) if isinstance(body, dict) else resp.text
    except ValueError:
        text = resp.text
    reason = " ".join(text.split())[:400]
    if resp.status_code >= 500:
        raise LogsQLUnavailable(f"{what}: the log store answered {resp.status_code}: {reason}")
    raise LogsQLRejected(f"{what}: the log store refused the query ({resp.status_code}): {reason}", reason)


def _post(client: httpx.Client, url: str, params: Mapping[str, str], what: str) -> httpx.Response:
    try:
        resp = client.post(url, data=dict(params))
    except httpx.HTTPError as exc:
        raise LogsQLUnavailable(f"{what}: cannot reach the log store at {url}: {type(exc).__name__} {exc}") from exc
    _raise_for(resp, what)
    return resp


def query(
    client: httpx.Client,
    base_url: str,
    logsql: str,
    *,
    start: str | None = None,
    end: str | None = None,
    limit: int | None = None,
) -> list[dict[str, str]]:
    """The log entries matching `logsql` (newest first when `limit` is set), as field -> value dicts.

    `start`/`end` take what VictoriaLogs takes: RFC 3339, Unix seconds, or a relative `5m` (ago).
    """
    params = {"query": logsql}
    params.update({k: v for k, v in (("start", start), ("end", end)) if v is not None})
    if limit is not None:
        params["limit"] = str(limit)
    resp = _post(client, f"{base_url.rstrip('/')}{QUERY_PATH}", params, f"LogsQL query {logsql!r}")
    return [_entry(line) for line in resp.text.splitlines() if line.strip()]


def stats(
    client: httpx.Client, base_url: str, logsql: str, *, time: str | None = None, start: str | None = None
) -> list[Sample]:
    """An instant stats query (`... | stats by (f) count() as n`): one sample per group, as Prometheus would.

    `time` is the evaluation time (default now); `start`, when given, limits the lines counted to
    those at or after it.
    """
    params = {"query": logsql}
    params.update({k: v for k, v in (("time", time), ("start", start)) if v is not None})
    resp = _post(client, f"{base_url.rstrip('/')}{STATS_PATH}", params, f"LogsQL stats query {logsql!r}")
    try:
        body = resp.json()
        rows = body["data"]["result"]
        return [Sample(dict(row["metric"]), float(row["value"][1])) for row in rows]
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise LogsQLRejected(f"LogsQL stats query {logsql!r}: unexpected answer {resp.text[:200]!r}") from exc


def tail(client: httpx.Client, base_url: str, logsql: str) -> Iterator[dict[str, str]]:
    """Follow new entries matching `logsql` as they arrive (VictoriaLogs' live tailing); ends when closed."""
    url = f"{base_url.rstrip('/')}{TAIL_PATH}"
    what = f"LogsQL tail {logsql!r}"
    try:
        with client.stream("POST", url, data={"query": logsql}, timeout=httpx.Timeout(10.0, read=None)) as resp:
            if resp.status_code >= 400:
                resp.read()
                _raise_for(resp, what)
            for line in resp.iter_lines():
                if line.strip():
                    yield _entry(line)
    except httpx.HTTPError as exc:
        raise LogsQLUnavailable(f"{what}: the log store at {url} stopped answering: {exc}") from exc


def _entry(line: str) -> dict[str, str]:
    try:
        data: Any = json.loads(line)
    except ValueError as exc:
        raise LogsQLRejected(f"the log store sent a line that is not JSON: {line[:200]!r}") from exc
    return {str(k): str(v) for k, v in data.items() if k not in HIDDEN_FIELDS}


def quote(value: str) -> str:
    """A LogsQL string literal for `value` (for exact-phrase and field filters)."""
    return json.dumps(value)


def parse_time(value: str) -> datetime:
    """`_time` of an entry as an aware datetime (VictoriaLogs writes RFC 3339 with up to ns precision)."""
    text = value.rstrip("Z")
    main, _, frac = text.partition(".")
    stamp = datetime.fromisoformat(main).replace(tzinfo=UTC)
    return stamp.replace(microsecond=int((frac + "000000")[:6])) if frac else stamp
