"""FHIR Bulk Data NDJSON: one ``<Type>.ndjson`` per resource type, manifest and $import params.

Files (under ``bulk/``): ``Patient.ndjson``, ``Encounter.ndjson``, … (one resource per line,
LF, relative ``Type/<id>`` references); ``manifest.json`` — the Bulk Data export manifest
(``transactionTime``, ``request``, ``requiresAccessToken``, ``output[{type,url,count}]``,
``error[]``); ``parameters.json`` — a FHIR ``Parameters`` resource for ``$import``.
Option ``bulk_ndjson.base_url`` prefixes file URLs (default: bare file names, relative to the
manifest).
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pyarrow as pa

from hospigen.export.buffers import write_all
from hospigen.export.fhir_columns import shard_windows
from hospigen.export.fhir_resources import instant
from hospigen.export.fhir_shared import SharedText, shared_text
from hospigen.export.folder import AtomicFolder
from hospigen.export.options import str_option
from hospigen.export.registry import ExportContext, register
from hospigen.export.shardview import SHARED_TABLES, ShardView
from hospigen.export.textcols import Rendered

MIME = "application/fhir+ndjson"


class BulkNdjsonWriter:
    """Appends every resource to its type's file; writes the manifest at close."""

    layout = "ndjson"

    def __init__(self, out_dir: Path, context: ExportContext) -> None:
        self.folder = AtomicFolder(out_dir / "bulk")
        self.last_updated = instant(context.generated_at)
        self.base_url = str_option(context, "bulk_ndjson", "base_url", "").rstrip("/")
        self.seed = context.seed
        self._files: dict[str, int] = {}  # kind → file descriptor
        self.counts: dict[str, int] = {}

    def _handle(self, kind: str) -> int:
        fd = self._files.get(kind)
        if fd is None:
            path = self.folder.path / f"{kind}.ndjson"
            fd = self._files[kind] = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
            self.counts[kind] = 0
        return fd

    def write(self, tables: dict[str, pa.Table]) -> None:
        if "patients" in tables:
            for view, layouts in shard_windows(tables, self.last_updated, [self.layout]):
                self.write_window(view, layouts[self.layout])
        if any(name in tables for name in SHARED_TABLES):
            self.add_shared(shared_text(tables, self.last_updated))

    def add_shared(self, shared: SharedText) -> None:
        """Append shared resources (Organization, Location…) to their types' files."""
        for kind, lines in shared.lines_by_kind().items():
            fd = self._handle(kind)
            write_all(fd, [Rendered.whole(kind, lines).all_bytes()])
            self.counts[kind] += len(lines)

    def write_window(self, view: ShardView, blocks: list[Rendered]) -> None:
        """Append one window's resources, patient by patient, to their types' files."""
        by_kind: dict[str, list[Rendered]] = {}
        for block in blocks:
            if len(block.text):  # no file for a type without resources
                by_kind.setdefault(block.kind, []).append(block)
        for kind, same in by_kind.items():
            fd = self._handle(kind)
            self.counts[kind] += sum(len(b.text) for b in same)
            if len(same) == 1:  # rows are in patient order already: the whole buffer
                write_all(fd, [same[0].all_bytes()])
            else:  # patient by patient, so the line order never depends on the window
                write_all(fd, [b.patient_bytes(i) for i in range(view.count) for b in same])

    def _url(self, kind: str) -> str:
        name = f"{kind}.ndjson"
        return f"{self.base_url}/{name}" if self.base_url else name

    def manifest(self) -> dict:
        """The Bulk Data manifest of the written files (types in name order)."""
        return {
            "transactionTime": self.last_updated,
            "request": f"{self.base_url or '.'}/$export?_outputFormat={MIME}",
            "requiresAccessToken": False,
            "output": [{"type": k, "url": self._url(k), "count": self.counts[k]}
                       for k in sorted(self.counts)],
            "error": [],
        }  # fmt: skip

    def parameters(self) -> dict:
        """A FHIR ``Parameters`` resource for a server's ``$import`` operation."""
        inputs = [{"name": "input", "part": [
            {"name": "type", "valueCode": k},
            {"name": "url", "valueUri": self._url(k)}]} for k in sorted(self.counts)]  # fmt: skip
        return {"resourceType": "Parameters", "parameter": [
            {"name": "inputFormat", "valueCode": MIME},
            {"name": "inputSource", "valueUri": self.base_url or "urn:hospigen:bulk"},
            {"name": "mode", "valueCode": "InitialLoad"}, *inputs]}  # fmt: skip

    def close(self) -> list[Path]:
        for fd in self._files.values():
            os.close(fd)
        opts = orjson.OPT_INDENT_2
        (self.folder.path / "manifest.json").write_bytes(orjson.dumps(self.manifest(), option=opts))
        (self.folder.path / "parameters.json").write_bytes(
            orjson.dumps(self.parameters(), option=opts)
        )
        self.folder.publish()
        return self.folder.files()


@register
class BulkNdjsonExporter:
    """FHIR Bulk Data NDJSON (one file per resource type) with manifest."""

    name = "bulk_ndjson"
    description = "FHIR Bulk Data NDJSON: bulk/<Type>.ndjson + manifest.json + parameters.json"

    def open(self, out_dir: Path, context: ExportContext) -> BulkNdjsonWriter:
        out_dir.mkdir(parents=True, exist_ok=True)
        return BulkNdjsonWriter(out_dir, context)
