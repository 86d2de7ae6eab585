"""Everything one app owns: config, events, telemetry, engine, scenario runner, host sampler."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from flask import Flask, current_app

from loadgen.config import LoadgenConfig
from loadgen.engine import Engine
from loadgen.events import EventLog
from loadgen.hostmetrics import HostSampler
from loadgen.scenarios.runner import ScenarioRunner
from loadgen.telemetry import Telemetry

EXTENSION = "heron_loadgen"


@dataclass
class Lab:
    """The load lab behind one Flask app."""

    config: LoadgenConfig
    events: EventLog
    telemetry: Telemetry
    engine: Engine
    runner: ScenarioRunner
    sampler: HostSampler
    started: float = field(default_factory=time.monotonic)
    _closed: threading.Event = field(default_factory=threading.Event)

    def shutdown(self) -> None:
        """Stop scenarios and actions, release their resources, flush telemetry (idempotent)."""
        if self._closed.is_set():
            return
        self._closed.set()
        self.runner.shutdown()
        stopped = self.engine.shutdown()
        self.events.emit("loadgen_shutdown", f"loadgen shutting down; {stopped} action(s) stopped", "warning")
        self.sampler.close()
        self.telemetry.shutdown()


def lab(app: Flask | None = None) -> Lab:
    """The lab of `app` (default: the current app)."""
    found: Lab = (app or current_app).extensions[EXTENSION]
    return found
