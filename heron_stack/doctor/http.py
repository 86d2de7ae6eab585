"""Small read helpers over the Prometheus and VictoriaLogs HTTP APIs, with the doctor's timeout."""

from __future__ import annotations

from typing import Any

import httpx

from heron_stack import logsql
from heron_stack.doctor.adapters import Probes


class ProbeFailed(Exception):
    """A read the doctor needed did not succeed; the message says what was asked and what came back."""


def get_json(probes: Probes, url: str, params: dict[str, str] | None = None) -> Any:
    try:
        resp = probes.http.get(url, params=params, timeout=probes.call_timeout)
    except httpx.HTTPError as exc:
        raise ProbeFailed(f"{url}: {type(exc).__name__} {exc}".strip()) from exc
    if resp.status_code != 200:
        raise ProbeFailed(f"{url} answered {resp.status_code}: {' '.join(resp.text.split())[:160]}")
    try:
        return resp.json()
    except ValueError as exc:
        raise ProbeFailed(f"{url} did not answer JSON") from exc


def prom_api(probes: Probes, base: str, path: str) -> Any:
    body = get_json(probes, f"{base}{path}")
    if not isinstance(body, dict) or body.get("status") != "success":
        raise ProbeFailed(f"{base}{path} answered {str(body)[:160]}")
    return body.get("data")


def prom_query(probes: Probes, base: str, expr: str) -> list[dict[str, Any]]:
    body = get_json(probes, f"{base}/api/v1/query", {"query": expr})
    if not isinstance(body, dict) or body.get("status") != "success":
        raise ProbeFailed(f"query {expr!r} failed: {str(body)[:160]}")
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def prom_scalar_sum(probes: Probes, base: str, expr: str) -> float:
    """The sum of an instant vector's values (0 when it is empty)."""
    return sum(float(row["value"][1]) for row in prom_query(probes, base, expr))


def log_messages(probes: Probes, base: str, query: str, start_ns: int, end_ns: int) -> list[str]:
    """The messages of the log entries `query` (LogsQL) finds between the two times."""
    try:
        entries = logsql.query(probes.http, base, query, start=str(start_ns // 10**9), end=str(end_ns // 10**9 + 1))
    except logsql.LogsQLError as exc:
        raise ProbeFailed(str(exc)) from exc
    return [entry.get("_msg", "") for entry in entries]
