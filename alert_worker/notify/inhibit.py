"""Inhibition: a firing source alert mutes matching target alerts that share the `equal` labels."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from alert_worker.notify.matchers import matches_all
from alert_worker.notify.routing import InhibitRule


def inhibited(labels: Mapping[str, str], sources: Sequence[Mapping[str, str]], rules: Iterable[InhibitRule]) -> bool:
    """True when some firing alert in `sources` inhibits an alert with `labels` (never itself)."""
    for rule in rules:
        if not matches_all(rule.target_matchers, labels):
            continue
        for source in sources:
            if source is labels or source == labels:
                continue
            if not matches_all(rule.source_matchers, source):
                continue
            if all(source.get(name, "") == labels.get(name, "") for name in rule.equal):
                return True
    return False
