"""The routing file beside the rules: destinations by label matchers, grouping timers, inhibition."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from alert_worker.exceptions import RuleFileError
from alert_worker.notify.matchers import Matcher, matches_all, parse_matcher
from alert_worker.rules.durations import parse_duration
from alert_worker.rules.loader import CHANNEL_NAME
from alert_worker.rules.yamlpos import load_located


def _duration(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    return parse_duration(str(value))


def _matchers(value: Any) -> tuple[Matcher, ...]:
    if not isinstance(value, list):
        raise ValueError("matchers must be a list such as ['severity=\"critical\"']")
    return tuple(parse_matcher(str(v)) for v in value)


EVERY_DESTINATION = "*"
"""As a receiver: every configured destination (console plus the destinations file and environment)."""


def _receivers(value: Any) -> tuple[str, ...]:
    names = tuple(str(v) for v in value)
    for name in names:
        if name != EVERY_DESTINATION and not CHANNEL_NAME.match(name):
            raise ValueError(f"invalid destination name {name!r}; use a-z, 0-9, -, _ and ., or '*' for all")
    return names


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Route(_Strict):
    """A node of the routing tree; unset timers inherit from the parent."""

    matchers: tuple[Matcher, ...] = ()
    receivers: tuple[str, ...] | None = None
    group_by: tuple[str, ...] | None = None
    group_wait: float | None = None
    group_interval: float | None = None
    repeat_interval: float | None = None
    cooldown: float | None = None
    send_resolved: bool | None = None
    continue_: bool = Field(False, alias="continue")
    routes: tuple[Route, ...] = ()

    _m = field_validator("matchers", mode="before")(_matchers)
    _r = field_validator("receivers", mode="before")(lambda v: None if v is None else _receivers(v))
    _d = field_validator("group_wait", "group_interval", "repeat_interval", "cooldown", mode="before")(
        lambda v: None if v is None else _duration(v)
    )


class InhibitRule(_Strict):
    """Firing alerts matching `source_matchers` mute alerts matching `target_matchers` with equal labels."""

    source_matchers: tuple[Matcher, ...]
    target_matchers: tuple[Matcher, ...]
    equal: tuple[str, ...] = ()

    _m = field_validator("source_matchers", "target_matchers", mode="before")(_matchers)


class RoutingConfig(_Strict):
    route: Route = Route(receivers=("console",))
    inhibit_rules: tuple[InhibitRule, ...] = ()
    group_queues: Mapping[str, str] = Field(default_factory=dict)


class Policy(BaseModel):
    """The resolved settings for one alert and destination group."""

    model_config = ConfigDict(frozen=True)

    route_id: str
    receivers: tuple[str, ...]
    group_by: tuple[str, ...]
    group_wait: float
    group_interval: float
    repeat_interval: float
    cooldown: float
    send_resolved: bool


_ROOT_DEFAULTS = Policy(
    route_id="root",
    receivers=("console",),
    group_by=("alertname",),
    group_wait=30.0,
    group_interval=300.0,
    repeat_interval=14400.0,
    cooldown=300.0,
    send_resolved=True,
)


def _inherit(parent: Policy, route: Route, route_id: str) -> Policy:
    values = {k: getattr(route, k) for k in Policy.model_fields if k != "route_id" and getattr(route, k) is not None}
    return parent.model_copy(update={**values, "route_id": route_id})


def policies_for(config: RoutingConfig, labels: Mapping[str, str]) -> list[Policy]:
    """Policies of the routes an alert matches: first matching child unless `continue`, else the root."""
    root = _inherit(_ROOT_DEFAULTS, config.route, "root")
    return _walk(config.route, root, labels, "root") or [root]


def matcher_labels(route: Route) -> tuple[str, ...]:
    """The label names the matchers of `route` and its children read, sorted.

    Two alerts equal on these labels (a missing one reads as empty) get the same policies.
    """
    names = {m.name for m in route.matchers}
    for child in route.routes:
        names.update(matcher_labels(child))
    return tuple(sorted(names))


def _walk(route: Route, policy: Policy, labels: Mapping[str, str], route_id: str) -> list[Policy]:
    out: list[Policy] = []
    for i, child in enumerate(route.routes):
        if not matches_all(child.matchers, labels):
            continue
        child_id = f"{route_id}.{i}"
        child_policy = _inherit(policy, child, child_id)
        out.extend(_walk(child, child_policy, labels, child_id) or [child_policy])
        if not child.continue_:
            break
    return out


def _expand(route: Route, names: tuple[str, ...]) -> Route:
    receivers = route.receivers
    if receivers is not None and EVERY_DESTINATION in receivers:
        receivers = tuple(dict.fromkeys(n for r in receivers for n in (names if r == EVERY_DESTINATION else (r,))))
    return route.model_copy(update={"receivers": receivers, "routes": tuple(_expand(r, names) for r in route.routes)})


def expand_receivers(config: RoutingConfig, destinations: Sequence[str]) -> RoutingConfig:
    """Replace the receiver `*` with the configured destination names, in order, without repeats."""
    return config.model_copy(update={"route": _expand(config.route, tuple(destinations))})


def parse_routing(text: str, filename: str) -> RoutingConfig:
    """Parse a routing file; raises RuleFileError with `file:line: field: message` per problem."""
    try:
        doc = load_located(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise RuleFileError([f"{filename}:{mark.line + 1 if mark else 1}: invalid YAML: {exc}"]) from exc
    try:
        return RoutingConfig.model_validate(doc.data or {})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            where = ".".join(str(p) for p in loc)
            problems.append(f"{filename}:{doc.line(loc)}: {where}: {err['msg']} (got {err.get('input')!r})")
        raise RuleFileError(problems) from exc


def load_routing(path: Path | None) -> RoutingConfig:
    """The routing file at `path`, or the default (everything to `console`) when there is none."""
    if path is None:
        return RoutingConfig()
    return parse_routing(path.read_text(encoding="utf-8"), str(path))
