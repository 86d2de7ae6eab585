"""Run `otel-agent` as a real subprocess against the test stack."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.fixtures.stack import clean_env


@dataclass
class AgentProcess:
    proc: subprocess.Popen[bytes]
    service: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise ValueError("no VmRSS")

    def terminate(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)


def start_agent(endpoint: str, log_dir: Path, *, prefix: str, extra: dict[str, str] | None = None) -> AgentProcess:
    """Start the agent exporting OTLP/HTTP to `endpoint`, with a service name unique to this test."""
    service = f"{prefix}-{uuid.uuid4().hex[:8]}"
    env = clean_env(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_SERVICE_NAME": service,
            "OTEL_EXPORTER_OTLP_TIMEOUT": "2000",
            "HERON_AGENT_INTERVAL": "1",
            "HERON_AGENT_LOG_LEVEL": "DEBUG",
            **(extra or {}),
        }
    )
    log_path = log_dir / f"{service}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "otel_agent"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=os.getcwd()
        )
    return AgentProcess(proc, service, log_path)


def host_points() -> list[dict[str, object]]:
    """What the agent reports for this host in one cycle (`otel-agent --once --json`)."""
    out = subprocess.run(
        [sys.executable, "-m", "otel_agent", "--once", "--json"], env=clean_env(), capture_output=True, check=True
    ).stdout
    points: list[dict[str, object]] = json.loads(out)["points"]
    return points
