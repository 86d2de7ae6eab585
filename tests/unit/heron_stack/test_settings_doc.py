"""docs/operations.md's environment-variable tables are generated from the settings registries."""

from __future__ import annotations

from pathlib import Path

import pytest

from heron_stack import settings_doc
from heron_stack.settings import Registry, Setting

TINY = Registry(
    "demo",
    "Demo",
    (
        Setting("HERON_DEMO_MODE", "enum", "How it runs | which way.", "fast", ("fast", "slow")),
        Setting("HERON_DEMO_DIR", "path", "Where it writes.", "the system temp directory"),
        Setting("HERON_DEMO_TOKEN", "secret", "A token."),
    ),
)


def test_the_committed_doc_is_what_the_generator_renders() -> None:
    current = settings_doc.DOC.read_text(encoding="utf-8")
    rendered = settings_doc.render_doc(current, settings_doc.all_registries())
    assert rendered == current, f"docs/operations.md is out of date: run `{settings_doc.COMMAND}`"


def test_every_registry_has_its_table_in_the_doc() -> None:
    current = settings_doc.DOC.read_text(encoding="utf-8")
    for registry in settings_doc.all_registries():
        assert f"<!-- settings:{registry.component}:start -->" in current
        for setting in registry.settings:
            assert f"| `{setting.name}` |" in current


def test_a_table_lists_type_choices_default_and_meaning() -> None:
    table = settings_doc.render_table(TINY)
    assert table.splitlines()[:4] == ["Demo:", "", "| variable | type | default | meaning |", "|---|---|---|---|"]
    assert "| `HERON_DEMO_MODE` | `fast` \\| `slow` | `fast` | How it runs \\| which way. |" in table
    assert "| `HERON_DEMO_DIR` | path | the system temp directory | Where it writes. |" in table
    assert "| `HERON_DEMO_TOKEN` | secret | unset | A token. |" in table


def test_only_the_text_between_the_markers_changes() -> None:
    doc = "intro\n<!-- settings:demo:start -->\nold table\n<!-- settings:demo:end -->\noutro\n"
    rendered = settings_doc.render_doc(doc, (TINY,))
    assert rendered.startswith("intro\n<!-- settings:demo:start -->\nDemo:\n")
    assert rendered.endswith("|\n<!-- settings:demo:end -->\noutro\n")
    assert "old table" not in rendered
    assert settings_doc.render_doc(rendered, (TINY,)) == rendered
    with pytest.raises(ValueError, match="settings:demo"):
        settings_doc.render_doc("no markers", (TINY,))


def test_check_mode_says_what_to_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "operations.md"
    doc.write_text(settings_doc.DOC.read_text(encoding="utf-8").replace("| `HERON_STATE_DIR` |", "| `X` |"))
    assert settings_doc.main(["--check", "--doc", str(doc)]) == 1
    assert settings_doc.COMMAND in capsys.readouterr().err
    assert settings_doc.main(["--doc", str(doc)]) == 0
    assert settings_doc.main(["--check", "--doc", str(doc)]) == 0
    assert doc.read_text(encoding="utf-8") == settings_doc.DOC.read_text(encoding="utf-8")
