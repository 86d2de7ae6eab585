"""LogsQL alert expressions: what can be checked without the store, and how a field becomes a label.

The full syntax check is the store's own parser (`VictoriaLogsSource.check`), so a rule is judged by
the same parser that later runs it.
"""

from __future__ import annotations

import re

_STATS_PIPE = re.compile(r"\|\s*stats\b")
_GROUPED = re.compile(r"\|\s*stats\s*(by\s*)?\(")
_THRESHOLD = re.compile(r"\|\s*(filter|where)\b")
_TIME_FILTER = re.compile(r"(?<![\w.])_time\s*:")
_NOT_LABEL = re.compile(r"[^a-zA-Z0-9_]")


def logsql_shape_problem(expr: str) -> str | None:
    """What is wrong with `expr` as an alert expression, judged without asking the store."""
    if not _STATS_PIPE.search(expr):
        return (
            "a LogsQL alert expression needs a `| stats ...` pipe that yields numbers, "
            "e.g. `service.name:shop AND level:error | stats by (service.name) count() as errors`"
        )
    last_stats = list(_STATS_PIPE.finditer(expr))[-1]
    tail = expr[last_stats.start() :]
    if not _GROUPED.match(tail) and not _THRESHOLD.search(tail):
        return (
            "a `stats` pipe without `by (...)` always returns one row (0 when no line matched), so the alert "
            "would always fire; add a threshold such as `| filter errors:>0`, or group it with `stats by (field)`"
        )
    return None


def has_time_filter(expr: str) -> bool:
    """Whether `expr` chooses its own window with a `_time:` filter."""
    return bool(_TIME_FILTER.search(expr))


def label_name(field: str) -> str:
    """A log field name as an alert label name (`service.name` -> `service_name`)."""
    name = _NOT_LABEL.sub("_", field)
    return name if name and not name[0].isdigit() else f"_{name}"
