"""Keep one service running: `python -m heron_stack.supervise NAME RESTARTS_FILE -- ARGV...`.

`heron up` starts every service under this small supervisor. When the service dies on its own, the
supervisor logs it and starts it again after an exponential backoff (1 s, 2 s, 4 s ... 30 s; back to
1 s once it has run for a minute), and counts the restart in RESTARTS_FILE for `heron status`. A
SIGTERM or SIGINT stops the service and the supervisor for good (`heron down`).

Each start writes a `START_MARKER` line to the log, so readiness checks read only the current run.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

START_MARKER = "--- heron: starting "
BACKOFF_FIRST_S = 1.0
BACKOFF_CAP_S = 30.0
HEALTHY_AFTER_S = 60.0


def start_line(name: str) -> str:
    return f"{START_MARKER}{name} at {time.strftime('%Y-%m-%dT%H:%M:%S%z')} ---"


def next_backoff(previous: float, ran_for: float) -> float:
    """Double the wait after each quick crash; a run longer than a minute starts over at 1 s."""
    if ran_for >= HEALTHY_AFTER_S or previous <= 0:
        return BACKOFF_FIRST_S
    return min(BACKOFF_CAP_S, previous * 2)


@dataclass
class Supervisor:
    name: str
    argv: Sequence[str]
    restarts_file: Path
    clock: Callable[[], float] = time.monotonic
    stopping: bool = False
    child: subprocess.Popen[bytes] | None = None

    def stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signum)

    def run(self) -> int:
        restarts, backoff = 0, 0.0
        self.restarts_file.write_text("0", encoding="utf-8")
        while not self.stopping:
            print(start_line(self.name), flush=True)
            started = self.clock()
            self.child = subprocess.Popen(list(self.argv), stdin=subprocess.DEVNULL)
            if self._stop_requested():  # a stop that came while the child was starting found no child to signal
                self.child.send_signal(signal.SIGTERM)
            code = self.child.wait()
            if self._stop_requested():
                return 0
            ran_for = self.clock() - started
            backoff = next_backoff(backoff, ran_for)
            restarts += 1
            self.restarts_file.write_text(str(restarts), encoding="utf-8")
            print(
                f"heron supervise: {self.name} exited with code {code} after {ran_for:.1f}s; "
                f"restart {restarts} in {backoff:.0f}s",
                flush=True,
            )
            deadline = self.clock() + backoff
            while self.clock() < deadline and not self._stop_requested():
                time.sleep(0.1)
            if self._stop_requested():
                return 0
        return 0

    def _stop_requested(self) -> bool:
        return self.stopping  # set by the signal handler while the loop runs


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 4 or args[2] != "--":
        print("usage: python -m heron_stack.supervise NAME RESTARTS_FILE -- ARGV...", file=sys.stderr)
        return 2
    supervisor = Supervisor(args[0], args[3:], Path(args[1]))
    signal.signal(signal.SIGTERM, supervisor.stop)
    signal.signal(signal.SIGINT, supervisor.stop)
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
