"""Benchmark the newcomer's first `make up`: a clean clone, no virtualenv, empty Go, pip and Heron caches.

Run: .venv/bin/python -m bench.bench_coldstart
Clones the current commit into a temporary directory and runs `make up` there with XDG_CACHE_HOME
(pip's cache and Heron's built components), GOPATH, GOMODCACHE and GOCACHE all pointing at empty
directories, on free ports. Every output line is timestamped, which splits the run into its phases:
Python dependencies, the component builds (collector, VictoriaLogs), and starting the services. Then
`make up` again on the warm caches (a restart after `make down`). Debian packages are already present
on this machine, so apt's share of a truly fresh machine is not in the figure.
Writes docs/benchmarks/coldstart.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench._stack import clean_env, free_port, machine
from heron_stack import environment_variables as ev

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks" / "coldstart.md"
GOAL_S = 6 * 60.0
# The first line of each phase in `make up`'s output.
PHASES = (
    ("Python dependencies (venv, pip)", ""),
    ("component builds (collector, VictoriaLogs)", "heron components --ensure"),
    ("starting the services", "heron up"),
)


@dataclass
class Run:
    seconds: float = 0.0
    returncode: int = 0
    lines: list[tuple[float, str]] = field(default_factory=list)

    def phase_times(self) -> list[tuple[str, float]]:
        starts = [0.0]
        for _name, marker in PHASES[1:]:
            found = next((t for t, line in self.lines if marker and line.rstrip().endswith(marker)), None)
            starts.append(found if found is not None else starts[-1])
        ends = [*starts[1:], self.seconds]
        return [(name, end - start) for (name, _), start, end in zip(PHASES, starts, ends, strict=True)]


def make(target: str, cwd: Path, env: dict[str, str]) -> Run:
    run = Run()
    began = time.monotonic()
    proc = subprocess.Popen(
        ["make", target], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        run.lines.append((time.monotonic() - began, line))
    run.returncode = proc.wait()
    run.seconds = time.monotonic() - began
    return run


def fresh_env(home: Path) -> dict[str, str]:
    env = clean_env()
    for name in ("XDG_CACHE_HOME", "GOPATH", "GOCACHE", "GOMODCACHE"):
        env.pop(name, None)
    env.update(
        {
            "XDG_CACHE_HOME": str(home / "cache"),
            "GOPATH": str(home / "go"),
            "GOMODCACHE": str(home / "go" / "pkg" / "mod"),
            "GOCACHE": str(home / "gocache"),
            "PIP_CACHE_DIR": str(home / "cache" / "pip"),
        }
    )
    env.update({variable: str(free_port()) for variable, _default in ev.PORT_VARIABLES.values()})
    return env


def commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="heron-coldstart-"))
    clone = home / "heron"
    try:
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        env = fresh_env(home)
        print("cold make up ...", flush=True)
        load_before = os.getloadavg()[0]
        cold = make("up", clone, env)
        load_after = os.getloadavg()[0]
        make("down", clone, env)
        print(f"cold: {cold.seconds:.0f} s (exit {cold.returncode}); warm make up ...", flush=True)
        warm = make("up", clone, env)
        make("down", clone, env)
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(home)], check=False)  # Go's module cache is read-only
        shutil.rmtree(home, ignore_errors=True)
    if cold.returncode or warm.returncode:
        tail = "".join(line for _t, line in (cold if cold.returncode else warm).lines[-30:])
        print(f"make up failed:\n{tail}", file=sys.stderr)
        return 1
    rows = "\n".join(f"| {name} | {seconds:.0f} s |" for name, seconds in cold.phase_times())
    verdict = "meets" if cold.seconds <= GOAL_S else "misses"
    total = f"**{cold.seconds:.0f} s** ({cold.seconds / 60:.1f} min; goal ≤ {GOAL_S / 60:.0f} min: {verdict} it)"
    DOC.write_text(
        f"""## First `make up` on a clean clone

{time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}, commit `{commit()}`, {machine()}.
`bench/bench_coldstart.py`: a clean clone with no virtualenv and empty pip, Go and Heron caches
(Debian packages were already installed, so apt's share is not included). One run each; these
are single measurements, not percentiles. The machine's 1-minute load average was {load_before:.1f} when
the cold run started and {load_after:.1f} when it ended (2 CPUs: above 2, other work was competing).

| | seconds |
|---|---|
| **cold `make up`, total** | {total} |
{rows}
| warm `make up` after `make down` (everything cached) | {warm.seconds:.0f} s |
""",
        encoding="utf-8",
    )
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
