"""CI's licence guard: nothing Heron builds or installs is AGPL, GPL, SSPL or BUSL.

Reads the module list of every Go binary Heron builds (`go version -m`) and each module's licence
file in the Go module cache; and the licence metadata of every Python distribution installed with Heron.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from heron_stack import components
from heron_stack import config as stack_config
from heron_stack.licences import denied, go_modules, installed_packages, licence_violations, python_violations

pytestmark = pytest.mark.integration

GO_COMPONENTS = ("collector", "victorialogs", "thanos")


def _modcache() -> Path:
    out = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


@pytest.mark.parametrize("name", GO_COMPONENTS)
def test_go_binaries_link_no_denied_or_copyleft_module(name: str) -> None:
    cfg = stack_config.resolve(os.environ)
    binary = components.ensure_all(cfg, [name])[name]
    modules = go_modules(binary)
    assert len(modules) > 10, f"`go version -m {binary}` listed too few modules to be a real build"

    assert denied(modules) == []
    violations, unread = licence_violations(_modcache(), modules)
    assert [str(v) for v in violations] == []
    # Every module's licence was read: a module missing from the cache would escape the check.
    assert unread == [], f"no licence file found for {[f'{m.path}@{m.version}' for m in unread]}"


def test_python_distributions_are_permissive_or_weak_copyleft() -> None:
    packages = installed_packages()
    assert any(p.name == "heron-stack" for p in packages)
    assert [str(v) for v in python_violations(packages)] == []
