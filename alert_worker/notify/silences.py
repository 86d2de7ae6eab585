"""Silences: label matchers active between `starts_at` and `ends_at`, with author and comment."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from alert_worker.notify.matchers import Matcher, matches_all, parse_matcher


@dataclass(frozen=True)
class Silence:
    """Mutes every alert whose labels match all `matchers` while active."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: float
    ends_at: float
    created_by: str
    comment: str
    created_at: float = 0.0

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at

    def state(self, now: float) -> str:
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "expired"

    def mutes(self, labels: Mapping[str, str], now: float) -> bool:
        return self.active(now) and matches_all(self.matchers, labels)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "matchers": [str(m) for m in self.matchers],
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "created_by": self.created_by,
            "comment": self.comment,
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Silence:
        return cls(
            id=str(data["id"]),
            matchers=tuple(parse_matcher(m) for m in data["matchers"]),
            starts_at=float(data["starts_at"]),
            ends_at=float(data["ends_at"]),
            created_by=str(data.get("created_by", "")),
            comment=str(data.get("comment", "")),
            created_at=float(data.get("created_at", 0.0)),
        )


def validate_silence(matchers: list[str], starts_at: float, ends_at: float, created_by: str, comment: str) -> None:
    """Raise ValueError naming the field when a new silence is not usable."""
    if not matchers:
        raise ValueError('matchers: at least one matcher is required, e.g. host_name="web-1"')
    parsed = [parse_matcher(m) for m in matchers]
    if all(m.matches({}) for m in parsed):
        raise ValueError("matchers: every matcher also matches an empty label set; the silence would mute everything")
    if ends_at <= starts_at:
        raise ValueError(f"ends_at: {ends_at} must be after starts_at {starts_at}")
    if not created_by.strip():
        raise ValueError("created_by: the author of a silence is required")
    if not comment.strip():
        raise ValueError("comment: say why the alerts are silenced")


def silenced(labels: Mapping[str, str], silences: Iterable[Silence], now: float) -> bool:
    return any(s.mutes(labels, now) for s in silences)
