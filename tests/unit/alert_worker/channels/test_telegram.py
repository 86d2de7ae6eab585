from __future__ import annotations

import httpx
import pytest

from alert_worker.channels import PermanentError, SendContext, TelegramChannel, TransientError
from tests.fixtures.standins.jobs import make_alert, make_job
from tests.fixtures.standins.telegram import parse_entities

TOKEN = "123456:SECRET-token-abcdefghijklmnopqrstu"
OK = (200, {"ok": True, "result": {"message_id": 42, "chat": {"id": -100}}})


def err(code: int, description: str, **parameters: object) -> tuple[int, dict[str, object]]:
    body: dict[str, object] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return code, body


def channel(script, **kwargs) -> TelegramChannel:
    return TelegramChannel(TOKEN, "-100", api_url="http://tg.local", transport=script.transport, **kwargs)


def test_sends_html_with_every_value_escaped(script) -> None:
    s = script(OK)
    alert = make_alert(labels={"path": "/a?x=<b>&y=1"}, summary="5 < 6 & <i>not italic</i>")
    result = channel(s).send(make_job(alerts=(alert,)), SendContext())
    assert result.remote_id == "42"
    body = s.bodies()[0]
    assert s.requests[0].url.path == f"/bot{TOKEN}/sendMessage"
    assert body["parse_mode"] == "HTML"
    assert body["chat_id"] == "-100"
    visible = parse_entities(body["text"])  # well-formed HTML
    assert "5 < 6 & <i>not italic</i>" in visible
    assert "path=/a?x=<b>&y=1" in visible


@pytest.mark.parametrize(
    ("answer", "error", "retry_after", "broken"),
    [
        (err(429, "Too Many Requests: retry after 7", retry_after=7), TransientError, 7.0, None),
        (err(500, "Internal Server Error"), TransientError, None, None),
        (err(502, "Bad Gateway"), TransientError, None, None),
        (err(401, "Unauthorized"), PermanentError, None, True),
        (err(403, "Forbidden: bot was blocked by the user"), PermanentError, None, True),
        (err(404, "Not Found"), PermanentError, None, True),
        (err(400, "Bad Request: chat not found"), PermanentError, None, True),
        (err(400, "Bad Request: message is too long"), PermanentError, None, False),
        ((502, "<html>bad gateway</html>"), TransientError, None, None),
    ],
)
def test_error_classes(script, answer, error, retry_after, broken) -> None:
    with pytest.raises(error) as info:
        channel(script(answer)).send(make_job(), SendContext())
    if error is TransientError:
        assert info.value.retry_after == retry_after
    else:
        assert info.value.destination_broken is broken
    assert TOKEN not in str(info.value)


@pytest.mark.parametrize("exc", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")])
def test_network_errors_are_transient_and_redacted(script, exc) -> None:
    with pytest.raises(TransientError) as info:
        channel(script(exc)).send(make_job(), SendContext())
    assert TOKEN not in str(info.value)
    assert TOKEN not in repr(channel(script()))


def test_bad_markup_falls_back_to_plain_text(script) -> None:
    s = script(err(400, "Bad Request: can't parse entities: Unsupported start tag"), OK)
    result = channel(s).send(make_job(), SendContext())
    first, second = s.bodies()
    assert first["parse_mode"] == "HTML"
    assert "parse_mode" not in second
    assert "<b>" not in second["text"]
    assert "CPU above 90% on web-1" in second["text"]
    assert result.remote_id == "42"


def test_migrated_chat_is_retried_and_reported(script) -> None:
    s = script(err(400, "Bad Request: group chat was upgraded", migrate_to_chat_id=-1009), OK)
    result = channel(s).send(make_job(), SendContext())
    assert [b["chat_id"] for b in s.bodies()] == ["-100", "-1009"]
    assert result.updates == {"chat_id": "-1009"}


def test_persisted_override_is_used(script) -> None:
    s = script(OK)
    channel(s).send(make_job(), SendContext(overrides={"chat_id": "-555"}))
    assert s.bodies()[0]["chat_id"] == "-555"


def test_long_message_is_split_into_valid_parts(script) -> None:
    alerts = tuple(make_alert(labels={"n": str(i)}, summary="x" * 300) for i in range(30))
    s = script(*[OK] * 3)
    channel(s, max_parts=3).send(make_job(alerts=alerts), SendContext())
    texts = [b["text"] for b in s.bodies()]
    assert len(texts) == 3
    for text in texts:
        assert len(parse_entities(text)) <= 4096
    assert texts[-1].endswith("(truncated)")


def test_a_failed_part_is_retried_without_repeating_the_parts_before_it(script) -> None:
    alerts = tuple(make_alert(labels={"n": str(i)}, summary="x" * 300) for i in range(30))
    job = make_job(alerts=alerts)
    first = script(OK, err(502, "Bad Gateway"))
    with pytest.raises(TransientError) as info:
        channel(first, max_parts=3).send(job, SendContext())
    assert info.value.progress is not None
    sent_first = [b["text"] for b in first.bodies()]
    again = script(OK, OK)
    result = channel(again, max_parts=3).send(job, SendContext(progress=info.value.progress))
    resent = [b["text"] for b in again.bodies()]
    assert len(resent) == 2  # parts 2 and 3 only
    assert resent[0] == sent_first[1]  # the part that failed, once more
    assert sent_first[0] not in resent
    assert result.remote_id == "42"  # the first part's id, from the first attempt


def test_a_failure_on_the_first_part_carries_no_progress(script) -> None:
    s = script(err(502, "Bad Gateway"))
    with pytest.raises(TransientError) as info:
        channel(s).send(make_job(), SendContext())
    assert info.value.progress is None


def test_resolve_edits_the_firing_message(script) -> None:
    s = script(OK)
    result = channel(s, edit_on_resolve=True).send(make_job(status="resolved"), SendContext(previous_remote_id="42"))
    assert s.requests[0].url.path.endswith("/editMessageText")
    assert s.bodies()[0]["message_id"] == 42
    assert result.detail == "edited"


def test_resolve_sends_new_message_when_edit_is_refused(script) -> None:
    s = script(err(400, "Bad Request: message to edit not found"), OK)
    channel(s, edit_on_resolve=True).send(make_job(status="resolved"), SendContext(previous_remote_id="42"))
    assert [r.url.path.rsplit("/", 1)[1] for r in s.requests] == ["editMessageText", "sendMessage"]


def test_resolve_without_edit_option_sends_new_message(script) -> None:
    s = script(OK)
    channel(s).send(make_job(status="resolved"), SendContext(previous_remote_id="42"))
    assert s.requests[0].url.path.endswith("/sendMessage")


def test_markup_rejected_part_way_continues_as_plain_text_without_repeating(script) -> None:
    alerts = tuple(make_alert(labels={"n": str(i)}, summary="x" * 300) for i in range(30))
    s = script(OK, err(400, "Bad Request: can't parse entities: Unsupported start tag"), OK, OK)
    channel(s, max_parts=3).send(make_job(alerts=alerts), SendContext())
    first, rejected, second, third = s.bodies()
    assert [b.get("parse_mode") for b in s.bodies()] == ["HTML", "HTML", None, None]
    assert second["text"] == parse_entities(rejected["text"])  # the rejected part, once, without markup
    assert first["text"] != rejected["text"]
    assert "(truncated)" in third["text"]
    shown = parse_entities(first["text"]) + second["text"] + third["text"]
    assert shown.count("n=0") == 1  # the first part is not repeated
