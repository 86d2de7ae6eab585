"""Small helpers for integration and e2e tests: poll with a deadline, query Prometheus and VictoriaLogs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from heron_stack import logsql

T = TypeVar("T")


class DeadlineExceeded(AssertionError):
    """Raised when a polled condition did not hold before its deadline."""


def wait_for(check: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.25) -> T:
    """Call `check` until it returns something truthy, or fail after `timeout` seconds.

    The failure message names `what` was awaited and the last value or error seen.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            result = check()
        except (httpx.HTTPError, OSError, ValueError, KeyError) as exc:
            result, last = None, exc
        else:
            last = result
        if result:
            return result
        if time.monotonic() >= deadline:
            raise DeadlineExceeded(f"timed out after {timeout:.0f}s waiting for {what}; last seen: {last!r}")
        time.sleep(interval)


def prom_query(prometheus_url: str, query: str, at: float | None = None) -> list[dict[str, Any]]:
    """Run an instant PromQL query and return `data.result` (raises on an API error)."""
    params: dict[str, str] = {"query": query}
    if at is not None:
        params["time"] = f"{at:.3f}"
    resp = httpx.get(f"{prometheus_url}/api/v1/query", params=params, timeout=10)
    resp.raise_for_status()
    body = resp.json()
    if body.get("status") != "success":
        raise ValueError(f"Prometheus query {query!r} failed: {body}")
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def prom_range(prometheus_url: str, query: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
    """Run a range PromQL query and return `data.result`."""
    params = {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step}"}
    resp = httpx.get(f"{prometheus_url}/api/v1/query_range", params=params, timeout=30)
    resp.raise_for_status()
    result: list[dict[str, Any]] = resp.json()["data"]["result"]
    return result


def logs_query(url: str, query: str, *, since_s: float = 3600, limit: int = 10_000) -> list[dict[str, str]]:
    """Run a LogsQL query over the last `since_s` seconds; one field -> value dict per log entry."""
    with httpx.Client(timeout=30) as client:
        return logsql.query(client, url, query, start=str(int(time.time() - since_s)), limit=limit)
