"""Validate an output folder: find each format's files and run its checkers."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow.csv as pacsv

from hospigen.validate import fhir, hl7, zwr
from hospigen.validate.findings import Finding, Report


def _first(paths: list[Path], sample: int | None) -> list[Path]:
    """With a sample, the first ``sample`` of many per-patient files (the rest are alike)."""
    return paths if sample is None else paths[:sample]


def validate_folder(folder: Path, *, sample: int | None = None, gtm: bool = True) -> Report:
    """Every check that applies to the files under ``folder``.

    ``sample`` limits the lines or messages checked per file, the resources of each type
    checked per bundle, and the number of per-patient files (FHIR bundles, per-patient NDJSON)
    checked per folder.
    """
    report = Report()
    bundles = sorted((folder / "fhir").glob("*.json")) if (folder / "fhir").is_dir() else []
    shared = [p for p in bundles if p.name == "shared.json"]
    for path in shared + _first([p for p in bundles if p.name != "shared.json"], sample):
        fhir.check_bundle(path, report, sample=sample)
    ndjson = sorted(folder.glob("*.ndjson")) + sorted((folder / "bulk").glob("*.ndjson"))
    ndjson += _first(sorted((folder / "patient_ndjson").glob("*.ndjson")), sample)
    for path in ndjson:
        fhir.check_ndjson(path, report, sample=sample)
    for path in sorted((folder / "hl7v2").glob("*")) if (folder / "hl7v2").is_dir() else []:
        hl7.check_hl7(path, report, sample=sample)
    for path in sorted((folder / "vista").glob("*.zwr")) if (folder / "vista").is_dir() else []:
        zwr.check_zwr(path, report)
        if gtm and zwr.gtm_dist() is not None:
            with tempfile.TemporaryDirectory() as work:
                zwr.check_gtm(path, Path(work), report)
    consistency(folder, report)
    return report


def _csv_ids(folder: Path, table: str, column: str) -> set[str] | None:
    path = folder / f"{table}.csv"
    if not path.is_file():
        return None
    return set(pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        include_columns=[column])).column(column).to_pylist())  # fmt: skip


def consistency(folder: Path, report: Report) -> None:
    """Patient and encounter ids of the canonical CSV appear in every exchange format."""
    patients = _csv_ids(folder, "patients", "patient_id")
    if patients is None:
        return
    encounters = _csv_ids(folder, "encounters", "encounter_id") or set()
    # HL7 ADT messages exist per encounter: only patients with an encounter appear there
    seen = _csv_ids(folder, "encounters", "patient_id") or set()
    found = {k: v for k, v in formats_ids(folder).items() if v is not None}
    for fmt, (p_ids, e_ids) in found.items():
        report.checked["consistency formats"] += 1
        want_patients = seen if fmt == "hl7v2" else patients
        for kind, want, got in (("patients", want_patients, p_ids),
                                ("encounters", encounters, e_ids)):  # fmt: skip
            if got is not None and want != got:
                report.add(Finding("consistency", fmt, kind, "id-mismatch",
                                   f"{len(want - got)} missing, {len(got - want)} extra "
                                   f"{kind} ids vs the canonical CSV"))  # fmt: skip


def formats_ids(folder: Path) -> dict[str, tuple[set[str], set[str] | None] | None]:
    """(patient ids, encounter ids) as each exchange format in ``folder`` carries them."""
    import orjson

    out: dict = {}
    bulk = folder / "bulk"
    if (bulk / "Patient.ndjson").is_file():

        def ids(kind: str) -> set[str]:
            path = bulk / f"{kind}.ndjson"
            if not path.is_file():
                return set()
            return {orjson.loads(x)["id"] for x in path.read_bytes().splitlines()}

        out["bulk_ndjson"] = (ids("Patient"), ids("Encounter"))
    adt = next(iter(sorted((folder / "hl7v2").glob("adt.*"))), None) if (
        folder / "hl7v2").is_dir() else None  # fmt: skip
    if adt is not None:
        p_ids, e_ids = set(), set()
        for message in hl7.split_messages(adt.read_bytes()):
            for seg in message.split("\r"):
                fields = seg.split("|")
                if fields[0] == "PID":
                    p_ids.add(fields[3].split("~")[0].split("^")[0])
                elif fields[0] == "PV1" and len(fields) > 19:
                    e_ids.add(fields[19])
        out["hl7v2"] = (p_ids, e_ids)
    return out
