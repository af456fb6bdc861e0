"""Per-patient NDJSON (the layout of seed 000): ``patient_ndjson/patient_0001.ndjson``…

One file per patient, one FHIR resource per line (Patient first, LF endings), references
relative (``Patient/<id>``). The number is the patient key + 1, zero-padded to at least four
digits, so a patient's file name never depends on the shard size or the run size. Every
resource carries ``meta.lastUpdated`` = the run's generation time, which ingestion reads as
the generated timestamp (``meta.generated`` of the seed is not a FHIR element).
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow as pa

from hospigen.export.buffers import write_file
from hospigen.export.fhir_columns import shard_windows
from hospigen.export.fhir_resources import instant
from hospigen.export.fhir_shared import SharedText
from hospigen.export.folder import AtomicFolder
from hospigen.export.registry import ExportContext, register
from hospigen.export.shardview import ShardView
from hospigen.export.textcols import Rendered


def patient_file_name(patient_key: int) -> str:
    """``patient_0001.ndjson`` for key 0: key + 1, at least four digits."""
    return f"patient_{patient_key + 1:04d}.ndjson"


def ndjson(resources: list[dict]) -> bytes:
    """Resources as NDJSON bytes (one compact JSON object per line, LF)."""
    return b"".join(orjson.dumps(r) + b"\n" for r in resources)


class PatientNdjsonWriter:
    """Writes one NDJSON file per patient as shards arrive."""

    layout = "ndjson"

    def __init__(self, out_dir: Path, context: ExportContext) -> None:
        self.folder = AtomicFolder(out_dir / "patient_ndjson")
        self.last_updated = instant(context.generated_at)

    def write(self, tables: dict[str, pa.Table]) -> None:
        if "patients" not in tables:
            return  # shared resources are not per patient
        for view, layouts in shard_windows(tables, self.last_updated, [self.layout]):
            self.write_window(view, layouts[self.layout])

    def write_window(self, view: ShardView, lines: list[Rendered]) -> None:
        """Write one file per patient of the window from the rendered NDJSON lines."""
        for i, key in enumerate(view.patients["patient_key"]):
            path = self.folder.path / patient_file_name(key)
            write_file(path, [block.patient_bytes(i) for block in lines])

    def add_shared(self, shared: SharedText) -> None:
        """Nothing: shared resources are not per patient."""

    def close(self) -> list[Path]:
        self.folder.publish()
        return self.folder.files()


@register
class PatientNdjsonExporter:
    """One FHIR NDJSON file per patient (ingestion input)."""

    name = "patient_ndjson"
    description = "one FHIR NDJSON file per patient: patient_ndjson/patient_0001.ndjson …"

    def open(self, out_dir: Path, context: ExportContext) -> PatientNdjsonWriter:
        out_dir.mkdir(parents=True, exist_ok=True)
        return PatientNdjsonWriter(out_dir, context)
