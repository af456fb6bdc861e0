"""Step 1, ``land``: FHIR input → one NDJSON object per patient (+ one for shared resources).

Accepted input (a folder, searched recursively, files in sorted path order):

* per-patient NDJSON (``patient_0001.ndjson`` from ``hospigen generate --formats patient_ndjson``),
* Synthea transaction/collection bundles (``*.json``, ``urn:uuid:`` fullUrls),
* FHIR Bulk Data NDJSON by resource type (``Patient.000.ndjson``…, ``Patient/<id>`` references).

Output under ``PREFIX/``: ``patient_NNNN.ndjson`` numbered 1… in order of sorted patient id, the
Patient first and then its resources in input order; ``shared_resources.ndjson`` for resources of
no patient. Every resource carries ``meta.lastUpdated`` (its generation time): kept when present,
else taken from the seed's non-standard ``meta.generated`` (which is then removed to stay valid
FHIR), else ``generated_at`` if given, else the input file's modification time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from hospigen.errors import UsageError
from hospigen.pipelines.ingest import faults
from hospigen.pipelines.ingest.fhir import (
    BadLine,
    PatientIndex,
    format_instant,
    parse,
    patient_of,
)
from hospigen.pipelines.ingest.tables import read_ledger, record, replace_errors
from hospigen.store import ObjectStore, join_key, sha256
from hospigen.warehouse import Warehouse

SHARED_NAME = "shared_resources.ndjson"
PUT_BATCH = 500


@dataclass
class LandResult:
    """What ``land`` did."""

    patients: int = 0
    resources: int = 0
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    errors: list[BadLine] = field(default_factory=list)
    skipped_files: list[str] = field(default_factory=list)
    source_unchanged: bool = False


@dataclass
class _Item:
    line: bytes  # the resource as it will be written (stamped)
    resource: dict
    container: int


def discover(source: Path) -> list[Path]:
    """FHIR input files below ``source`` (``*.ndjson``, ``*.json``), sorted by relative path."""
    if not source.is_dir():
        raise UsageError(f"--source {source} is not a folder")
    files = [p for p in source.rglob("*") if p.is_file() and p.suffix in (".ndjson", ".json")]
    return sorted(files, key=lambda p: p.relative_to(source).as_posix())


def source_digest(source: Path, files: list[Path]) -> str:
    """One checksum over every input file's name and bytes: unchanged input → same digest."""
    h = hashlib.sha256()
    for p in files:
        h.update(p.relative_to(source).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def _stamp(resource: dict, line: bytes, default: str) -> bytes:
    meta = resource.get("meta")
    if isinstance(meta, dict) and meta.get("lastUpdated") and "generated" not in meta:
        return line  # already stamped: keep the input bytes
    meta = dict(meta) if isinstance(meta, dict) else {}
    generated = meta.pop("generated", None)
    meta["lastUpdated"] = meta.get("lastUpdated") or generated or default
    resource["meta"] = meta
    return orjson.dumps(resource)


def _read(path: Path, name: str, bad: list[BadLine]) -> list[tuple[int, bytes, dict]]:
    """(line number, bytes, resource) of every usable resource in one input file."""
    data = path.read_bytes()
    if path.suffix == ".json":
        doc, problem = parse(data) if data.strip() else (None, ("empty", "empty file"))
        if problem and problem[0] in ("malformed_json", "not_an_object", "empty"):
            bad.append(BadLine(name, 1, problem[0], problem[1], data.decode("utf-8", "replace")))
            return []
        raw_doc = orjson.loads(data)
        if raw_doc.get("resourceType") != "Bundle":
            if problem and raw_doc.get("resourceType"):  # a bad resource, not a non-FHIR file
                bad.append(BadLine(name, 1, problem[0], problem[1], data.decode()))
            return [] if problem else [(1, data.strip(), doc)]
        out = []
        for i, entry in enumerate(raw_doc.get("entry") or (), start=1):
            res = entry.get("resource") if isinstance(entry, dict) else None
            line = orjson.dumps(res)
            got, problem = parse(line)
            if problem:
                bad.append(BadLine(name, i, problem[0], problem[1], line.decode()))
            else:
                out.append((i, line, got))
        return out
    out = []
    for i, line in enumerate(data.split(b"\n"), start=1):
        raw, line = line, line.strip()
        if not line:
            continue
        got, problem = parse(line)
        if problem:
            text = raw.rstrip(b"\r").decode("utf-8", "replace")
            bad.append(BadLine(name, i, problem[0], problem[1], text))
        else:
            out.append((i, line, got))
    return out


def plan(
    source: Path, generated_at: dt.datetime | None = None
) -> tuple[dict[str, bytes], LandResult]:
    """The objects (relative name → bytes) that landing ``source`` produces, and a summary."""
    result = LandResult()
    files = discover(source)
    index = PatientIndex()
    containers: list[list[tuple[int, bytes, dict]]] = []
    stamps: list[str] = []
    for path in files:
        name = path.relative_to(source).as_posix()
        items = _read(path, name, result.errors)
        if not items and path.suffix == ".json":
            result.skipped_files.append(name)
        containers.append(items)
        mtime = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
        stamps.append(format_instant(generated_at or mtime))
        for _, _, res in items:
            if res["resourceType"] == "Patient":
                index.add(res)
    groups: dict[str | None, list[bytes]] = {}
    for items, stamp in zip(containers, stamps, strict=True):
        patients = {r["id"] for _, _, r in items if r["resourceType"] == "Patient"}
        default = next(iter(patients)) if len(patients) == 1 else None
        for _, line, res in items:
            pid = patient_of(res, index, default)
            stamped = _stamp(res, line, stamp)
            bucket = groups.setdefault(pid, [])
            if res["resourceType"] == "Patient":
                bucket.insert(0, stamped)  # the Patient leads its file
            else:
                bucket.append(stamped)
            result.resources += 1
    objects: dict[str, bytes] = {}
    ids = sorted(pid for pid in groups if pid is not None)
    width = max(4, len(str(len(ids))))
    for n, pid in enumerate(ids, start=1):
        objects[f"patient_{n:0{width}d}.ndjson"] = b"\n".join(groups[pid]) + b"\n"
    if None in groups:
        objects[SHARED_NAME] = b"\n".join(groups[None]) + b"\n"
    result.patients = len(ids)
    return objects, result


def land(
    source: Path,
    store: ObjectStore,
    prefix: str,
    wh: Warehouse,
    *,
    now: dt.datetime,
    generated_at: dt.datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> LandResult:
    """Land ``source`` under ``prefix``; objects whose bytes are unchanged are not rewritten.

    Idempotent: the ledger remembers a digest of the whole input, so landing the same input
    again reads it once to checksum it and writes nothing.
    """
    files = discover(source)
    digest = source_digest(source, files)
    source_key = f"{prefix.strip('/')}/"  # ledger name of this landing
    if read_ledger(wh, "source").get(source_key, ("",))[0] == digest:
        return LandResult(source_unchanged=True)
    objects, result = plan(source, generated_at)
    landed = read_ledger(wh, "landed")
    listed = {o.key: o for o in store.list(prefix)}
    todo: dict[str, bytes] = {}
    sums: dict[str, str] = {}
    for name, data in objects.items():
        key = join_key(prefix, name)
        sums[key] = sha256(data)
        seen = landed.get(key)
        if seen and key in listed and seen == (sums[key], listed[key].fingerprint):
            result.unchanged += 1
        else:
            todo[key] = data
    keys = list(todo)
    for start in range(0, len(keys), PUT_BATCH):
        batch = {k: todo[k] for k in keys[start : start + PUT_BATCH]}
        store.put_many(batch)
        faults.checkpoint("land:after-put")
        if progress:
            progress(len(batch))
    result.written = keys
    listed = {o.key: o for o in store.list(prefix)} if keys else listed
    with wh.transaction():
        record(
            wh,
            "landed",
            [
                (
                    k,
                    sums[k],
                    listed[k].fingerprint if k in listed else "",
                    len(todo[k]),
                    todo[k].count(b"\n"),
                    "",
                )
                for k in keys
            ],
            now,
        )
        sources = sorted(
            {b.object for b in result.errors} | {p.relative_to(source).as_posix() for p in files}
        )
        replace_errors(wh, "land", sources, result.errors, now)
        faults.checkpoint("land:before-source")
        record(wh, "source", [(source_key, digest, "", len(files), result.resources, "")], now)
    return result
