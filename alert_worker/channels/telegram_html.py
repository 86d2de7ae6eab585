"""Telegram HTML helpers: escape values, split long messages on visible text, strip to plain text."""

from __future__ import annotations

import html
import re

#: Telegram's limit for one message, counted after entity parsing.
MAX_MESSAGE = 4096
_TOKEN = re.compile(r"<[^>]*>|&#?\w+;|[^<&]+|[<&]")
_TAG_NAME = re.compile(r"</?\s*([a-zA-Z][\w-]*)")
TRUNCATION_MARK = "\n… (truncated)"


def escape(value: str) -> str:
    """Escape a value for HTML parse mode: `&` first, then `<` and `>`."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _units(text: str) -> int:
    # Telegram measures length in UTF-16 code units: astral characters (most emoji) count twice.
    return len(text.encode("utf-16-le")) // 2


class _Chunker:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.chunks: list[str] = []
        self.stack: list[tuple[str, str]] = []  # (name, opening tag) of currently open tags
        self.buf: list[str] = []
        self.size = 0
        self.cut: tuple[int, int, list[tuple[str, str]]] | None = None  # last newline: (buf index, size, stack)

    def _closing(self, stack: list[tuple[str, str]]) -> str:
        return "".join(f"</{name}>" for name, _ in reversed(stack))

    def _flush(self) -> None:
        if self.cut and self.cut[1] * 2 >= self.limit:
            index, size, stack = self.cut
            head, tail = self.buf[:index], self.buf[index:]
            self.chunks.append("".join(head) + self._closing(stack))
            self.buf = [tag for _, tag in stack] + tail
            self.size -= size
        else:
            self.chunks.append("".join(self.buf) + self._closing(self.stack))
            self.buf = [tag for _, tag in self.stack]
            self.size = 0
        self.cut = None

    def tag(self, token: str) -> None:
        match = _TAG_NAME.match(token)
        name = match.group(1).lower() if match else ""
        if token.startswith("</"):
            for i in range(len(self.stack) - 1, -1, -1):
                if self.stack[i][0] == name:
                    del self.stack[i]
                    break
        elif not token.endswith("/>"):
            self.stack.append((name, token))
        self.buf.append(token)

    def visible(self, unit: str) -> None:
        width = _units(unit) if not unit.startswith("&") or len(unit) == 1 else 1
        if self.size + width > self.limit:
            self._flush()
        if unit == "\n" and not self.stack:
            self.cut = (len(self.buf) + 1, self.size + 1, [])
        self.buf.append(unit)
        self.size += width

    def finish(self) -> list[str]:
        if self.size or not self.chunks:
            self.chunks.append("".join(self.buf) + self._closing(self.stack))
        return [c.strip() for c in self.chunks if c.strip()]


def split_html(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Split Telegram HTML into messages of at most `limit` visible characters each.

    Cuts fall on visible text only (never inside a tag or an entity), preferably at a
    line break outside any tag; tags open at a cut are closed and reopened in the next part.
    """
    chunker = _Chunker(limit)
    for token in _TOKEN.findall(text):
        if token.startswith("<") and len(token) > 1:
            chunker.tag(token)
        elif token.startswith("&") and len(token) > 1:
            chunker.visible(token)
        else:
            for char in token:
                chunker.visible(char)
    return chunker.finish()


def visible_length(text: str) -> int:
    """Length Telegram counts for HTML `text` (after entity parsing), in UTF-16 units."""
    return _units(strip_html(text))


def strip_html(text: str) -> str:
    """Plain-text form of Telegram HTML: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]*>", "", text))


def limit_parts(parts: list[str], max_parts: int, limit: int) -> list[str]:
    """Keep at most `max_parts` HTML parts; the last kept part ends with a truncation mark."""
    if len(parts) <= max_parts:
        return parts
    room = limit - _units(TRUNCATION_MARK)
    shortened = split_html(parts[max_parts - 1], room)[0]
    return [*parts[: max_parts - 1], shortened + escape(TRUNCATION_MARK)]
