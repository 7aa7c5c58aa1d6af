"""Run benchmark workers as separate processes and release them at the same moment.

A worker process prints ``ready`` once connected, waits for a line on stdin, works, and
prints one JSON line with what it did. Timing starts when they are released, so process
start-up and Django set-up are not counted.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path


def run_released(command: list[str], count: int, *, cwd: Path | None = None) -> tuple[list[dict], float]:
    """Start ``count`` copies of ``command``, release them together; return their JSON lines and the seconds."""
    procs = [
        subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=cwd)
        for _ in range(count)
    ]
    for proc in procs:
        line = proc.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"a worker did not start (it said {line!r})")
    started = time.perf_counter()
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = [json.loads(proc.stdout.readline()) for proc in procs]
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.wait()
    return results, elapsed
