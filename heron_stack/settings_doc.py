"""Render the environment-variable tables of docs/operations.md from the settings registries.

    python -m heron_stack.settings_doc          # rewrite the tables between the markers
    python -m heron_stack.settings_doc --check  # exit 1 when the committed doc differs

Each registry's table sits between `<!-- settings:<component>:start -->` and
`<!-- settings:<component>:end -->`; the prose around the markers is left as it is.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from heron_stack.config import PROJECT_DIR
from heron_stack.settings import registries

DOC = PROJECT_DIR / "docs" / "operations.md"
COMMAND = "python -m heron_stack.settings_doc"


class SettingLike(Protocol):
    """A `Setting` of heron_stack.settings or of the SDK's copy (heron._internal.settings)."""

    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def default(self) -> str: ...
    @property
    def choices(self) -> tuple[str, ...]: ...


class RegistryLike(Protocol):
    @property
    def component(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def settings(self) -> Sequence[SettingLike]: ...


def all_registries() -> tuple[RegistryLike, ...]:
    """Every component's registry, the SDK's last (it needs the SDK installed: `pip install -e ./sdk`)."""
    from heron._internal import env as sdk_env

    return (*registries(), sdk_env.SETTINGS)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _default(setting: SettingLike) -> str:
    if not setting.default:
        return "unset"
    if " " in setting.default:  # a description of a computed default, not a literal value
        return _cell(setting.default)
    return f"`{_cell(setting.default)}`"


def _type(setting: SettingLike) -> str:
    if setting.type == "enum":
        return " \\| ".join(f"`{choice}`" for choice in setting.choices)
    return setting.type


def render_table(registry: RegistryLike) -> str:
    """One Markdown table: variable, type (or the allowed values), default, meaning."""
    lines = [
        f"{registry.title}:",
        "",
        "| variable | type | default | meaning |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{s.name}` | {_type(s)} | {_default(s)} | {_cell(s.description)} |" for s in registry.settings]
    return "\n".join(lines)


def _block(component: str) -> re.Pattern[str]:
    return re.compile(
        rf"(<!-- settings:{re.escape(component)}:start -->\n).*?(<!-- settings:{re.escape(component)}:end -->)",
        re.DOTALL,
    )


def _filler(table: str) -> Callable[[re.Match[str]], str]:
    return lambda match: f"{match.group(1)}{table}\n{match.group(2)}"


def render_doc(text: str, regs: Sequence[RegistryLike]) -> str:
    """`text` with every registry's marker block filled in; a registry without markers is an error."""
    for registry in regs:
        pattern = _block(registry.component)
        if pattern.search(text) is None:
            raise ValueError(f"no <!-- settings:{registry.component}:start/end --> markers in the document")
        text = pattern.sub(_filler(render_table(registry)), text)
    return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 when the document is out of date")
    parser.add_argument("--doc", type=Path, default=DOC, help="the Markdown file (default docs/operations.md)")
    args = parser.parse_args(argv)
    current = args.doc.read_text(encoding="utf-8")
    rendered = render_doc(current, all_registries())
    if rendered == current:
        return 0
    if args.check:
        print(f"{args.doc} is out of date: run `{COMMAND}`", file=sys.stderr)
        return 1
    args.doc.write_text(rendered, encoding="utf-8")
    print(f"updated {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
