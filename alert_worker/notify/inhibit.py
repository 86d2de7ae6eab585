"""Inhibition: a firing source alert mutes matching target alerts that share the `equal` labels."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from alert_worker.notify.matchers import matcher_test
from alert_worker.notify.routing import InhibitRule


class Inhibitor:
    """The firing sources indexed once per evaluation by each rule's `equal` values.

    A check is then one lookup per rule instead of a scan of every source (N firing hosts x N alerts).
    """

    def __init__(self, sources: Sequence[Mapping[str, str]], rules: Iterable[InhibitRule]) -> None:
        self._rules: list[
            tuple[InhibitRule, Callable[[Mapping[str, str]], bool], dict[tuple[str, ...], list[Mapping[str, str]]]]
        ] = []
        for rule in rules:
            index: dict[tuple[str, ...], list[Mapping[str, str]]] = {}
            is_source = matcher_test(rule.source_matchers)
            equal = rule.equal
            for source in sources:
                if is_source(source):
                    index.setdefault(tuple([source.get(name, "") for name in equal]), []).append(source)
            self._rules.append((rule, matcher_test(rule.target_matchers), index))

    def inhibited(self, labels: Mapping[str, str]) -> bool:
        """True when some firing source inhibits an alert with `labels` (never itself)."""
        for rule, is_target, index in self._rules:
            if not index or not is_target(labels):
                continue
            for source in index.get(tuple([labels.get(name, "") for name in rule.equal]), ()):
                if source is not labels and source != labels:
                    return True
        return False


def inhibited(labels: Mapping[str, str], sources: Sequence[Mapping[str, str]], rules: Iterable[InhibitRule]) -> bool:
    """True when some firing alert in `sources` inhibits an alert with `labels` (never itself)."""
    return Inhibitor(sources, rules).inhibited(labels)
