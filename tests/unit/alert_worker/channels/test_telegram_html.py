from __future__ import annotations

import pytest

from alert_worker.channels.telegram_html import (
    escape,
    limit_parts,
    split_html,
    strip_html,
    visible_length,
)
from tests.fixtures.standins.telegram import parse_entities


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a & b", "a &amp; b"),
        ("<b>", "&lt;b&gt;"),
        ("&lt;", "&amp;lt;"),  # & first, so an existing entity shows literally
        ("x > 1 && y < 2", "x &gt; 1 &amp;&amp; y &lt; 2"),
        ("plain", "plain"),
    ],
)
def test_escape(raw: str, escaped: str) -> None:
    assert escape(raw) == escaped
    assert parse_entities(escaped) == raw


CASES = [
    "<b>" + "a" * 50 + "</b>",
    "start <i>" + "word " * 40 + "</i> end",
    '<a href="http://x.local/?a=1&amp;b=2">' + "link " * 30 + "</a>",
    ("line &amp; more\n" * 20),
    "<b>bold <i>nested " + "&lt;tag&gt; " * 20 + "</i></b> tail",
    "\U0001f525" * 40,  # astral characters count as two units
]


@pytest.mark.parametrize("text", CASES)
@pytest.mark.parametrize("limit", [7, 16, 33])
def test_split_parts_are_valid_and_lose_nothing(text: str, limit: int) -> None:
    parts = split_html(text, limit)
    assert len(parts) > 1
    for part in parts:
        parse_entities(part)  # every part is well-formed Telegram HTML: no tag or entity was cut
        assert visible_length(part) <= limit
    joined = "".join(parse_entities(p) for p in parts)
    assert joined.replace("\n", "").replace(" ", "") == strip_html(text).replace("\n", "").replace(" ", "")


def test_split_prefers_line_breaks() -> None:
    text = "first line here\nsecond line here\nthird"
    assert split_html(text, 20) == ["first line here", "second line here", "third"]


def test_short_text_is_one_part() -> None:
    assert split_html("<b>hi</b> &amp; bye") == ["<b>hi</b> &amp; bye"]


def test_limit_parts_truncates_with_a_mark() -> None:
    parts = split_html("<b>" + "x" * 100 + "</b>", 30)
    kept = limit_parts(parts, 2, 30)
    assert len(kept) == 2
    assert kept[-1].endswith("(truncated)")
    for part in kept:
        parse_entities(part)
        assert visible_length(part) <= 30
