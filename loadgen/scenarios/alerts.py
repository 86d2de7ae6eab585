"""Which alerts are firing, read from the alert worker's HTTP API (an optional dependency)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

import httpx

from loadgen.exceptions import LoadgenError


class AlertSource(Protocol):
    """Names of the alerts firing right now."""

    def firing(self) -> set[str]: ...


class AlertSourceError(LoadgenError):
    """The alert API could not be read."""


def alert_names(body: Any) -> set[str]:
    """Firing alert names from `GET /api/alerts/active`.

    Accepts {"alerts": [...]} or a bare list; each item names its rule in `labels.alertname` (the alert
    worker), `rule`, `name` or `alertname`, and is counted when its `state`/`status` is "firing" (or absent).
    """
    items: Iterable[Any] = body.get("alerts", []) if isinstance(body, dict) else body if isinstance(body, list) else []
    names: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            continue
        raw_labels = item.get("labels")
        labels: dict[str, Any] = raw_labels if isinstance(raw_labels, dict) else {}
        name = item.get("rule") or item.get("name") or item.get("alertname") or labels.get("alertname")
        status = item.get("state", item.get("status", "firing"))
        if isinstance(name, str) and status == "firing":
            names.add(name)
    return names


class HttpAlertSource:
    """Reads `{base_url}/api/alerts/active`; `transport` lets tests answer without a network."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 3.0,
    ) -> None:
        self.url = base_url.rstrip("/") + "/api/alerts/active"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(transport=transport, timeout=timeout, headers=headers)

    def firing(self) -> set[str]:
        try:
            response = self._client.get(self.url)
            response.raise_for_status()
            return alert_names(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            raise AlertSourceError(f"cannot read {self.url}: {exc}") from exc
