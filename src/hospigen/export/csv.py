"""CSV: one ``<table>.csv`` per entity, header row, RFC 4180 quoting, UTF-8."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from hospigen.export.registry import ExportContext, register
from hospigen.export.tabular import atomic_path, for_text


class _CsvWriter:
    # write() takes any of a shard's tables, in any number of calls (see hospigen.feeding)
    streams_tables = True

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self._writers: dict[str, pacsv.CSVWriter] = {}
        self._files: dict[str, pa.NativeFile] = {}
        self._done: list[Path] = []

    def write(self, tables: dict[str, pa.Table]) -> None:
        for name, table in tables.items():
            text = for_text(table)
            if name not in self._writers:
                path = atomic_path(self.out_dir / f"{name}.csv")
                # Arrow's own file, not a Python one: a Python file makes every write take
                # the GIL back, and the writer threads would wait on the simulation's thread
                self._files[name] = pa.OSFile(str(path), "wb")
                self._writers[name] = pacsv.CSVWriter(self._files[name], text.schema)
            self._writers[name].write_table(text)

    def table_done(self, name: str) -> None:
        """No more rows of ``name`` will come: finish its file now."""
        if name in self._writers:
            self._writers.pop(name).close()
            self._files.pop(name).close()
            final = self.out_dir / f"{name}.csv"
            atomic_path(final).replace(final)
            self._done.append(final)

    def close(self) -> list[Path]:
        for name in list(self._writers):
            self.table_done(name)
        return self._done


@register
class CsvExporter:
    """Canonical tables as CSV."""

    name = "csv"
    description = "one CSV file per entity table (canonical columns)"

    def open(self, out_dir: Path, context: ExportContext) -> _CsvWriter:
        out_dir.mkdir(parents=True, exist_ok=True)
        return _CsvWriter(out_dir)
