"""FHIR Bulk Data NDJSON: one ``<Type>.ndjson`` per resource type, manifest and $import params.

Files (under ``bulk/``): ``Patient.ndjson``, ``Encounter.ndjson``, … (one resource per line,
LF, relative ``Type/<id>`` references); ``manifest.json`` — the Bulk Data export manifest
(``transactionTime``, ``request``, ``requiresAccessToken``, ``output[{type,url,count}]``,
``error[]``); ``parameters.json`` — a FHIR ``Parameters`` resource for ``$import``.
Option ``bulk_ndjson.base_url`` prefixes file URLs (default: bare file names, relative to the
manifest).
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import orjson
import pyarrow as pa

from hospigen.export.fhir_columns import ndjson_lines, shard_windows
from hospigen.export.fhir_resources import instant, shared_resources
from hospigen.export.folder import AtomicFolder
from hospigen.export.options import str_option
from hospigen.export.registry import ExportContext, register
from hospigen.export.shardview import SHARED_TABLES

MIME = "application/fhir+ndjson"


class BulkNdjsonWriter:
    """Appends every resource to its type's file; writes the manifest at close."""

    def __init__(self, out_dir: Path, context: ExportContext) -> None:
        self.folder = AtomicFolder(out_dir / "bulk")
        self.last_updated = instant(context.generated_at)
        self.base_url = str_option(context, "bulk_ndjson", "base_url", "").rstrip("/")
        self.seed = context.seed
        self._files: dict[str, BinaryIO] = {}
        self.counts: dict[str, int] = {}

    def _handle(self, kind: str) -> BinaryIO:
        handle = self._files.get(kind)
        if handle is None:
            handle = self._files[kind] = open(self.folder.path / f"{kind}.ndjson", "wb")  # noqa: SIM115
            self.counts[kind] = 0
        return handle

    def _emit(self, resources: list[dict] | object) -> None:
        for res in resources:
            kind = res["resourceType"]
            self._handle(kind).write(orjson.dumps(res) + b"\n")
            self.counts[kind] += 1

    def write(self, tables: dict[str, pa.Table]) -> None:
        if "patients" in tables:
            for view, blocks in shard_windows(tables, self.last_updated, local_refs=False):
                self._write_window(view.count, [ndjson_lines(b) for b in blocks])
        if any(name in tables for name in SHARED_TABLES):
            self._emit(shared_resources(tables, self.last_updated))

    def _write_window(self, patients: int, blocks: list) -> None:
        # patient by patient, so a file's line order never depends on shard boundaries
        blocks = [b for b in blocks if len(b.text)]  # no file for a type without resources
        parts: dict[str, list] = {}
        for block in blocks:
            parts.setdefault(block.kind, [])
            self._handle(block.kind)
            self.counts[block.kind] += len(block.text)
        for i in range(patients):
            for block in blocks:
                parts[block.kind].append(block.patient_bytes(i))
        for kind, chunks in parts.items():
            self._files[kind].write(b"".join(chunks))

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
        for handle in self._files.values():
            handle.close()
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
