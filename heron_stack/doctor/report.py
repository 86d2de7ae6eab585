"""Render checks for people (one line each, worst first in the summary) and for machines (JSON)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from heron_stack.doctor.models import Check, Status


def counts(checks: Sequence[Check]) -> dict[str, int]:
    return {status.value.lower(): sum(c.status is status for c in checks) for status in Status}


def exit_code(checks: Sequence[Check]) -> int:
    return 1 if any(c.status is Status.FAIL for c in checks) else 0


def line(check: Check) -> str:
    text = f"{check.status.value:<4}  {check.component:<13} {check.what}"
    return f"{text}  — {check.fix}" if check.fix else text


def render_text(checks: Sequence[Check], seconds: float) -> str:
    lines = []
    for check in checks:
        lines.append(line(check))
        lines.extend(f"      {detail}" for detail in check.detail)
    n = counts(checks)
    verdict = "all checks passed" if not n["fail"] and not n["warn"] else "problems found"
    lines.append("")
    lines.append(f"{verdict}: {n['ok']} ok, {n['warn']} warn, {n['fail']} FAIL ({seconds:.1f}s)")
    return "\n".join(lines)


def render_json(checks: Sequence[Check], seconds: float) -> str:
    body = {
        "ok": exit_code(checks) == 0,
        "summary": counts(checks),
        "seconds": round(seconds, 3),
        "checks": [c.to_dict() for c in checks],
    }
    return json.dumps(body, indent=2)
