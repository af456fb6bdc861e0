"""Small helpers shared by the benchmark scripts: machine facts, timing, result tables."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import metadata


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = {}
    for pkg in ("hospigen", "numpy", "pyarrow", "duckdb", "orjson", "apache-beam"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "-"
    return {
        "cpu": f"{cpu} ({os.cpu_count()} cores)",
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        **versions,
    }


def print_machine() -> None:
    """Print the machine block that heads every benchmark report."""
    for key, value in machine().items():
        print(f"{key:>12}: {value}")
    print()


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """Seconds taken by ``fn()`` and its result."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def peak_rss_mb() -> float:
    """Peak resident memory of this process, MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_python(code: str) -> str:
    """Run ``code`` in a fresh interpreter (for whole-process timing and clean peak memory)."""
    return subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A Markdown table."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), sep, *(line(r) for r in cells)])
