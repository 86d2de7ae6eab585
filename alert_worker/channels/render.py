"""Render notification jobs into channel text with Jinja2 templates (pure: no I/O beyond templates)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

import jinja2
from markupsafe import Markup

from alert_worker.models import Alert, NotificationJob

BUILTIN_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
Style = Literal["html", "slack", "discord", "text"]
_SLACK = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_DISCORD_SPECIAL = re.compile(r"([\\*_~`|>#\[\]@])")


@dataclass(frozen=True)
class Links:
    """Where notifications link to: Grafana and the silence form of the Heron alert API."""

    grafana_url: str = ""
    silence_url: str = ""
    external_url: str = ""


NO_LINKS = Links()


@dataclass(frozen=True)
class Rendered:
    """A job rendered for one channel: subject line, body, and an HTML body when the channel has one."""

    subject: str
    text: str
    html: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)


def slack_escape(value: str) -> str:
    """Slack mrkdwn control characters: only &, < and > need escaping."""
    return value.translate(_SLACK)


def discord_escape(value: str) -> str:
    """Backslash Discord markdown characters so label values show literally."""
    return _DISCORD_SPECIAL.sub(r"\\\1", value)


def _finalizer(escape: Callable[[str], str]) -> Callable[[object], str]:
    def finalize(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, Markup):
            return str(value)
        return escape(str(value))

    return finalize


@cache
def environment(style: Style, template_dir: str = "") -> jinja2.Environment:
    """A Jinja2 environment that escapes every interpolated value for `style`."""
    dirs = [template_dir] if template_dir else []
    loader = jinja2.FileSystemLoader([*dirs, str(BUILTIN_TEMPLATES)])
    options: dict[str, Any] = {
        "loader": loader,
        "trim_blocks": True,
        "lstrip_blocks": True,
        "keep_trailing_newline": False,
    }
    if style == "html":
        return jinja2.Environment(autoescape=True, undefined=jinja2.ChainableUndefined, **options)
    finalize = {"slack": slack_escape, "discord": discord_escape}.get(style)
    # Non-HTML styles escape through `finalize` (Slack, Discord) or are plain text on purpose.
    return jinja2.Environment(
        autoescape=False,  # noqa: S701 - escaping is done by `finalize`, HTML rules do not apply
        undefined=jinja2.ChainableUndefined,
        finalize=_finalizer(finalize) if finalize else _finalizer(str),
        **options,
    )


def _since(start: datetime, now: datetime) -> str:
    seconds = max(0, int((now - start).total_seconds()))
    if seconds < 120:
        ago = f"{seconds}s"
    elif seconds < 7200:
        ago = f"{seconds // 60}m"
    elif seconds < 172800:
        ago = f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    else:
        ago = f"{seconds // 86400}d"
    return f"{start.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC ({ago} ago)"


def _format_value(value: float | None) -> str | None:
    if value is None:
        return None
    return f"{value:.4g}"


def silence_link(links: Links, labels: Mapping[str, str]) -> str:
    """A link to the silence form, pre-filled with one equality matcher per label."""
    if not links.silence_url:
        return ""
    matchers = [f'{k}="{v}"' for k, v in sorted(labels.items())]
    sep = "&" if "?" in links.silence_url else "?"
    return f"{links.silence_url}{sep}{urlencode({'matcher': matchers}, doseq=True)}"


def _alert_context(alert: Alert, links: Links, now: datetime) -> dict[str, object]:
    labels = dict(alert.labels)
    annotations = dict(alert.annotations)
    dashboard = annotations.get("dashboard_url") or annotations.get("grafana_url") or links.grafana_url
    return {
        "rule": alert.rule,
        "status": alert.status,
        "summary": annotations.get("summary") or alert.rule,
        "description": annotations.get("description", ""),
        "severity": labels.get("severity", "none"),
        "labels": {k: v for k, v in sorted(labels.items()) if k != "alertname"},
        "annotations": annotations,
        "value": _format_value(alert.value),
        "since": _since(alert.starts_at, now),
        "ended": _since(alert.ends_at, now) if alert.ends_at else "",
        "generator_url": alert.generator_url,
        "dashboard_url": dashboard,
        "silence_url": silence_link(links, labels),
        "runbook_url": annotations.get("runbook_url", ""),
    }


def _common(maps: list[Mapping[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first = maps[0]
    return {k: v for k, v in sorted(first.items()) if all(m.get(k) == v for m in maps[1:])}


COLLAPSED = "collapsed"
"""`job.extra` flag: this resolved notice stands for its firing notice too, which a backlog kept from going."""


def _collapsed_note(job: NotificationJob) -> str:
    if job.extra.get(COLLAPSED) != "true" or not job.alerts:
        return ""
    fired = min(a.starts_at for a in job.alerts)
    ended = max((a.ends_at for a in job.alerts if a.ends_at), default=job.created_at)
    return f" (fired {fired:%H:%M:%S}, resolved {ended:%H:%M:%S} UTC)"


def job_context(job: NotificationJob, links: Links, now: datetime | None = None) -> dict[str, object]:
    """Template variables for `job` (shared by every channel and the preview)."""
    now = now or datetime.now(UTC)
    alerts = [_alert_context(a, links, now) for a in job.alerts]
    rules = sorted({a.rule for a in job.alerts})
    firing = sum(1 for a in job.alerts if a.status == "firing")
    name = job.group_labels.get("alertname") or ", ".join(rules) or job.group_key
    count = firing if job.status == "firing" else len(job.alerts)
    return {
        "status": job.status,
        "status_icon": "\U0001f525" if job.status == "firing" else "\u2705",
        "title": f"[{job.status.upper()}:{count}] {name}" + _collapsed_note(job),
        "alerts": alerts,
        "group_key": job.group_key,
        "group_labels": dict(job.group_labels),
        "common_labels": _common([a.labels for a in job.alerts]),
        "common_annotations": _common([a.annotations for a in job.alerts]),
        "external_url": links.external_url,
        "destination": job.destination,
    }


def render_template(name: str, style: Style, context: Mapping[str, object], template_dir: str = "") -> str:
    """Render one template file; surrounding blank lines are dropped."""
    template = environment(style, template_dir).get_template(name)
    return template.render(**context).strip()


#: Channel kind -> (body template, style, HTML template or "").
TEMPLATES: dict[str, tuple[str, Style, str]] = {
    "telegram": ("telegram.html.j2", "html", ""),
    "slack": ("slack.mrkdwn.j2", "slack", ""),
    "discord": ("discord.md.j2", "discord", ""),
    "email": ("email.txt.j2", "text", "email.html.j2"),
    "webhook": ("plain.txt.j2", "text", ""),
    "console": ("plain.txt.j2", "text", ""),
}


def render(
    job: NotificationJob, kind: str, links: Links = NO_LINKS, *, now: datetime | None = None, template_dir: str = ""
) -> Rendered:
    """Render `job` for a channel of type `kind`."""
    if kind not in TEMPLATES:
        raise ValueError(f"no templates for channel type {kind!r}; known: {', '.join(sorted(TEMPLATES))}")
    body, style, html = TEMPLATES[kind]
    context = job_context(job, links, now)
    subject = render_template("subject.txt.j2", "text", context, template_dir)
    text = render_template(body, style, context, template_dir)
    html_body = render_template(html, "html", context, template_dir) if html else ""
    return Rendered(subject=subject, text=text, html=html_body)


def preview(
    job: NotificationJob, kind: str, links: Links = NO_LINKS, *, now: datetime | None = None, template_dir: str = ""
) -> str:
    """What a channel of type `kind` would show for `job`, as one printable string."""
    rendered = render(job, kind, links, now=now, template_dir=template_dir)
    parts = [f"Subject: {rendered.subject}", "", rendered.text]
    if rendered.html:
        parts += ["", "--- text/html ---", rendered.html]
    return "\n".join(parts)
