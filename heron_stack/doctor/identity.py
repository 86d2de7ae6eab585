"""How each service answers its readiness probe, and how to tell it from something else on its port."""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from dataclasses import dataclass


class Seen(enum.Enum):
    READY = "ready"
    STARTING = "starting"
    FOREIGN = "foreign"


Verdict = tuple[Seen, str]
Classifier = Callable[[int, str], Verdict]


@dataclass(frozen=True)
class Endpoint:
    """A service's readiness probe: the logical port, the HTTP path (None: Redis PING) and a classifier."""

    label: str
    port: str
    path: str | None
    classify: Classifier


def _json(body: str) -> dict[str, object]:
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _short(body: str) -> str:
    return " ".join(body.split())[:120]


def prometheus(status: int, body: str) -> Verdict:
    if status == 200 and "Prometheus" in body:
        return Seen.READY, "ready"
    if status == 503:
        return Seen.STARTING, f"503 {_short(body)} (still starting or replaying its WAL)"
    return Seen.FOREIGN, f"{status}: {_short(body)}"


def thanos_query(status: int, body: str) -> Verdict:
    """Thanos Query (the cluster topology's Prometheus API) lists the stores it queries at /api/v1/stores."""
    data = _json(body).get("data")
    if status == 200 and isinstance(data, dict):
        if data.get("receive"):
            return (
                Seen.READY,
                f"ready, querying {len(data['receive'])} receiver(s) and {len(data.get('store') or [])} store(s)",
            )
        return Seen.STARTING, "answers but has found no receiver yet"
    return Seen.FOREIGN, f"{status}: {_short(body)}"


def victorialogs(status: int, body: str) -> Verdict:
    if status == 200 and body.strip() == "OK":
        return Seen.READY, "ready"
    if status == 503:
        return Seen.STARTING, f"503 {_short(body)}"
    return Seen.FOREIGN, f"{status}: {_short(body)}"


def collector(status: int, body: str) -> Verdict:
    state = _json(body).get("status")
    if status == 200 and state == "Server available":
        return Seen.READY, "ready"
    if status == 503 and isinstance(state, str):
        return Seen.STARTING, f"503 {state}"
    return Seen.FOREIGN, f"{status}: {_short(body)}"


def _status_is(expected: str) -> Classifier:
    def classify(status: int, body: str) -> Verdict:
        if status == 200 and _json(body).get("status") == expected:
            return Seen.READY, "ready"
        return Seen.FOREIGN, f"{status}: {_short(body)}"

    return classify


def grafana(status: int, body: str) -> Verdict:
    data = _json(body)
    if "database" not in data:
        return Seen.FOREIGN, f"{status}: {_short(body)}"
    if status == 200 and data.get("database") == "ok":
        return Seen.READY, "ready"
    return Seen.STARTING, f"{status} database {data.get('database')}"


def redis(reply: bytes) -> Verdict:
    if reply.startswith(b"+PONG"):
        return Seen.READY, "ready"
    if reply.startswith(b"-LOADING"):
        return Seen.STARTING, "loading its data set into memory"
    return Seen.FOREIGN, f"answered {reply[:60]!r} to PING"


ENDPOINTS: dict[str, Endpoint] = {
    "redis": Endpoint("Redis", "redis", None, lambda status, body: (Seen.FOREIGN, "")),
    "prometheus": Endpoint("Prometheus", "prometheus", "/-/ready", prometheus),
    "victorialogs": Endpoint("VictoriaLogs", "victorialogs", "/health", victorialogs),
    "collector": Endpoint("the OpenTelemetry Collector", "collector_health", "/", collector),
    "alert-api": Endpoint("the Heron alert API", "alert_api", "/api/health", _status_is("ok")),
    "loadgen": Endpoint("the Heron load generator", "loadgen", "/api/health", _status_is("healthy")),
    "grafana": Endpoint("Grafana", "grafana", "/api/health", grafana),
}
"""Service -> its readiness probe (the same endpoints `heron up` waits on). Others have no port."""

CLUSTER_ENDPOINTS: dict[str, Endpoint] = {
    "prometheus": Endpoint("Thanos Query", "prometheus", "/api/v1/stores", thanos_query),
}
"""What answers instead in the cluster topology (heron_stack/cluster.py)."""


def endpoint(name: str, topology: str) -> Endpoint | None:
    """The readiness probe of `name` in the given topology."""
    if topology == "cluster" and name in CLUSTER_ENDPOINTS:
        return CLUSTER_ENDPOINTS[name]
    return ENDPOINTS.get(name)
