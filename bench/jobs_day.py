"""Benchmark: a whole day's jobs over `tracker demo --scale N` (not a test).

Loads the demo with N synthetic issues into the given database, then runs
`tracker jobs run --today DAY` twice (the first run fires everything due; the
second must find nothing new) and prints each step's wall time and peak memory.

    python bench/jobs_day.py --scale 100000 --database-url sqlite:////tmp/bench.db
    python bench/jobs_day.py --scale 100000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

Each step runs as its own process, measured with os.wait4 (peak RSS of that process).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRACKER = str(Path(sys.executable).parent / "tracker")


def step(label: str, args: list[str], env: dict) -> tuple[float, float]:
    """Run one command; return (wall seconds, peak RSS in MB)."""
    start = time.perf_counter()
    proc = subprocess.Popen([TRACKER, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{label} failed:\n{stderr[-2000:]}")
    peak = usage.ru_maxrss / 1024  # kilobytes on Linux
    print(f"{label:<28} {wall:8.1f} s {peak:8.0f} MB", flush=True)
    return wall, peak


def main() -> None:
    """Parse arguments, load, run the day twice and report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--today", default=time.strftime("%Y-%m-%d"))
    parser.add_argument("--skip-load", action="store_true", help="the database already holds the demo")
    opts = parser.parse_args()
    env = dict(os.environ, TRACKER_DATABASE_URL=opts.database_url)
    env.pop("TRACKER_SMTP_URL", None)  # measure the jobs, not a mail server: mail stays in the outbox
    env.setdefault("TRACKER_UPLOAD_DIR", tempfile.mkdtemp(prefix="bench-uploads-"))
    print(f"database {opts.database_url}, scale {opts.scale}, day {opts.today}")
    if not opts.skip_load:
        step(f"demo --scale {opts.scale}", ["demo", "--scale", str(opts.scale)], env)
    step("jobs run (first)", ["jobs", "run", "--today", opts.today], env)
    step("jobs run (same day again)", ["jobs", "run", "--today", opts.today], env)


if __name__ == "__main__":
    main()
