from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from alert_worker.channels.render import Links, job_context, preview, render, silence_link
from alert_worker.channels.smtp import build_message
from alert_worker.models import Alert
from tests.fixtures.standins.jobs import T0, make_alert, make_job
from tests.fixtures.standins.telegram import parse_entities

LINKS = Links(grafana_url="http://grafana.local", silence_url="http://heron.local/silences/new")
NOW = T0 + timedelta(minutes=3)


@pytest.mark.parametrize("kind", ["telegram", "slack", "discord", "email", "webhook", "console"])
def test_every_channel_shows_the_essentials(kind: str) -> None:
    rendered = render(make_job(), kind, LINKS, now=NOW)
    text = rendered.text.replace("\\", "") if kind == "discord" else rendered.text
    for expected in ("CPU above 90% on web-1", "critical", "0.97", "2026-11-22 11:53:00 UTC (10m ago)", "instance"):
        assert expected in text
    assert "http://grafana.local/d/host" in text
    assert "silences/new?matcher=" in text
    assert rendered.subject == "[FIRING:1] HighCpu (critical)"


def test_resolved_subject_and_text() -> None:
    rendered = render(make_job(status="resolved"), "console", LINKS, now=NOW)
    assert rendered.subject.startswith("[RESOLVED:1] HighCpu")
    assert "(resolved)" in rendered.text


def test_telegram_template_escapes_values_and_stays_valid() -> None:
    alert = make_alert(summary="<b>bold</b> & co", labels={"q": 'a"b<c'})
    text = render(make_job(alerts=(alert,)), "telegram", LINKS, now=NOW).text
    visible = parse_entities(text)
    assert "<b>bold</b> & co" in visible
    assert 'q=a"b<c' in visible


def test_email_html_is_escaped() -> None:
    alert = make_alert(summary="<script>alert(1)</script>")
    rendered = render(make_job(alerts=(alert,)), "email", LINKS, now=NOW)
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    assert "<script>alert(1)</script>" in rendered.text


def test_silence_link_encodes_matchers() -> None:
    link = silence_link(LINKS, {"alertname": "HighCpu", "instance": "web 1&2"})
    assert link == (
        "http://heron.local/silences/new?matcher=alertname%3D%22HighCpu%22&matcher=instance%3D%22web+1%262%22"
    )
    assert silence_link(Links(), {"a": "b"}) == ""


def test_no_silence_or_dashboard_link_without_config() -> None:
    alert = make_alert()
    alert = type(alert)(**{**alert.__dict__, "annotations": {"summary": "s"}})
    text = render(make_job(alerts=(alert,)), "console", Links(), now=NOW).text
    assert "dashboard:" not in text
    assert "silence:" not in text


def test_template_override_directory(tmp_path) -> None:
    (tmp_path / "plain.txt.j2").write_text("custom {{ alerts|length }} {{ title }}")
    text = render(make_job(), "console", LINKS, now=NOW, template_dir=str(tmp_path)).text
    assert text == "custom 1 [FIRING:1] HighCpu"


def test_preview_shows_subject_and_both_email_parts() -> None:
    out = preview(make_job(), "email", LINKS, now=NOW)
    assert out.startswith("Subject: [FIRING:1] HighCpu (critical)")
    assert "--- text/html ---" in out


def test_unknown_kind_is_named() -> None:
    with pytest.raises(ValueError, match="no templates for channel type 'pager'"):
        render(make_job(), "pager")


def test_email_message_is_multipart_with_stable_message_id() -> None:
    job = make_job(key="job/1 x")
    msg = build_message(job, "heron@example.org", ["a@example.org", "b@example.org"], LINKS)
    assert msg["To"] == "a@example.org, b@example.org"
    assert msg["Message-ID"] == "<job-1-x@heron.alerts>"
    assert msg.get_content_type() == "multipart/alternative"
    kinds = [part.get_content_type() for part in msg.iter_parts()]
    assert kinds == ["text/plain", "text/html"]


def test_a_collapsed_resolved_notice_says_when_it_fired_and_when_it_ended() -> None:
    job = make_job(status="resolved")
    alert = Alert(
        rule="HostHighCpu",
        labels={"alertname": "HostHighCpu"},
        annotations={},
        status="resolved",
        starts_at=T0,
        ends_at=T0 + timedelta(minutes=2),
    )
    collapsed = replace(job, alerts=(alert,), extra={"collapsed": "true"})
    assert job_context(collapsed, Links())["title"].endswith(
        f"(fired {T0:%H:%M:%S}, resolved {T0 + timedelta(minutes=2):%H:%M:%S} UTC)"
    )
    assert "fired" not in str(job_context(replace(job, alerts=(alert,)), Links())["title"])
