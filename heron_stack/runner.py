"""Start, stop and inspect local service processes, with pid files, logs and readiness deadlines.

`up` is idempotent (a service already running from the same state directory is left alone) and
`down` stops exactly the processes `up` started (their pid files, checked against their command).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from heron_stack.exceptions import NotReady, PortInUse
from heron_stack.supervise import start_line

ReadyCheck = Callable[[], str | None]


def redis_ready(host: str, port: int) -> ReadyCheck:
    """Ready when the server answers PING (a redis-server and a sentinel alike)."""

    def check() -> str | None:
        try:
            with socket.create_connection((host, port), timeout=2.0) as sock:
                sock.sendall(b"PING\r\n")
                reply = sock.recv(64)
        except OSError as exc:
            return f"redis {host}:{port}: {exc}"
        return None if reply.startswith(b"+PONG") else f"redis {host}:{port} answered {reply!r}"

    return check


"""Returns None when the service is ready, otherwise a short description of what is still missing."""


@dataclass(frozen=True)
class Port:
    host: str
    port: int
    env_var: str


@dataclass(frozen=True)
class ServiceSpec:
    """How to run one service as a local process."""

    name: str
    argv: Sequence[str]
    ready: ReadyCheck
    urls: Mapping[str, str] = field(default_factory=dict)
    ports: Sequence[Port] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    prepare: Callable[[], None] | None = None


@dataclass(frozen=True)
class ServiceState:
    name: str
    pid: int | None
    running: bool
    log: Path
    restarts: int = 0


def port_is_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _alive(pid: int, argv0: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    cmd = _cmdline(pid)
    if not cmd:  # a zombie, or /proc not readable: trust the signal check
        return Path(f"/proc/{pid}").exists() and not _is_zombie(pid)
    # Some servers rewrite their title (redis-server shows "redis-server 127.0.0.1:6379").
    return Path(cmd[0].split(" ")[0]).name == Path(argv0).name


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


class Runner:
    """Runs services as detached process groups under one state directory."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.run_dir = state_dir / "run"
        self.log_dir = state_dir / "logs"
        self._children: dict[str, subprocess.Popen[bytes]] = {}

    def _pidfile(self, name: str) -> Path:
        return self.run_dir / f"{name}.json"

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def _record(self, name: str) -> dict[str, object] | None:
        try:
            data: dict[str, object] = json.loads(self._pidfile(name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data

    def _restarts_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.restarts"

    def restarts(self, name: str) -> int:
        """How often the supervisor restarted `name` since `heron up` started it."""
        try:
            return int(self._restarts_file(name).read_text(encoding="utf-8").strip() or 0)
        except (OSError, ValueError):
            return 0

    def state(self, name: str) -> ServiceState:
        record = self._record(name)
        pid = record.get("pid") if record else None
        running = isinstance(pid, int) and record is not None and _alive(pid, str(record.get("argv0", "")))
        restarts = self.restarts(name) if running else 0
        return ServiceState(name, pid if isinstance(pid, int) else None, running, self.log_path(name), restarts)

    def start(self, spec: ServiceSpec, timeout: float) -> bool:
        """Start `spec` unless it already runs; wait until ready. Returns True if it was started now."""
        if self.state(spec.name).running:
            self._wait_ready(spec, timeout, None)
            return False
        for port in spec.ports:
            if not port_is_free(port.host, port.port):
                raise PortInUse(spec.name, port.host, port.port, port.env_var)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if spec.prepare is not None:
            spec.prepare()
        # A fresh count, and this run's start line written before anything can be read: a previous run's
        # restarts or "ready" line never count for this one.
        self._restarts_file(spec.name).write_text("0", encoding="utf-8")
        with self.log_path(spec.name).open("a", encoding="utf-8") as marker:
            marker.write(start_line(spec.name) + "\n")
        log = self.log_path(spec.name).open("ab")
        # Under the supervisor, a service that dies is started again (with backoff) until `heron down`.
        argv = [sys.executable, "-m", "heron_stack.supervise", spec.name, str(self._restarts_file(spec.name))]
        argv += ["--", *spec.argv]
        try:
            proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **spec.env},
                cwd=self.state_dir,
                start_new_session=True,
            )
        finally:
            log.close()
        self._children[spec.name] = proc
        record = {"pid": proc.pid, "argv0": argv[0], "argv": list(spec.argv), "started": time.time()}
        self._pidfile(spec.name).write_text(json.dumps(record), encoding="utf-8")
        self._wait_ready(spec, timeout, proc)
        return True

    def _wait_ready(self, spec: ServiceSpec, timeout: float, proc: subprocess.Popen[bytes] | None) -> None:
        deadline = time.monotonic() + timeout
        detail: str | None = "not checked yet"
        while time.monotonic() < deadline:
            if proc is not None and (proc.poll() is not None or self.restarts(spec.name) > 0):
                # It died before it was ready: a bad config or a missing file, not worth restarting.
                tail = self.tail(spec.name)
                self.stop(spec.name, timeout=5.0)
                raise NotReady(spec.name, timeout, str(self.log_path(spec.name)), f"exited at start: {tail}")
            try:
                detail = spec.ready()
            except OSError as exc:
                detail = str(exc)
            if detail is None:
                return
            time.sleep(0.1)
        raise NotReady(spec.name, timeout, str(self.log_path(spec.name)), detail or "no detail")

    def tail(self, name: str, lines: int = 5) -> str:
        try:
            text = self.log_path(name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])

    def stop(self, name: str, timeout: float = 15.0) -> bool:
        """Stop one service started from this state directory. Returns True if it was running."""
        state = self.state(name)
        if not state.running or state.pid is None:
            self._forget(name)
            return False
        # SIGTERM to the supervisor alone: it passes one on to the service. Some services (VictoriaLogs) take
        # a second SIGTERM as "exit now", which would cut their shutdown short and lose what they hold in memory.
        # The rest of the process group hears from us only once the service is gone.
        with contextlib.suppress(ProcessLookupError):
            os.kill(state.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._still_running(name, state.pid):
            time.sleep(0.05)
        if self._still_running(name, state.pid):
            # Killed, not stopped: whatever the service kept only in memory is gone.
            self._note(name, f"{name} did not stop within {timeout:.0f}s of SIGTERM; sent SIGKILL")
            self._signal(state.pid, signal.SIGKILL)
            while self._still_running(name, state.pid) and time.monotonic() < deadline + 5:
                time.sleep(0.05)
        else:
            # Anything the service left behind in its group (the supervisor's pid is the group's id).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(state.pid, signal.SIGTERM)
        self._forget(name)
        return True

    def _note(self, name: str, text: str) -> None:
        """A line from Heron itself in the service's log, where its owner looks."""
        with contextlib.suppress(OSError), self.log_path(name).open("a", encoding="utf-8") as log:
            log.write(f"heron: {text}\n")

    def _still_running(self, name: str, pid: int) -> bool:
        child = self._children.get(name)
        if child is not None:
            return child.poll() is None
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return not _is_zombie(pid)

    @staticmethod
    def _signal(pid: int, sig: signal.Signals) -> None:
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def _forget(self, name: str) -> None:
        self._children.pop(name, None)
        with contextlib.suppress(FileNotFoundError):
            self._pidfile(name).unlink()

    def known(self) -> list[str]:
        if not self.run_dir.exists():
            return []
        return sorted(p.stem for p in self.run_dir.glob("*.json"))

    def stop_all(self, order: Iterable[str]) -> list[str]:
        """Stop the named services (in the given order), then any other recorded one."""
        names = list(order) + [n for n in self.known() if n not in order]
        return [name for name in names if self.stop(name)]
