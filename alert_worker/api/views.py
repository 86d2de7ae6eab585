"""API views: rules (file rules read-only), active alerts, history, silences."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request

from alert_worker.api import ApiContext
from alert_worker.commands.silences import create_silence
from alert_worker.notify.silences import Silence
from alert_worker.rules.api_rules import RuleInputError, normalize_rule
from alert_worker.rules.durations import parse_duration
from alert_worker.rules.model import AlertRule
from alert_worker.state.base import HistoryQuery
from heron_stack.jsonbody import DuplicateKey, loads_strict, shorten

bp = Blueprint("alerts_api", __name__, url_prefix="/api")


def _ctx() -> ApiContext:
    ctx: ApiContext = current_app.config["HERON"]
    return ctx


def _bad(field: str, message: str, code: int = 400) -> Any:
    return jsonify(error=f"{field}: {message}", field=field), code


def _body() -> Any:
    """The JSON body, or RuleInputError("body", ...) for text that is not JSON, nests too deep or repeats a key."""
    raw = request.get_data(cache=True)
    if not raw:
        return None
    try:
        return loads_strict(raw)
    except DuplicateKey as exc:
        raise RuleInputError(exc.key[:100], "appears twice in the body; send each key once") from None
    except ValueError as exc:
        raise RuleInputError("body", f"invalid JSON: {exc}") from None


@bp.get("/health")
def health() -> Any:
    """Liveness for process supervisors."""
    return jsonify(status="ok")


def _file_rule(rule: AlertRule) -> dict[str, Any]:
    return {
        "alert": rule.name,
        "expr": rule.expr,
        "for": rule.for_s,
        "keep_firing_for": rule.keep_firing_for_s,
        "labels": dict(rule.labels),
        "annotations": dict(rule.annotations),
        "group": rule.group,
        "source": rule.source,
        "read_only": True,
    }


def _file_rules() -> dict[str, AlertRule]:
    return {r.name: r for grp in _ctx().file_groups() for r in grp.rules}


@bp.get("/alerts/rules")
def list_rules() -> Any:
    rules = [_file_rule(r) for grp in _ctx().file_groups() for r in grp.rules]
    for name, stored in _ctx().store.api_rules().items():
        rules.append({**stored["rule"], "alert": name, "read_only": False, **_meta(stored)})
    return jsonify(rules=rules)


def _meta(stored: dict[str, Any]) -> dict[str, Any]:
    return {k: stored[k] for k in ("created_by", "updated_by", "updated_at") if k in stored}


@bp.get("/alerts/rules/<name>")
def get_rule(name: str) -> Any:
    file_rules = _file_rules()
    if name in file_rules:
        return jsonify(_file_rule(file_rules[name]))
    stored = _ctx().store.api_rules().get(name)
    if stored is None:
        return _bad("name", f"no rule named {name!r}", 404)
    return jsonify({**stored["rule"], "read_only": False, **_meta(stored)})


def _named(body: Any, name: str | None) -> Any:
    """The body with the URL's rule name filled in; RuleInputError when the two names differ."""
    if isinstance(body, dict) and name is not None:
        body = {**body, "alert": body.get("alert", name)}
        if body["alert"] != name:
            raise RuleInputError("alert", f"the body names {shorten(body['alert'])} but the URL names {name!r}")
    return body


def _save(name: str | None, creating: bool) -> Any:
    try:
        rule = normalize_rule(_named(_body(), name))
    except RuleInputError as exc:
        return _bad(exc.field, str(exc).split(": ", 1)[-1])
    alert = rule["alert"]
    if alert in _file_rules():
        return _bad("alert", f"{alert!r} is defined in a rule file and is read-only; edit the file instead", 409)
    existing = _ctx().store.api_rules().get(alert)
    if creating and existing is not None:
        return _bad("alert", f"a rule named {alert!r} already exists; use PUT to change it", 409)
    if not creating and existing is None:
        return _bad("name", f"no API rule named {alert!r}; use POST to create it", 404)
    now = _ctx().clock()
    stored = {
        "rule": rule,
        "created_by": existing["created_by"] if existing else g.actor,
        "updated_by": g.actor,
        "updated_at": now,
    }
    _ctx().store.put_api_rule(alert, stored)
    _audit("rule", alert, "created" if creating else "updated", now)
    return jsonify({**rule, "read_only": False, **_meta(stored)}), 201 if creating else 200


def _audit(kind: str, target: str, action: str, now: float) -> None:
    entry = {"kind": "change", "object": kind, "rule": target, "action": action, "actor": g.actor, "at": now}
    _ctx().store.add_history([entry])


@bp.post("/alerts/rules")
def create_rule() -> Any:
    return _save(None, creating=True)


@bp.put("/alerts/rules/<name>")
def update_rule(name: str) -> Any:
    return _save(name, creating=False)


@bp.delete("/alerts/rules/<name>")
def delete_rule(name: str) -> Any:
    if name in _file_rules():
        return _bad("name", f"{name!r} is defined in a rule file and is read-only", 409)
    if not _ctx().store.delete_api_rule(name):
        return _bad("name", f"no API rule named {name!r}", 404)
    _audit("rule", name, "deleted", _ctx().clock())
    return "", 204


@bp.get("/alerts/active")
def active() -> Any:
    store = _ctx().store
    out = []
    for group in store.groups():
        snap = store.load_group(group)
        for state in snap.rules.values():
            for a in state.alerts.values():
                if a.state == "inactive":
                    continue
                out.append(
                    {
                        "group": group,
                        "labels": dict(a.labels),
                        "annotations": dict(a.annotations),
                        "state": a.state,
                        "active_at": a.active_at,
                        "fired_at": a.fired_at,
                        "value": a.value,
                        "no_data": a.no_data,
                        "flapping": a.flapping,
                    }
                )
    return jsonify(alerts=out)


def _arg_number(name: str, default: float | None, low: float, high: float, *, whole: bool = False) -> float | None:
    raw = request.args.get(name)
    if raw is None:
        return default
    if whole and not (raw.isascii() and raw.isdigit()):
        raise RuleInputError(name, f"invalid value {raw!r}; expected a whole number")
    try:
        value = float(raw)
    except ValueError:
        raise RuleInputError(name, f"invalid value {raw!r}; expected a number") from None
    if not low <= value <= high:
        raise RuleInputError(name, f"invalid value {raw!r}; allowed {low:g} to {high:g}")
    return value


@bp.get("/alerts/history")
def history() -> Any:
    """Newest first; filter by rule, host (host_name label), kind and [start, end] in UNIX seconds."""
    kind = request.args.get("kind")
    if kind not in {None, "transition", "notification", "change"}:
        return _bad("kind", f"invalid value {kind!r}; allowed: transition, notification, change")
    try:
        start = _arg_number("start", None, 0.0, 1e11)
        end = _arg_number("end", None, 0.0, 1e11)
        limit = int(_arg_number("limit", 100, 1, 1000, whole=True) or 100)
        offset = int(_arg_number("offset", 0, 0, 1e7, whole=True) or 0)
    except RuleInputError as exc:
        return _bad(exc.field, str(exc).split(": ", 1)[-1])
    query = HistoryQuery(request.args.get("rule"), request.args.get("host"), kind, start, end, limit, offset)
    rows = _ctx().store.history(query)
    return jsonify(entries=rows, limit=limit, offset=offset, next_offset=offset + len(rows))


@bp.get("/silences")
def list_silences() -> Any:
    now = _ctx().clock()
    return jsonify(silences=[{**s.to_dict(), "state": s.state(now)} for s in _ctx().store.list_silences()])


MAX_UNIX_SECONDS = 1e11  # the year 5138
MAX_TEXT = 1000  # a silence's comment and author


_SILENCE_FIELDS = {"matchers", "starts_at", "ends_at", "duration", "created_by", "comment"}


def _silence_shape(body: dict[str, Any]) -> tuple[str, str] | None:
    """The field and the problem when the body's fields have the wrong types or combine wrongly."""
    unknown = sorted(set(body) - _SILENCE_FIELDS)
    if unknown:
        return unknown[0][:100], f"unknown field; allowed: {', '.join(sorted(_SILENCE_FIELDS))}"
    if "duration" in body and "ends_at" in body:
        return "duration", "give either duration or ends_at, not both"
    return _silence_types(body)


def _silence_types(body: dict[str, Any]) -> tuple[str, str] | None:
    for field in ("starts_at", "ends_at"):
        value = body.get(field, 0)
        # Compared, not converted: a 400-digit integer or NaN fails the range instead of raising.
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_UNIX_SECONDS:
            return field, f"expected UNIX seconds as a number from 0 to {MAX_UNIX_SECONDS:g}, got {shorten(value)}"
    for field in ("duration", "comment", "created_by"):
        if field in body and not isinstance(body[field], str):
            return field, f"expected a string, got {shorten(body[field])}"
    for field in ("comment", "created_by"):
        if len(body.get(field, "")) > MAX_TEXT:
            return field, f"at most {MAX_TEXT} characters, got {len(body[field])}"
    matchers = body.get("matchers", [])
    if not isinstance(matchers, list) or not all(isinstance(m, str) for m in matchers):
        return "matchers", 'expected a list of strings such as ["host_name=\\"web-1\\""]'
    return None


def _silence_body(existing: Silence | None) -> Silence | Any:
    try:
        body = _body()
    except RuleInputError as exc:
        return _bad(exc.field, str(exc).split(": ", 1)[-1])
    if not isinstance(body, dict):
        return _bad("body", "expected a JSON object with matchers, ends_at (or duration) and comment")
    problem = _silence_shape(body)
    if problem is not None:
        return _bad(*problem)
    now = _ctx().clock()
    starts = float(body.get("starts_at", existing.starts_at if existing else now))
    try:
        ends = (
            starts + parse_duration(body["duration"])
            if "duration" in body
            else float(body.get("ends_at", existing.ends_at if existing else 0.0))
        )
    except ValueError as exc:
        return _bad("duration", f"expected a duration such as 2h: {exc}")
    matchers = body.get("matchers", [str(m) for m in existing.matchers] if existing else [])
    author = str(body.get("created_by", existing.created_by if existing else g.actor))
    comment = str(body.get("comment", existing.comment if existing else ""))
    try:
        silence = create_silence([str(m) for m in matchers], starts, ends, author, comment, now)
    except ValueError as exc:
        field, _, message = str(exc).partition(": ")
        if field not in {"matchers", "ends_at", "created_by", "comment"}:
            field, message = "matchers", str(exc)
        return _bad(field, message)
    if existing is not None:
        silence = replace(silence, id=existing.id, created_at=existing.created_at)
    return silence


@bp.post("/silences")
def create_silence_view() -> Any:
    result = _silence_body(None)
    if not isinstance(result, Silence):
        return result
    _ctx().store.put_silence(result)
    _audit("silence", result.id, "created", _ctx().clock())
    return jsonify({**result.to_dict(), "state": result.state(_ctx().clock())}), 201


@bp.get("/silences/<silence_id>")
def get_silence(silence_id: str) -> Any:
    silence = _ctx().store.get_silence(silence_id)
    if silence is None:
        return _bad("id", f"no silence with id {silence_id!r}", 404)
    return jsonify({**silence.to_dict(), "state": silence.state(_ctx().clock())})


@bp.put("/silences/<silence_id>")
def update_silence(silence_id: str) -> Any:
    existing = _ctx().store.get_silence(silence_id)
    if existing is None:
        return _bad("id", f"no silence with id {silence_id!r}", 404)
    result = _silence_body(existing)
    if not isinstance(result, Silence):
        return result
    _ctx().store.put_silence(result)
    _audit("silence", silence_id, "updated", _ctx().clock())
    return jsonify({**result.to_dict(), "state": result.state(_ctx().clock())})


@bp.delete("/silences/<silence_id>")
def expire_silence(silence_id: str) -> Any:
    existing = _ctx().store.get_silence(silence_id)
    if existing is None:
        return _bad("id", f"no silence with id {silence_id!r}", 404)
    now = _ctx().clock()
    expired = replace(existing, ends_at=min(existing.ends_at, now))
    _ctx().store.put_silence(expired)
    _audit("silence", silence_id, "expired", now)
    return "", 204
