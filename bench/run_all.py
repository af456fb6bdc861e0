"""Run every benchmark in bench/ and write bench/RESULTS.md (machine, versions, date, figures).

make bench            # or: python bench/run_all.py [name ...]
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

from benchlib import machine

HERE = Path(__file__).resolve().parent
SKIP = {"benchlib", "run_all"}


def scripts(names: list[str]) -> list[Path]:
    """The benchmark scripts to run, by name or all of them."""
    found = sorted(p for p in HERE.glob("*.py") if p.stem not in SKIP)
    return [p for p in found if not names or p.stem in names]


def main(names: list[str]) -> int:
    sections, failed = [], 0
    for script in scripts(names):
        print(f"running {script.name} …", flush=True)
        start = time.perf_counter()
        command = [sys.executable, script.name]
        proc = subprocess.run(command, cwd=HERE, capture_output=True, text=True)
        took = time.perf_counter() - start
        body = proc.stdout.strip()
        if proc.returncode:
            failed += 1
            body += f"\n\nFAILED (exit {proc.returncode}):\n```\n{proc.stderr[-3000:]}\n```"
        sections.append(f"## {script.stem}\n\n(ran in {took:.0f} s)\n\n{body}\n")
    head = [
        "# Benchmark results",
        "",
        f"Written by `make bench` on {dt.date.today().isoformat()}.",
        "",
        *(f"- {k}: {v}" for k, v in machine().items()),
        "",
    ]
    (HERE / "RESULTS.md").write_text("\n".join(head) + "\n" + "\n".join(sections))
    print(f"wrote {HERE / 'RESULTS.md'}; {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
