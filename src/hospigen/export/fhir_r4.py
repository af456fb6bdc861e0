"""FHIR R4 (US Core 6.1.0): one transaction Bundle per patient plus a batch of shared resources.

Files (under ``fhir/``): ``<patient_id>.json`` — a ``transaction`` Bundle whose entries have
``fullUrl = urn:uuid:<id>`` and ``request = PUT <Type>/<id>`` (client-assigned ids, so loading
twice changes nothing), Patient first; ``shared.json`` — a ``batch`` Bundle of Organization,
Location, Practitioner and PractitionerRole resources, to be loaded first.

Option ``fhir.bundle_max_entries=N`` splits a large patient into several bundles
(``<patient_id>.json``, ``<patient_id>.2.json``…); split bundles use ``Type/<id>`` references,
which resolve across bundles because every entry is a PUT with our id.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow as pa

from hospigen.export.buffers import write_file
from hospigen.export.fhir_columns import shard_windows
from hospigen.export.fhir_resources import instant
from hospigen.export.fhir_shared import SharedText, shared_text
from hospigen.export.folder import AtomicFolder
from hospigen.export.options import int_option
from hospigen.export.registry import ExportContext, register
from hospigen.export.shardview import SHARED_TABLES, ShardView
from hospigen.export.textcols import Rendered


def bundle_head(kind: str, last_updated: str) -> bytes:
    """The start of a Bundle of ``kind`` (transaction | batch), up to its first entry."""
    head = {"resourceType": "Bundle", "type": kind, "meta": {"lastUpdated": last_updated}}
    return orjson.dumps(head)[:-1] + b',"entry":['


class FhirBundleWriter:
    """Writes each patient's bundle(s) as shards arrive; shared resources at the end."""

    def __init__(self, out_dir: Path, context: ExportContext) -> None:
        self.cap = int_option(context, "fhir", "bundle_max_entries", 0)
        # split bundles reference each other with Type/<id>; whole bundles with urn:uuid:
        self.layout = "entries" if self.cap <= 0 else "entries_relative"
        self.last_updated = instant(context.generated_at)
        self.folder = AtomicFolder(out_dir / "fhir")
        self.shared: list[SharedText] = []
        self.head = bundle_head("transaction", self.last_updated)

    def write(self, tables: dict[str, pa.Table]) -> None:
        if "patients" in tables:
            for view, layouts in shard_windows(tables, self.last_updated, [self.layout]):
                self.write_window(view, layouts[self.layout])
        if any(name in tables for name in SHARED_TABLES):
            self.add_shared(shared_text(tables, self.last_updated))

    def write_window(self, view: ShardView, entries: list[Rendered]) -> None:
        """Write the bundles of one window's patients from their rendered entries."""
        for i, pid in enumerate(view.patients["patient_id"]):
            self._write_patient(pid, i, entries)

    def add_shared(self, shared: SharedText) -> None:
        """Keep shared resources (Organization, Location…) for ``shared.json``."""
        self.shared.append(shared)

    def _write_patient(self, pid: str, i: int, entries: list[Rendered]) -> None:
        if self.cap <= 0:  # the whole patient is one contiguous run of comma-ended entries
            parts = [block.patient_bytes(i) for block in entries]
            parts = [part for part in parts if len(part)]
            parts[-1] = parts[-1][:-1]  # the last entry's comma (Patient is always there)
            write_file(self.folder.path / f"{pid}.json", [self.head, *parts, b"]}"])
            return
        rows = [row for block in entries for row in block.rows(i)]
        for part, start in enumerate(range(0, len(rows), self.cap), 1):
            name = f"{pid}.json" if part == 1 else f"{pid}.{part}.json"
            body = "".join(rows[start : start + self.cap])[:-1].encode()
            (self.folder.path / name).write_bytes(self.head + body + b"]}")

    def close(self) -> list[Path]:
        body = [Rendered.whole("entry", s.entries()).all_bytes() for s in self.shared if len(s)]
        if body:
            body[-1] = body[-1][:-1]  # the last entry's comma
        head = bundle_head("batch", self.last_updated)
        write_file(self.folder.path / "shared.json", [head, *body, b"]}"])
        self.folder.publish()
        return self.folder.files()


@register
class FhirR4Exporter:
    """FHIR R4 transaction bundles, one per patient (US Core 6.1.0 profiles)."""

    name = "fhir"
    description = "FHIR R4 / US Core 6.1.0 transaction Bundle per patient + shared batch bundle"

    def open(self, out_dir: Path, context: ExportContext) -> FhirBundleWriter:
        out_dir.mkdir(parents=True, exist_ok=True)
        return FhirBundleWriter(out_dir, context)
