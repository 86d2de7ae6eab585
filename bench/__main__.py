"""`make bench`: run every bench/bench_*.py, then assemble docs/benchmarks.md from their fragments.

python -m bench                 run all benchmarks
python -m bench agent sdk       run only these (bench_agent.py, bench_sdk.py)
python -m bench --report-only   only rebuild docs/benchmarks.md from existing fragments
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FRAGMENTS = ROOT / "docs" / "benchmarks"
REPORT = ROOT / "docs" / "benchmarks.md"


def available() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in (ROOT / "bench").glob("bench_*.py"))


def assemble() -> None:
    parts = [
        "# Heron benchmarks\n",
        "Produced by `make bench` (`python -m bench`); each section comes from `bench/bench_<topic>.py` and\n"
        "`docs/benchmarks/<topic>.md`. Peers are measured in the same run and compared as ratios, because the\n"
        "machines these run on are shared and noisy. No test asserts a timing; the goals are checked here.\n",
        "Every percentile carries its n. A figure is called a percentile, the median included, only with at least\n"
        '40 trials (p99: 100); with fewer it is the maximum and says so ("max of n"). Peer versions are read from\n'
        "the binaries in the run.\n",
        f"Last assembled {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; each section's first line says when, at which "
        "commit and on which machine it was measured.\n",
    ]
    for fragment in sorted(FRAGMENTS.glob("*.md")):
        # Fragments link images relative to docs/benchmarks/; the report sits one level up.
        text = fragment.read_text(encoding="utf-8").replace("](../img/", "](img/")
        parts.append(text.strip() + "\n")
    REPORT.write_text("\n".join(parts), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "names",
        nargs="*",
        choices=[*available(), []],
        metavar="NAME",
        help=f"benchmarks to run (default: all of {', '.join(available())})",
    )
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    failed = []
    if not args.report_only:
        for name in args.names or available():
            print(f"== bench {name}", flush=True)
            if subprocess.run([sys.executable, "-m", f"bench.bench_{name}"], cwd=ROOT, check=False).returncode:
                failed.append(name)
    assemble()
    print(f"wrote {REPORT.relative_to(ROOT)}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
