"""The shipped systemd unit is one systemd accepts without warnings."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

UNIT = Path(__file__).parents[3] / "deploy" / "agent" / "otel-agent.service"


def test_systemd_unit_verifies(tmp_path: Path) -> None:
    # The unit starts /opt/heron/venv/bin/otel-agent; point it at this venv's script so verify can check it.
    script = Path(sys.executable).parent / "otel-agent"
    unit = tmp_path / "otel-agent.service"
    unit.write_text(UNIT.read_text().replace("/opt/heron/venv/bin/otel-agent", str(script)))
    assert shutil.which("systemd-analyze"), "systemd-analyze is missing: `make test` installs the systemd package"
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""
    assert "MALLOC_ARENA_MAX=2" in unit.read_text()
