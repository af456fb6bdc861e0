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
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from hospigen.errors import UsageError
from hospigen.pipelines.ingest import faults
from hospigen.pipelines.ingest.fhir import (
    BadLine,
    Head,
    PatientIndex,
    format_instant,
    gc_paused,
    generated_text,
    parse,
    patient_of,
)
from hospigen.pipelines.ingest.tables import read_ledger, record, replace_errors
from hospigen.store import ObjectInfo, ObjectStore, join_key, sha256
from hospigen.warehouse import Warehouse

SHARED_NAME = "shared_resources.ndjson"
PUT_BATCH = 500
READERS = 8


#: per line of an object: (resourceType, id, generation time text)
LineFacts = list[tuple[str, str, str | None]]


@dataclass
class Landed:
    """One object of a landing, as held in memory: its bytes, sha256, what land parsed from
    each line, and the store fingerprint it has now (``""`` until it is known)."""

    data: bytes
    checksum: str
    lines: LineFacts
    fingerprint: str = ""


@dataclass
class Handoff:
    """What ``ingest run`` passes from land to wrap-load so that wrap-load neither lists the
    store nor reads, hashes or parses again what land has just written.

    ``listing`` is the store below the prefix after landing (land's own listing plus its
    writes); ``objects`` are this landing's objects by key. Wrap-load trusts an object's bytes
    only while the listing's fingerprint is the one recorded here.
    """

    listing: list[ObjectInfo]
    objects: dict[str, Landed]


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
    #: the landing's objects by key (by name below the prefix inside :func:`plan`)
    objects: dict[str, Landed] = field(default_factory=dict, repr=False)
    #: for wrap-load in the same run; ``None`` when nothing was landed
    handoff: Handoff | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SourceFile:
    """One input file: its name relative to the source folder, path, size and mtime."""

    name: str
    path: str
    size: int
    mtime_ns: int


def discover(source: Path) -> list[SourceFile]:
    """FHIR input files below ``source`` (``*.ndjson``, ``*.json``), sorted by relative path."""
    if not source.is_dir():
        raise UsageError(f"--source {source} is not a folder")
    found: list[SourceFile] = []
    stack = [(str(source), "")]
    while stack:  # os.scandir: one stat per entry, no Path objects per file
        folder, rel = stack.pop()
        with os.scandir(folder) as entries:
            for e in entries:
                name = f"{rel}{e.name}"
                if e.is_dir():
                    stack.append((e.path, f"{name}/"))
                elif e.name.endswith((".ndjson", ".json")) and e.is_file():
                    st = e.stat()
                    found.append(SourceFile(name, e.path, st.st_size, st.st_mtime_ns))
    return sorted(found, key=lambda f: f.name)


def listing_fingerprint(files: list[SourceFile]) -> str:
    """A digest of every input file's name, size and mtime: cheap, no file is read."""
    h = hashlib.sha256()
    for f in files:
        h.update(f"{f.name}\0{f.size}\0{f.mtime_ns}\n".encode())
    return h.hexdigest()


def source_digest(names: list[str], sums: list[bytes]) -> str:
    """One checksum over every input file's name and sha256 digest (:func:`read_and_sum`):
    unchanged input → same digest."""
    h = hashlib.sha256()
    for name, digest in zip(names, sums, strict=True):
        h.update(name.encode() + b"\0")
        h.update(digest)
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


def _read(data: bytes, name: str, bad: list[BadLine]) -> list[tuple[int, bytes, Head]]:
    """(line number, bytes, resource head) of every usable resource in one input file."""
    if name.endswith(".json"):
        doc, problem = parse(data) if data.strip() else (None, ("empty", "empty file"))
        if problem and problem[0] in ("malformed_json", "not_an_object", "empty"):
            bad.append(BadLine(name, 1, problem[0], problem[1], data.decode("utf-8", "replace")))
            return []
        raw_doc = orjson.loads(data)
        if raw_doc.get("resourceType") != "Bundle":
            if problem and raw_doc.get("resourceType"):  # a bad resource, not a non-FHIR file
                bad.append(BadLine(name, 1, problem[0], problem[1], data.decode()))
            return [] if problem else [(1, orjson.dumps(raw_doc), doc)]  # one line, always
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


def read_all(files: list[SourceFile]) -> list[tuple[str, bytes]]:
    """(name, bytes) of every input file, read concurrently (I/O latency, not CPU, bounds it)."""
    return read_and_sum(files)[0]


def read_and_sum(files: list[SourceFile]) -> tuple[list[tuple[str, bytes]], list[bytes]]:
    """:func:`read_all`, with each file's sha256 digest computed on the reading threads
    (hashlib releases the GIL for all but the smallest buffers)."""

    def some(part: list[SourceFile]) -> list[tuple[bytes, bytes]]:
        out = []
        for f in part:
            fd = os.open(f.path, os.O_RDONLY | os.O_CLOEXEC)
            try:  # os-level: io.open's objects cost more than reading a small file
                chunks = [os.read(fd, f.size + 1)]
                while chunks[-1]:
                    chunks.append(os.read(fd, 1 << 20))
            finally:
                os.close(fd)
            data = b"".join(chunks) if len(chunks) > 2 else chunks[0]
            out.append((data, hashlib.sha256(data).digest()))
        return out

    # one contiguous slice per thread: a future per small file cost more than reading it
    size = max(1, -(-len(files) // READERS))
    with ThreadPoolExecutor(READERS) as pool:
        parts = pool.map(some, [files[i : i + size] for i in range(0, len(files), size)])
        read = [r for part in parts for r in part]
    named = list(zip([f.name for f in files], [data for data, _ in read], strict=True))
    return named, [digest for _, digest in read]


def plan(
    source: Path,
    generated_at: dt.datetime | None = None,
    files: list[SourceFile] | None = None,
    named: list[tuple[str, bytes]] | None = None,
) -> tuple[dict[str, bytes], LandResult]:
    """The objects (relative name → bytes) that landing ``source`` produces, and a summary.

    Every resource is parsed once here; ``LandResult.objects`` keeps, per object name, what
    wrap-load needs from each line so that a whole run never parses a resource twice.
    """
    files = discover(source) if files is None else files
    named = read_all(files) if named is None else named
    with gc_paused():
        return _plan(files, named, generated_at)


def _plan(
    files: list[SourceFile], named: list[tuple[str, bytes]], generated_at: dt.datetime | None
) -> tuple[dict[str, bytes], LandResult]:
    # the loops below run once per resource (70,000 for 10,000 patients): they look each field
    # up once and keep per-group lists, as every lookup and temporary shows in the plan's time
    result = LandResult()
    index = PatientIndex()
    containers: list[tuple[list[tuple[int, bytes, Head]], set[str]]] = []
    for name, data in named:
        items = _read(data, name, result.errors)
        if not items and name.endswith(".json"):
            result.skipped_files.append(name)
        patients: set[str] = set()
        for _, _, res in items:
            if res.resourceType == "Patient":
                index.add(res)
                patients.add(res.id)
        containers.append((items, patients))
    fixed = format_instant(generated_at) if generated_at else None
    #: patient id (None: shared) → (stamped lines, facts per line), the Patient first
    groups: dict[str | None, tuple[list[bytes], LineFacts]] = {}
    count = 0
    for f, (items, patients) in zip(files, containers, strict=True):
        default = next(iter(patients)) if len(patients) == 1 else None
        stamp = fixed  # the input file's mtime, formatted only if a resource needs it
        for _, line, res in items:
            rtype, rid = res.resourceType, res.id
            pid = rid if rtype == "Patient" else patient_of(res, index, default)
            meta = res.meta
            last = meta.get("lastUpdated") if isinstance(meta, dict) else None
            if last and "generated" not in meta:  # already stamped: keep the input bytes
                stamped, generated = line, last if isinstance(last, str) else None
            else:  # the whole resource is needed to write it again
                if stamp is None:
                    stamp = format_instant(dt.datetime.fromtimestamp(f.mtime_ns / 1e9, dt.UTC))
                resource = orjson.loads(line)
                stamped = _stamp(resource, line, stamp)
                generated = generated_text(resource["meta"])
            group = groups.get(pid)
            if group is None:
                group = groups[pid] = ([], [])
            if rtype == "Patient":  # the Patient leads its file
                group[0].insert(0, stamped)
                group[1].insert(0, (rtype, rid, generated))
            else:
                group[0].append(stamped)
                group[1].append((rtype, rid, generated))
            count += 1
    result.resources = count
    objects: dict[str, bytes] = {}
    ids = sorted(pid for pid in groups if pid is not None)
    width = max(4, len(str(len(ids))))
    names = [(f"patient_{n:0{width}d}.ndjson", pid) for n, pid in enumerate(ids, start=1)]
    if None in groups:
        names.append((SHARED_NAME, None))
    for name, pid in names:
        lines, facts = groups[pid]
        lines.append(b"")  # the trailing newline
        data = b"\n".join(lines)
        objects[name] = data
        result.objects[name] = Landed(data, sha256(data), facts)
    result.patients = len(ids)
    return objects, result


@dataclass
class Landing:
    """A landing under way: what to write and how to record it (``land`` runs one to the end;
    ``ingest run`` interleaves its writes with wrap-load, see :mod:`.pipelined`)."""

    store: ObjectStore
    prefix: str
    now: dt.datetime
    files: list[SourceFile]
    source_entry: tuple
    result: LandResult
    #: every object below the prefix by key: the store's listing, then each write's fingerprint
    listed: dict[str, ObjectInfo]
    #: objects to write, by key, in key order
    todo: dict[str, bytes]
    #: sha256 of every object of the landing, by key
    sums: dict[str, str]

    def batches(self) -> list[list[str]]:
        """The keys to write, :data:`PUT_BATCH` per store call."""
        keys = list(self.todo)
        return [keys[i : i + PUT_BATCH] for i in range(0, len(keys), PUT_BATCH)]

    def put(self, keys: list[str]) -> dict[str, str]:
        """Write ``keys``; key → fingerprint (``""`` where the store does not say)."""
        written = self.store.put_many({k: self.todo[k] for k in keys})
        faults.checkpoint("land:after-put")
        return {k: w.fingerprint for k, w in written.items()}

    def learn(self, prints: dict[str, str]) -> None:
        """Take the fingerprints of written objects into ``listed`` (listing if one is unknown)."""
        if all(prints.values()):
            self.listed.update((k, ObjectInfo(k, len(self.todo[k]), f)) for k, f in prints.items())
        else:
            self.listed = {o.key: o for o in self.store.list(self.prefix)}
            prints = {k: o.fingerprint for k, o in self.listed.items() if k in self.result.objects}
        for key, fingerprint in prints.items():
            self.result.objects[key].fingerprint = fingerprint

    def record_landed(self, wh: Warehouse, keys: list[str]) -> None:
        """Ledger rows (stage ``landed``) of written ``keys`` (caller's transaction)."""
        rows = []
        for k in keys:
            info, data = self.listed.get(k), self.todo[k]
            fingerprint = info.fingerprint if info else ""
            rows.append((k, self.sums[k], fingerprint, len(data), data.count(b"\n"), ""))
        record(wh, "landed", rows, self.now)

    def finish(self, wh: Warehouse) -> LandResult:
        """Record the input's errors and digest (caller's transaction); the result, with the
        hand-off for wrap-load."""
        result = self.result
        sources = sorted({b.object for b in result.errors} | {f.name for f in self.files})
        replace_errors(wh, "land", sources, result.errors, self.now)
        faults.checkpoint("land:before-source")
        record(wh, "source", [self.source_entry], self.now)
        result.written = list(self.todo)
        result.handoff = Handoff(sorted(self.listed.values(), key=lambda o: o.key), result.objects)
        return result


def start_landing(
    source: Path,
    store: ObjectStore,
    prefix: str,
    wh: Warehouse,
    *,
    now: dt.datetime,
    generated_at: dt.datetime | None = None,
) -> Landing | LandResult:
    """Read and plan a landing of ``source``; a finished :class:`LandResult` (nothing to do)
    when the input is unchanged since the last landing."""
    prefix = prefix.strip("/")
    files = discover(source)
    fingerprint = listing_fingerprint(files)
    source_key = f"{prefix}/"  # ledger name of this landing
    seen = read_ledger(wh, "source").get(source_key, ("", ""))
    if seen[1] == fingerprint:  # no input file renamed, resized or touched: nothing to read
        return LandResult(source_unchanged=True)
    named, sums = read_and_sum(files)
    digest = source_digest([name for name, _ in named], sums)
    if seen[0] == digest:
        # touched (or regenerated) but byte-identical: nothing was landed, so nothing is
        # recorded — a re-run must change no table, the ledger included
        return LandResult(source_unchanged=True)
    _, result = plan(source, generated_at, files, named)
    result.objects = {join_key(prefix, name): obj for name, obj in result.objects.items()}
    landed = read_ledger(wh, "landed")
    listed = {o.key: o for o in store.list(prefix)}
    todo: dict[str, bytes] = {}
    sums: dict[str, str] = {}
    for key, obj in result.objects.items():
        seen = landed.get(key)
        sums[key] = obj.checksum
        if seen and key in listed and seen == (sums[key], listed[key].fingerprint):
            result.unchanged += 1
            obj.fingerprint = listed[key].fingerprint
        else:
            todo[key] = obj.data
    entry = (source_key, digest, fingerprint, len(files), result.resources, "")
    return Landing(store, prefix, now, files, entry, result, listed, todo, sums)


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
    landing = start_landing(source, store, prefix, wh, now=now, generated_at=generated_at)
    if isinstance(landing, LandResult):
        return landing
    return write_all(landing, wh, progress)


def write_all(
    landing: Landing, wh: Warehouse, progress: Callable[[int], None] | None = None
) -> LandResult:
    """Write every object of ``landing``, then record it all in one transaction."""
    prints: dict[str, str] = {}
    for keys in landing.batches():
        prints.update(landing.put(keys))
        if progress:
            progress(len(keys))
    landing.learn(prints)
    with wh.transaction():
        landing.record_landed(wh, list(landing.todo))
        return landing.finish(wh)
