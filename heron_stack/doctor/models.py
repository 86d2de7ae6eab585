"""What a doctor check finds: a status, the component, what was seen and what to do about it."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


class Status(enum.Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Check:
    """One verdict. `fix` is empty when there is nothing to do; `detail` holds log lines and the like."""

    status: Status
    component: str
    what: str
    fix: str = ""
    detail: Sequence[str] = ()
    data: Mapping[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "status": self.status.value.lower(),
            "component": self.component,
            "what": self.what,
            "fix": self.fix,
            "detail": list(self.detail),
            "data": dict(self.data),
        }


def ok(component: str, what: str, **data: object) -> Check:
    return Check(Status.OK, component, what, data=data)


def warn(component: str, what: str, fix: str = "", detail: Sequence[str] = (), **data: object) -> Check:
    return Check(Status.WARN, component, what, fix, tuple(detail), data)


def fail(component: str, what: str, fix: str, detail: Sequence[str] = (), **data: object) -> Check:
    return Check(Status.FAIL, component, what, fix, tuple(detail), data)
