"""Rebuild ``src/hospigen/world/data/names.parquet`` from the Census name files beside it.

The runtime reads the parsed names and cumulative probabilities from that file instead of
parsing the three CSV files at every start. Run after changing a name file
(``tests/world/test_population.py`` fails until then):

    python scripts/build_names.py
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from hospigen.world.reference import NAMES_PARQUET, names_tables

OUT = Path(__file__).resolve().parents[1] / "src/hospigen/world/data" / NAMES_PARQUET


def main() -> None:
    """Write the Parquet file: one row group per list."""
    tables = names_tables()
    with pq.ParquetWriter(OUT, tables[0].schema, compression="zstd") as writer:
        for table in tables:
            writer.write_table(table)
    print(f"wrote {sum(t.num_rows for t in tables)} names to {OUT.name}")


if __name__ == "__main__":
    main()
