"""Heron's PromQL check at the door gives the same verdict as Prometheus' own promtool."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from alert_worker.rules.promql import promql_problem
from heron_stack import components
from heron_stack.config import resolve
from tests.fixtures.promql_corpus import BAD, GOOD

pytestmark = pytest.mark.integration


def _promtool_accepts(expr: str, tmp_path: Path, component: str) -> bool:
    promtool = components.registry(resolve({}))[component].ensure()
    rules = tmp_path / "one.rules.yml"
    rules.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [{"record": "r:x", "expr": expr}]}]}))
    done = subprocess.run([str(promtool), "check", "rules", str(rules)], capture_output=True, text=True, check=False)
    return done.returncode == 0


@pytest.mark.parametrize("component", ["promtool3", "promtool"])  # compose's v3, and Debian's for `make up`
@pytest.mark.parametrize("expr", [*GOOD, *BAD])
def test_verdict_matches_promtool(expr: str, tmp_path: Path, component: str) -> None:
    assert (promql_problem(expr) is None) == _promtool_accepts(expr, tmp_path, component)
