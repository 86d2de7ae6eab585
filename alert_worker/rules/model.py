"""Value objects of the rule layer: rule groups and alerting rules with Heron's extensions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

NoDataPolicy = Literal["alert", "resolve"]
GroupType = Literal["prometheus", "vlogs"]
"""What a group's expressions are written in: PromQL for Prometheus, or LogsQL for VictoriaLogs
(`type: vlogs`, the name vmalert uses, so rule files move between the two)."""
GROUP_TYPES: tuple[GroupType, ...] = ("prometheus", "vlogs")

# Heron's per-rule extensions live in annotations so `promtool check rules` accepts the file.
SEVERITIES = ("critical", "page", "ticket", "warning", "info")
"""Severities Heron's rules use: prometheus/rules/heron.routing.yaml routes critical, page and ticket to
their own receivers (and inhibits warning under critical, ticket under page); warning and info take the
default route."""
ANNOTATION_CHANNELS = "heron_channels"
ANNOTATION_COOLDOWN = "heron_cooldown"
ANNOTATION_REPEAT = "heron_repeat_interval"
ANNOTATION_NO_DATA = "heron_no_data"
# Set by compiled anomaly rules (alert_worker/anomaly): the recorded baseline's prefix and the value's unit.
ANNOTATION_ANOMALY = "heron_anomaly"
ANNOTATION_ANOMALY_UNIT = "heron_anomaly_unit"
EXTENSION_ANNOTATIONS = frozenset(
    {
        ANNOTATION_CHANNELS,
        ANNOTATION_COOLDOWN,
        ANNOTATION_REPEAT,
        ANNOTATION_NO_DATA,
        ANNOTATION_ANOMALY,
        ANNOTATION_ANOMALY_UNIT,
    }
)


@dataclass(frozen=True)
class AlertRule:
    """One `alert:` rule of a group, with Heron's extensions already parsed."""

    name: str
    expr: str
    group: str
    for_s: float = 0.0
    keep_firing_for_s: float = 0.0
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    channels: tuple[str, ...] = ()
    cooldown_s: float | None = None
    repeat_interval_s: float | None = None
    no_data: NoDataPolicy = "alert"
    source: str = ""
    anomaly: str = ""
    """Prefix of the recorded baseline (`anomaly:<name>`) when the rule was compiled from an anomaly spec."""
    anomaly_unit: str = ""

    @property
    def key(self) -> str:
        """Stable identity inside a group (alert names may repeat with different severities)."""
        return f"{self.name}/{self.labels.get('severity', '')}/{self.expr}"


@dataclass(frozen=True)
class RuleGroup:
    """A Prometheus rule group: evaluated together at `interval_s`."""

    name: str
    interval_s: float
    rules: tuple[AlertRule, ...]
    source_file: str = ""
    recording_rules: int = 0
    type: GroupType = "prometheus"
