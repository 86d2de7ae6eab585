"""What every benchmark fragment shares: the stamp line, honest percentiles, peer versions read from binaries.

- `stamp()` is the first line of every fragment section: date (UTC), git commit, machine.
- `Pct` / `pct()` format a percentile with its n. Any percentile, the median included, is only called
  that with at least 40 trials (a p99 with at least 100); with fewer the report says "max of n" and gives
  the maximum.
- `binary_version()` / `collector_version()` run the binaries with `--version` in the same run, so no
  version is ever typed into a report.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIN_TAIL_TRIALS = 40
OUTPUTS = ("docs/benchmarks", "docs/benchmarks.md", "docs/img")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def _ram_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return math.nan


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            # Benchmark outputs written earlier in the same `make bench` do not make the code "changed".
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", *(f":!{p}" for p in OUTPUTS)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{out}+local changes" if dirty else out


def machine() -> str:
    """CPU count and model, RAM."""
    return f"{os.cpu_count() or 0} CPUs ({_cpu_model()}), {_ram_gib():.1f} GiB RAM"


def stamp() -> str:
    """The line every fragment section starts with: when, which commit, which machine."""
    return f"*Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit `{_commit()}`, on {machine()}.*"


def required_trials(q: float) -> int:
    """Trials needed before a q-th percentile (q in 0..100) is reported under that name."""
    if q >= 100:
        return 1
    # Nearest rank: below 100 / (100 - q) values the q-th percentile is the maximum itself; and under 40
    # trials no percentile, the median neither, says much about the next run.
    return max(MIN_TAIL_TRIALS, math.ceil(100 / (100 - q) - 1e-9))


def nearest_rank(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Pct:
    """A percentile as reported: `value` is the q-th percentile, or the maximum when n is too small."""

    q: float
    n: int
    value: float

    @property
    def is_max(self) -> bool:
        return self.n < required_trials(self.q)

    @property
    def name(self) -> str:
        """ "p95" or "max of 15" (what the figure really is)."""
        return f"max of {self.n}" if self.is_max else f"p{self.q:g}"

    def format(self, spec: str = ".2f", unit: str = "") -> str:
        """ "3.21 s (p95, n = 40)" or "3.69 s (max of 15)"."""
        if self.n == 0:
            return "— (n = 0)"
        what = self.name if self.is_max else f"{self.name}, n = {self.n}"
        return f"{self.value:{spec}}{unit} ({what})"


def pct(values: Sequence[float], q: float) -> Pct:
    """The q-th percentile of `values` (nearest rank), or their maximum when there are too few for it."""
    finite = [v for v in values if not math.isnan(v)]
    n = len(finite)
    if n and n < required_trials(q):
        return Pct(q, n, max(finite))
    return Pct(q, n, nearest_rank(finite, q))


_VERSION = re.compile(r"v?=?(\d+\.\d+(?:\.\d+)?)")


def version_of(argv: Sequence[str]) -> str:
    """The first version number in the output of `argv` (normally `[binary, "--version"]`), or "unknown"."""
    try:
        out = subprocess.run(list(argv), capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    text = (out.stdout + "\n" + out.stderr).strip()
    first = next((line for line in text.splitlines() if _VERSION.search(line)), "")
    match = _VERSION.search(first)
    return match.group(1) if match else "unknown"


def binary_version(name: str, flag: str = "--version") -> str:
    """`name`'s version, as the binary found on PATH reports it now."""
    path = shutil.which(name)
    return version_of([path, flag]) if path else "not installed"


def collector_path() -> Path | None:
    """The collector binary `heron up` runs (cached under ~/.cache/heron), if built."""
    from heron_stack import config as stack_config
    from heron_stack.components import CollectorComponent

    env = {k: v for k, v in os.environ.items() if not k.startswith(("HERON_", "OTEL_"))}
    config = stack_config.resolve(env)
    return CollectorComponent(config.project_dir, config.cache_dir).locate().path


def collector_version() -> str:
    path = collector_path()
    return version_of([str(path), "--version"]) if path else "not built"


def peer_versions(*names: str) -> dict[str, str]:
    """Versions of the named peers, read from their binaries: prometheus, alertmanager, node_exporter,
    redis, collector."""
    binaries = {
        "prometheus": "prometheus",
        "alertmanager": "prometheus-alertmanager",
        "node_exporter": "prometheus-node-exporter",
        "redis": "redis-server",
        "promtool": "promtool",
    }
    return {name: collector_version() if name == "collector" else binary_version(binaries[name]) for name in names}


def computed_pct(q: float, n: int, value: float, spec: str = ".2f", unit: str = "") -> str:
    """Format a percentile computed elsewhere (e.g. by loadgen) over `n` values, by the same rule as `pct`:
    with too few values for its name, the figure is withheld rather than shown as what it is not."""
    if n < required_trials(q):
        return f"— (n = {n}, too few for p{q:g})"
    return f"{value:{spec}}{unit} (p{q:g}, n = {n})"
