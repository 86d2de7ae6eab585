"""The licence guard's rules, on made-up modules and packages (the real check runs in integration)."""

from __future__ import annotations

from pathlib import Path

import pytest

from heron_stack.licences import (
    Module,
    Package,
    classify_licence_text,
    denied,
    escape_module_path,
    licence_violations,
    python_violations,
)


def test_deny_list_catches_loki_and_its_submodules_only() -> None:
    mods = [
        Module("github.com/grafana/loki/v3", "v3.7.8"),
        Module("github.com/grafana/loki/pkg/push", "v0.0.0"),
        Module("github.com/grafana/dskit", "v0.1.0"),  # Apache-2.0, not on the list
        Module("github.com/grafana/lokiextra", "v1.0.0"),
    ]
    assert [v.what for v in denied(mods)] == [
        "github.com/grafana/loki/v3@v3.7.8",
        "github.com/grafana/loki/pkg/push@v0.0.0",
    ]


@pytest.mark.parametrize(
    ("text", "licence"),
    [
        ("GNU AFFERO GENERAL PUBLIC LICENSE\nVersion 3", "AGPL"),
        ("                    GNU GENERAL PUBLIC LICENSE\n Version 2, June 1991", "GPL"),
        ("Server Side Public License\nVERSION 1", "SSPL"),
        ("Business Source License 1.1\nLicensor: Example", "BUSL"),
        ("GNU LESSER GENERAL PUBLIC LICENSE\nVersion 3 ... GNU GENERAL PUBLIC LICENSE", None),
        ("Apache License\nVersion 2.0, January 2004", None),
        (
            "Copyright HashiCorp\n\nMozilla Public License, version 2.0\n" + "x" * 2000 + "GNU General Public License",
            None,
        ),
        ("Apache License 2.0\n" + "x" * 700 + "GNU GENERAL PUBLIC LICENSE", None),
        ("MIT License\nPermission is hereby granted", None),
    ],
)
def test_licence_texts_are_classified(text: str, licence: str | None) -> None:
    assert classify_licence_text(text) == licence


def test_licence_files_are_read_from_the_module_cache(tmp_path: Path) -> None:
    good = tmp_path / "github.com/!burnt!sushi/toml@v1.0.0"
    bad = tmp_path / "example.com/copyleft@v2.0.0"
    good.mkdir(parents=True)
    bad.mkdir(parents=True)
    (good / "COPYING").write_text("MIT License")
    (bad / "LICENSE.md").write_text("GNU AFFERO GENERAL PUBLIC LICENSE")
    mods = [Module("github.com/BurntSushi/toml", "v1.0.0"), Module("example.com/copyleft", "v2.0.0")]
    found, unread = licence_violations(tmp_path, [*mods, Module("example.com/gone", "v1.0.0")])
    assert [(v.what, v.licence) for v in found] == [("example.com/copyleft@v2.0.0", "AGPL")]
    assert unread == [Module("example.com/gone", "v1.0.0")]
    assert escape_module_path("github.com/BurntSushi/toml") == "github.com/!burnt!sushi/toml"


def test_python_packages_are_judged_by_spdx_classifiers_and_licence_text() -> None:
    packages = [
        Package("ok-mit", expression="MIT"),
        Package("ok-lgpl", classifiers=("License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)",)),
        Package("ok-mpl", expression="MPL-2.0"),
        Package("bad-spdx", expression="AGPL-3.0-only"),
        Package("bad-gpl", expression="GPL-3.0-or-later"),
        Package("bad-classifier", classifiers=("License :: OSI Approved :: GNU General Public License v3 (GPLv3)",)),
        Package("bad-text", licence="Server Side Public License v1"),
        Package("ok-file-only", licence_file_text="MIT License\n\nCopyright (c) messense"),
        Package("bad-file-only", licence_file_text="GNU AFFERO GENERAL PUBLIC LICENSE\nVersion 3"),
    ]
    assert [v.what for v in python_violations(packages)] == [
        "bad-spdx",
        "bad-gpl",
        "bad-classifier",
        "bad-text",
        "bad-file-only",
    ]
