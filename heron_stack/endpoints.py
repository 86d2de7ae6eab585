"""Where the collectors write and report their own counters, per topology.

`heron up` starts the collectors with these addresses and `heron doctor` probes the same ones.
"""

from __future__ import annotations

from heron_stack.config import StackConfig
from heron_stack.stack_table import COLLECTORS

PROMETHEUS_WRITE_PATH = "/api/v1/write"
"""Prometheus' remote-write receiver (--web.enable-remote-write-receiver)."""

RECEIVE_WRITE_PATH = "/api/v1/receive"
"""Thanos Receive's remote-write endpoint."""

SINGLE_COLLECTOR = "collector"
"""The single-node topology's one collector, as `heron up` names it."""


def cluster_url(config: StackConfig, port_name: str) -> str:
    """The URL of one of the cluster topology's own ports (stack_table.CLUSTER_PORT_NAMES)."""
    return f"http://{config.host}:{config.cluster_ports[port_name]}"


def prometheus_remote_write_url(config: StackConfig) -> str:
    """Where the single-node collector remote-writes: Prometheus itself."""
    return f"{config.url('prometheus')}{PROMETHEUS_WRITE_PATH}"


def receive_lb_write_url(config: StackConfig) -> str:
    """Where the cluster's collectors remote-write: HAProxy in front of the Thanos receivers."""
    return f"{cluster_url(config, 'receive_lb')}{RECEIVE_WRITE_PATH}"


def remote_write_url(config: StackConfig) -> str:
    """Where the collectors of `config.topology` remote-write their metrics."""
    return receive_lb_write_url(config) if config.topology == "cluster" else prometheus_remote_write_url(config)


def collector_telemetry_urls(config: StackConfig) -> dict[str, str]:
    """Collector name -> the base URL of its own metrics (`/metrics` under it), for `config.topology`."""
    if config.topology == "cluster":
        return {name: cluster_url(config, f"{name}_telemetry") for name in COLLECTORS}
    return {SINGLE_COLLECTOR: config.url("collector_telemetry")}
