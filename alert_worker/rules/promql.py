"""PromQL syntax checks at the door, with a real parser (promql-parser: Prometheus' grammar, in Rust).

Rule files, the rules API and the shorthand all pass through `promql_problem` before a rule is
accepted, so a broken expression is refused where it was written, not found at evaluation time.
"""

from __future__ import annotations

import promql_parser


def promql_problem(expr: str) -> str | None:
    """The parser's message when `expr` is not valid PromQL, else None."""
    try:
        promql_parser.parse(expr)
    except ValueError as exc:  # the parser raises ValueError with its message for every syntax error
        return " ".join(str(exc).split()) or "invalid PromQL"
    return None
