from __future__ import annotations

import logging

import pytest

from alert_worker.channels.redact import RedactingFilter, Redactor


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "POST https://api.telegram.org/bot123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage",
            "POST https://api.telegram.org/bot***/sendMessage",
        ),
        ("https://hooks.slack.com/services/T00/B00/XXXXXXXX failed", "https://hooks.slack.com/services/*** failed"),
        ("https://discord.com/api/webhooks/123/abc-def", "https://discord.com/api/webhooks/***"),
        ("smtp://user:pa55word@mail.local/", "smtp://user:pa55word@mail.local/"),  # only http(s) userinfo is rewritten
        ("http://user:pa55word@proxy.local/", "http://***@proxy.local/"),
        ("nothing secret here", "nothing secret here"),
    ],
)
def test_known_shapes_are_redacted(text: str, expected: str) -> None:
    assert Redactor()(text) == expected


def test_registered_secret_is_redacted_and_short_values_ignored() -> None:
    redactor = Redactor(["s3cr3t-value", "ab"])
    assert redactor("x s3cr3t-value y ab") == "x *** y ab"
    assert "s3cr3t" not in repr(redactor)


def test_filter_redacts_tracebacks(caplog) -> None:
    logger = logging.getLogger("heron.test.redact-tb")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.ERROR, logger="heron.test.redact-tb"):
        try:
            raise RuntimeError("boom at https://hooks.slack.com/services/T/B/leaky")
        except RuntimeError:
            logger.exception("send failed")
    assert "leaky" not in caplog.text
    assert "RuntimeError" in caplog.text
