"""One rendering of the FHIR resources for every FHIR format of a run, on two threads or more.

``fhir``, ``bulk_ndjson`` and ``patient_ndjson`` write the same resources in three layouts.
:func:`group` replaces their writers by one :class:`FhirGroupWriter`: each window of patients
is rendered once (the recipes of :mod:`hospigen.export.fhir_columns`), each layout the writers
need is joined once (the two NDJSON formats share theirs) on a lane thread of its own, which
then hands the blocks to its writers in window order. A single FHIR format is grouped too: its
windows' joins and file writes (~40 % of its CPU) then run beside the next window's rendering
instead of after it, which shortens the longest writer thread of a run. The bytes are those of
each writer alone; a writer still works alone too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pyarrow as pa

from hospigen.export.fhir_columns import shard_recipes
from hospigen.export.fhir_layouts import Recipe
from hospigen.export.fhir_shared import SharedText, shared_text
from hospigen.export.lanes import Lanes
from hospigen.export.registry import TableWriter
from hospigen.export.shardview import SHARED_TABLES, ShardView
from hospigen.export.textcols import Rendered


class WindowWriter(TableWriter, Protocol):
    """A FHIR writer that can take windows rendered by someone else."""

    layout: str  # the fhir_layouts layout it writes
    last_updated: str

    def write_window(self, view: ShardView, blocks: list[Rendered]) -> None: ...

    def add_shared(self, shared: SharedText) -> None: ...


def _renders_windows(writer: object) -> bool:
    return all(hasattr(writer, name) for name in ("layout", "write_window", "add_shared"))


class FhirGroupWriter:
    """Renders each window once and feeds it to several FHIR writers."""

    def __init__(self, writers: list[WindowWriter]) -> None:
        self.writers = writers
        self.layouts = list(dict.fromkeys(w.layout for w in writers))
        self.last_updated = writers[0].last_updated

    def write(self, tables: dict[str, pa.Table]) -> None:
        if "patients" in tables:
            by_layout = {
                name: [w for w in self.writers if w.layout == name] for name in self.layouts
            }
            # one lane per layout joins it and hands it to its writers, while this thread
            # renders the next window's recipes
            with Lanes(len(by_layout), name="hospigen-fhir") as lanes:
                for view, recipes in shard_recipes(tables, self.last_updated):
                    for lane, (name, writers) in enumerate(by_layout.items()):
                        lanes.submit(lane, _write_layout, view, recipes, name, writers)
        if any(name in tables for name in SHARED_TABLES):
            shared = shared_text(tables, self.last_updated)  # rendered once too
            for writer in self.writers:
                writer.add_shared(shared)

    def close(self) -> list[Path]:
        return [path for writer in self.writers for path in writer.close()]


def _write_layout(view: ShardView, recipes: list[Recipe], layout: str, writers: list) -> None:
    blocks = [recipe.rendered(layout) for recipe in recipes]
    for writer in writers:
        writer.write_window(view, blocks)


def group(writers: list[TableWriter]) -> list[TableWriter]:
    """``writers`` with the FHIR ones (one or more) replaced by one :class:`FhirGroupWriter`.

    The group takes the place of the first FHIR writer; the others keep their order.
    """
    fhir = [w for w in writers if _renders_windows(w)]
    if not fhir:
        return writers
    out: list[TableWriter] = []
    for writer in writers:
        if writer is fhir[0]:
            out.append(FhirGroupWriter(fhir))  # type: ignore[arg-type]
        elif writer not in fhir:
            out.append(writer)
    return out
