"""Background prevalence of a `general` population beside published CDC/NCHS/SAMHSA figures.

PYTHONPATH=src python bench/prevalence.py [--patients 100000] [--seed 1]

Not a speed benchmark: it generates the population through the public API and prints the
calibration table that docs/prevalence.md shows (the targets live in
tests/cases/cohort/prevalence.csv, which the cohort tests assert against).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import hospigen  # noqa: E402
from benchlib import print_machine, table, timed  # noqa: E402
from hospigen.report.prevalence import compare, read_targets  # noqa: E402

AS_OF = dt.date(2025, 1, 1)
TARGETS = ROOT / "tests" / "cases" / "cohort" / "prevalence.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print_machine()
    with tempfile.TemporaryDirectory() as tmp:
        took, _ = timed(
            lambda: hospigen.write(
                args.patients, tmp, formats=["parquet"], seed=args.seed, as_of=AS_OF, workers=2
            )
        )
        patients = pq.read_table(Path(tmp) / "patients.parquet")
        conditions = pq.read_table(Path(tmp) / "conditions.parquet")
    rows = [
        [
            t.code_prefix,
            f"{t.age_lo:.0f}-{t.age_hi - 1:.0f}" if t.age_hi < 121 else f"{t.age_lo:.0f}+",
            f"{t.published_pct:.1f}",
            f"{ours:.1f}",
            f"{ours - t.published_pct:+.1f}",
            t.source,
        ]
        for t, ours in compare(patients, conditions, read_targets(TARGETS), AS_OF)
    ]
    print(
        f"`general`, {args.patients:,} patients, seed {args.seed}, as of {AS_OF}; "
        f"living patients by age band ({took:.1f} s to generate)\n"
    )
    print(table(["code", "ages", "published %", "ours %", "diff", "source"], rows))


if __name__ == "__main__":
    main()
