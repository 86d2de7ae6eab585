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


def test_the_committed_list_of_known_names_is_what_the_generator_renders() -> None:
    current = settings_doc.NAMES_MODULE.read_text(encoding="utf-8")
    assert settings_doc.render_names(settings_doc.all_registries()) == current, (
        f"heron_stack/setting_names.py is out of date: run `{settings_doc.COMMAND}`"
    )


def test_check_mode_says_what_to_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc, names = tmp_path / "operations.md", tmp_path / "setting_names.py"
    doc.write_text(settings_doc.DOC.read_text(encoding="utf-8").replace("| `HERON_STATE_DIR` |", "| `X` |"))
    paths = ["--doc", str(doc), "--names", str(names)]
    assert settings_doc.main(["--check", *paths]) == 1
    err = capsys.readouterr().err
    assert f"{doc} is out of date: run `{settings_doc.COMMAND}`" in err
    assert f"{names} is out of date" in err
    assert settings_doc.main(paths) == 0
    assert settings_doc.main(["--check", *paths]) == 0
    assert doc.read_text(encoding="utf-8") == settings_doc.DOC.read_text(encoding="utf-8")
    assert names.read_text(encoding="utf-8") == settings_doc.NAMES_MODULE.read_text(encoding="utf-8")
