"""What each image docker-compose.yml runs provides, so a health check or entrypoint names a real program.

Only what every tag Heron uses has; an image missing from this table is itself a finding, so a new
image is described here before compose may use it. Paths count as their last component too
(`/usr/bin/loki` is `loki`).
"""

from __future__ import annotations

from dataclasses import dataclass

BUSYBOX = frozenset({"sh", "wget", "sleep", "cat", "test"})
"""Applets of a busybox userland (Alpine images and prom/busybox): wget, never curl."""

PYTHON_SLIM = frozenset({"python", "python3", "pip", "sh", "bash", "sleep", "cat", "test"})
"""python:3.11-slim(-bookworm): Debian slim has neither curl nor wget."""


@dataclass(frozen=True)
class ImageTools:
    base: str
    tools: frozenset[str]

    def has(self, program: str) -> bool:
        return program in self.tools or program.rsplit("/", 1)[-1] in self.tools


IMAGE_TOOLS: dict[str, ImageTools] = {
    # Distroless: the collector binary and nothing else, no shell. Its health_check extension is probed
    # from outside (compose's otel-collector-health sidecar).
    "otel/opentelemetry-collector-contrib": ImageTools("distroless (static)", frozenset({"/otelcol-contrib"})),
    "curlimages/curl": ImageTools("alpine", BUSYBOX | {"curl"}),
    "prom/prometheus": ImageTools("quay.io/prometheus/busybox", BUSYBOX | {"prometheus", "promtool"}),
    "victoriametrics/victoria-logs": ImageTools("alpine", BUSYBOX | {"/victoria-logs-prod"}),
    # Grafana's Alpine image adds bash and curl to busybox.
    "grafana/grafana": ImageTools("alpine", BUSYBOX | {"bash", "curl", "grafana", "grafana-cli"}),
    "redis": ImageTools("alpine or debian (tools common to both)", frozenset({"sh", "redis-cli", "redis-server"})),
    # Thanos' image is Prometheus' busybox base plus the one binary (deploy/compose.cluster.yml).
    "quay.io/thanos/thanos": ImageTools("quay.io/prometheus/busybox", BUSYBOX | {"thanos"}),
    "haproxy": ImageTools("debian", frozenset({"haproxy", "sh", "bash"})),
    "grafana/loki": ImageTools("distroless", frozenset({"/usr/bin/loki"})),
    # Heron's images (deploy/*/Dockerfile): python slim plus the console scripts of what they install.
    "heron/alert-worker": ImageTools("python:3.11-slim-bookworm", PYTHON_SLIM | {"alert-worker", "celery"}),
    "heron/loadgen": ImageTools("python:3.11-slim-bookworm", PYTHON_SLIM | {"loadgen"}),
    "heron/otel-agent": ImageTools("python:3.11-slim", PYTHON_SLIM | {"otel-agent"}),
}


def repository(image: str) -> str:
    """`prom/prometheus:v3.16.0` -> `prom/prometheus` (tag and digest dropped, registry port kept)."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name
