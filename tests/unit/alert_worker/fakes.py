"""Fakes for engine tests: a scripted Prometheus and a collecting enqueue."""

from alert_worker.exceptions import SourceError
from alert_worker.rules.evaluator import Sample


class FakeSource:
    """Answers each expression from `series[expr]` (a dict of host -> value); `down` simulates an outage."""

    def __init__(self):
        self.series: dict[str, dict[str, float]] = {}
        self.present_hosts: set[str] = set()
        self.down = False
        self.queries: list[tuple[str, float]] = []

    def query(self, expr, at):
        self.queries.append((expr, at))
        if self.down:
            raise SourceError("Prometheus at http://prom unreachable: ConnectError", transient=True)
        return [Sample({"host_name": h}, v) for h, v in sorted(self.series.get(expr, {}).items())]

    def series_present(self, labels, at):
        if self.down:
            raise SourceError("unreachable", transient=True)
        return labels.get("host_name") in self.present_hosts

    def series_present_many(self, label_sets, at):
        return [self.series_present(labels, at) for labels in label_sets]
