"""Each image copies every Heron package its code imports, so a container starts without ImportError.

No Docker here: the Dockerfile's COPY lines say which Heron packages the image holds. A fresh Python
then imports the image's entry modules with every other Heron package made unimportable, as it is in
the container.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from heron_stack.config import PROJECT_DIR

FIRST_PARTY = {"heron_stack", "alert_worker", "loadgen", "otel_agent", "heron"}
COPY = re.compile(r"^COPY\s+(?!--from)(\S+)\s+\S+\s*$", re.MULTILINE)
# What each image runs: its console script's module, and the modules that script loads by name.
ENTRY_MODULES = {
    "agent": ["otel_agent.cli", "otel_agent.agent"],
    "alert-worker": [
        "alert_worker.cli",
        "alert_worker.celery_app",
        "alert_worker.tasks",
        "alert_worker.delivery.tasks",
        "alert_worker.api.views",
        "heron_stack.mailsink",
    ],
    "loadgen": ["loadgen.cli", "loadgen.app", "loadgen.actions.traffic_worker"],
}
DOCKERFILES = sorted((PROJECT_DIR / "deploy").glob("*/Dockerfile"))
IMPORT_WITHOUT = """
import importlib, importlib.abc, sys
blocked = set(sys.argv[1].split(",")) - {""}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ImportError(f"{name} is not in this image")
        return None
sys.meta_path.insert(0, Block())
for module in sys.argv[2:]:
    importlib.import_module(module)
"""


def _copied_packages(dockerfile: Path) -> set[str]:
    return {
        name
        for source in COPY.findall(dockerfile.read_text(encoding="utf-8"))
        if (name := Path(source).name) in FIRST_PARTY
    }


def test_every_image_is_checked() -> None:
    assert {d.parent.name for d in DOCKERFILES} == set(ENTRY_MODULES)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda d: d.parent.name)
def test_the_image_entry_modules_import_with_only_the_copied_heron_packages(dockerfile: Path) -> None:
    blocked = sorted(FIRST_PARTY - _copied_packages(dockerfile))
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_WITHOUT, ",".join(blocked), *ENTRY_MODULES[dockerfile.parent.name]],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    last = done.stderr.strip().splitlines()[-1:] or [""]
    assert done.returncode == 0, f"{dockerfile.relative_to(PROJECT_DIR)} lacks a package: {last[0]}"
