"""Render the environment-variable tables of docs/operations.md, and the list of known names, from the registries.

    python -m heron_stack.settings_doc          # rewrite the tables and heron_stack/setting_names.py
    python -m heron_stack.settings_doc --check  # exit 1 when either committed file differs

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
NAMES_MODULE = Path(__file__).resolve().parent / "setting_names.py"
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


def render_names(regs: Sequence[RegistryLike]) -> str:
    """heron_stack/setting_names.py: the union of every registry's names, as ruff formats it."""
    names = sorted({setting.name for registry in regs for setting in registry.settings})
    lines = [
        '"""Every `HERON_*` name a Heron component reads: generated from the settings registries, do not edit.',
        "",
        f"Run `{COMMAND}` after changing a registry (a unit test fails until this file matches).",
        '"""',
        "",
        "KNOWN_NAMES = frozenset(",
        "    {",
        *(f'        "{name}",' for name in names),
        "    }",
        ")",
    ]
    return "\n".join(lines) + "\n"


def _current(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 when a generated file is out of date")
    parser.add_argument("--doc", type=Path, default=DOC, help="the Markdown file (default docs/operations.md)")
    parser.add_argument("--names", type=Path, default=NAMES_MODULE, help="the module of known names")
    args = parser.parse_args(argv)
    regs = all_registries()
    doc = _current(args.doc)
    wanted = {args.doc: render_doc(doc, regs), args.names: render_names(regs)}
    stale = [path for path, text in wanted.items() if _current(path) != text]
    if args.check:
        for path in stale:
            print(f"{path} is out of date: run `{COMMAND}`", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(wanted[path], encoding="utf-8")
        print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
