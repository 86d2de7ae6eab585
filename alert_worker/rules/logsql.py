"""LogsQL alert expressions: what can be checked without the store, and how a field becomes a label.

The full syntax check is the store's own parser (`VictoriaLogsSource.check`), so a rule is judged by
the same parser that later runs it.
"""

from __future__ import annotations

import re

_STATS_PIPE = re.compile(r"\|\s*stats\b")
_TIME_FILTER = re.compile(r"(?<![\w.])_time\s*:")
_NOT_LABEL = re.compile(r"[^a-zA-Z0-9_]")


def logsql_shape_problem(expr: str) -> str | None:
    """What is wrong with `expr` as an alert expression, judged without asking the store."""
    if not _STATS_PIPE.search(expr):
        return (
            "a LogsQL alert expression needs a `| stats ...` pipe that yields numbers, "
            "e.g. `service.name:shop AND level:error | stats by (service.name) count() as errors`"
        )
    return None


def has_time_filter(expr: str) -> bool:
    """Whether `expr` chooses its own window with a `_time:` filter."""
    return bool(_TIME_FILTER.search(expr))


def label_name(field: str) -> str:
    """A log field name as an alert label name (`service.name` -> `service_name`)."""
    name = _NOT_LABEL.sub("_", field)
    return name if name and not name[0].isdigit() else f"_{name}"
