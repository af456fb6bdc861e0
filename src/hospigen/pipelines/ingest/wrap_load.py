"""Step 2, ``wrap-load``: landed NDJSON → wrapped NDJSON objects → the staging table.

Each landed line becomes ``{"raw": <resource>, "source_object": KEY, "line_number": N}`` in
``PREFIX_wrapped/<name>``, and one staging row with its provenance. The ledger (stage
``loaded``) remembers each object's checksum, so an object is loaded once; a changed object is
loaded again (the newest load wins at materialisation). Bad lines go to ``ingest_errors``.

Many objects are loaded per statement (one Arrow batch per ``batch_size`` objects), and each
batch commits its staging rows, ledger rows and error rows in one transaction, so a crash
anywhere leaves either the whole batch or none of it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import orjson

from hospigen.errors import UsageError
from hospigen.pipelines.ingest import faults
from hospigen.pipelines.ingest.fhir import (
    BadLine,
    gc_paused,
    generated_text,
    parse,
    parse_instant,
)
from hospigen.pipelines.ingest.land import Handoff, Landed, LineFacts
from hospigen.pipelines.ingest.schema import STAGING
from hospigen.pipelines.ingest.tables import (
    arrow_table,
    qualified,
    read_ledger,
    record,
    replace_errors,
)
from hospigen.store import ObjectInfo, ObjectStore, check_key, join_key, sha256
from hospigen.warehouse import Warehouse

BATCH_SIZE = 2000


@dataclass
class WrapLoadResult:
    """What ``wrap-load`` did."""

    loaded: list[str] = field(default_factory=list)
    unchanged: int = 0
    rows: int = 0
    errors: list[BadLine] = field(default_factory=list)


def wrapped_prefix(prefix: str) -> str:
    """Where wrapped copies go: the sibling ``PREFIX_wrapped``, as in the seed."""
    return f"{prefix.strip('/')}_wrapped"


@dataclass
class _Batch:
    cols: dict[str, list] = field(
        default_factory=lambda: {
            "raw": [],
            "resource_type": [],
            "resource_id": [],
            "generated_ts": [],
            "raw_hash": [],
            "source_object": [],
            "wrapped_object": [],
            "line_number": [],
        }
    )
    wrapped: dict[str, bytes] = field(default_factory=dict)
    bad: list[BadLine] = field(default_factory=list)
    ledger: list[tuple] = field(default_factory=list)
    #: generation-time text → parsed instant (a patient's resources mostly share one)
    instants: dict[str | None, dt.datetime | None] = field(default_factory=dict)

    def instant(self, text: str | None) -> dt.datetime | None:
        """:func:`parse_instant` of ``text``, parsed once per batch."""
        try:
            return self.instants[text]
        except KeyError:
            value = self.instants[text] = parse_instant(text)
            return value


def wrap(
    key: str,
    wrapped_key: str,
    data: bytes,
    batch: _Batch,
    known: LineFacts | None = None,
) -> int:
    """Wrap one landed object into ``batch``; returns its good line count.

    ``known`` is what landing already parsed from these exact bytes (resourceType, id and
    generation time per line): then no line is parsed again.
    """
    c = batch.cols
    src = orjson.dumps(key)
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    if known is not None and len(known) == len(lines):
        # land's own bytes: every line is a good resource, so whole columns are extended
        out = [b'{"raw":%b,"source_object":%b,"line_number":%d}' % (line, src, n)
               for n, line in enumerate(lines, start=1)]  # fmt: skip
        c["raw"] += lines
        c["resource_type"] += [rtype for rtype, _, _ in known]
        c["resource_id"] += [rid for _, rid, _ in known]
        c["generated_ts"] += [batch.instant(generated) for _, _, generated in known]
        c["raw_hash"] += [hashlib.blake2b(line, digest_size=16).hexdigest() for line in lines]
        c["line_number"] += range(1, len(lines) + 1)
    else:  # not the bytes land described (or none): parse them
        out = []
        for n, line in enumerate(lines, start=1):
            raw, line = line, line.strip()
            if not line:
                continue
            res, problem = parse(line)
            if problem:
                text = raw.rstrip(b"\r").decode("utf-8", "replace")  # the line as landed
                batch.bad.append(BadLine(key, n, problem[0], problem[1], text))
                continue
            out.append(b'{"raw":%b,"source_object":%b,"line_number":%d}' % (line, src, n))
            c["raw"].append(line)
            c["resource_type"].append(res.resourceType)
            c["resource_id"].append(res.id)
            c["generated_ts"].append(batch.instant(generated_text(res.meta)))
            c["raw_hash"].append(hashlib.blake2b(line, digest_size=16).hexdigest())
            c["line_number"].append(n)
    c["source_object"] += [key] * len(out)
    c["wrapped_object"] += [wrapped_key] * len(out)
    batch.wrapped[wrapped_key] = b"\n".join(out) + b"\n" if out else b""
    return len(out)


def pending(
    store: ObjectStore,
    prefix: str,
    wh: Warehouse,
    only: str | None = None,
    listing: list[ObjectInfo] | None = None,
) -> tuple[list[ObjectInfo], dict[str, tuple[str, str]]]:
    """Landed objects whose fingerprint the ledger has not seen, and the ledger itself.

    ``listing`` (land's, in the same run) stands for listing the store again."""
    listing = store.list(prefix) if listing is None else listing
    listed = [o for o in listing if o.key.endswith(".ndjson")]
    if only is not None:
        key = join_key(prefix, check_key(only))
        listed = [o for o in listed if o.key == key]
        if not listed:
            raise UsageError(f"--file {only}: no such object {store.uri(key)}")
    seen = read_ledger(wh, "loaded")
    return [o for o in listed if seen.get(o.key, ("", ""))[1] != o.fingerprint], seen


def next_load_id(wh: Warehouse) -> int:
    """One more than the largest load id in staging."""
    if wh.columns(STAGING) is None:
        return 1
    rows = wh.query(f"SELECT COALESCE(MAX(load_id), 0) + 1 FROM {qualified(wh, STAGING)}")
    return int(rows[0][0]) if rows else 1


def wrap_load(
    store: ObjectStore,
    prefix: str,
    wh: Warehouse,
    *,
    now: dt.datetime,
    only: str | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
    handoff: Handoff | None = None,
) -> WrapLoadResult:
    """Wrap and load every landed object under ``prefix`` not loaded yet (or ``only`` one).

    ``handoff`` (``LandResult.handoff`` of the landing just done in this process) spares
    listing the store and reading, hashing and parsing the objects land has just written:
    an object's bytes are taken from it only while its fingerprint is the one land recorded.
    """
    mine = handoff.objects if handoff is not None else {}
    todo, seen = pending(store, prefix, wh, only, handoff.listing if handoff else None)
    result = WrapLoadResult()
    for start in range(0, len(todo), batch_size):
        chunk = todo[start : start + batch_size]
        load_batch(store, prefix, wh, chunk, now=now, seen=seen, held=mine, result=result)
        if progress:
            progress(len(chunk))
    return result


def load_batch(
    store: ObjectStore,
    prefix: str,
    wh: Warehouse,
    chunk: list[ObjectInfo],
    *,
    now: dt.datetime,
    seen: dict[str, tuple[str, str]],
    held: dict[str, Landed],
    result: WrapLoadResult,
) -> None:
    """Wrap, write and load the objects of ``chunk`` in one transaction (into ``result``).

    ``seen`` is the ``loaded`` ledger; ``held`` objects in memory (see :class:`Handoff`)."""
    mine = {o.key: held[o.key] for o in chunk if is_current(held.get(o.key), o)}
    prepared = prepare_batch(store, prefix, [o.key for o in chunk], mine, seen)
    commit_batch(store, wh, prepared, {o.key: o.fingerprint for o in chunk}, now, result)


@dataclass
class Prepared:
    """A load batch wrapped in memory, waiting for its objects' fingerprints to be committed
    (``ingest run`` wraps a batch while the landed objects it reads are still being written)."""

    batch: _Batch
    #: (key, checksum, size, lines, wrapped key) of each object to load, in order
    loads: list[tuple[str, str, int, int, str]]
    #: (key, checksum, size, lines) of objects rewritten with the bytes already loaded
    refresh: list[tuple[str, str, int, int]]


def prepare_batch(
    store: ObjectStore,
    prefix: str,
    keys: list[str],
    mine: dict[str, Landed],
    seen: dict[str, tuple[str, str]],
) -> Prepared:
    """Wrap the objects ``keys`` (those in ``mine`` from memory, the rest read from the store);
    nothing is written and no fingerprint is needed yet."""
    data = store.get_many([k for k in keys if k not in mine])
    batch = _Batch()
    prepared = Prepared(batch, [], [])
    wprefix = wrapped_prefix(prefix)
    cut = len(prefix.strip("/")) + 1
    # paused for the whole batch, not per object: re-enabling the collector after each object
    # let it run a collection that walks everything the run holds (0.37 s per 10,000 patients)
    with gc_paused():
        for key in keys:
            obj = mine.get(key)
            body = obj.data if obj is not None else data[key]
            checksum = obj.checksum if obj is not None else sha256(body)
            if seen.get(key, ("",))[0] == checksum:  # rewritten with the same bytes
                prepared.refresh.append((key, checksum, len(body), body.count(b"\n")))
                continue
            wkey = join_key(wprefix, key[cut:])
            lines = wrap(key, wkey, body, batch, obj.lines if obj is not None else None)
            prepared.loads.append((key, checksum, len(body), lines, wkey))
    return prepared


def commit_batch(
    store: ObjectStore,
    wh: Warehouse,
    prepared: Prepared,
    fingerprints: dict[str, str],
    now: dt.datetime,
    result: WrapLoadResult,
    meanwhile: Callable[[], None] | None = None,
) -> None:
    """Write the wrapped objects of ``prepared`` and load its rows in one transaction, with
    the objects' listing ``fingerprints`` in the ledger; ``meanwhile`` runs on a helper thread
    while this happens (it must not use the warehouse) and has finished when this returns."""
    batch = prepared.batch
    for key, checksum, size, lines, wkey in prepared.loads:
        batch.ledger.append((key, checksum, fingerprints[key], size, lines, wkey))
    refresh = [(k, c, fingerprints[k], n, lines, "") for k, c, n, lines in prepared.refresh]
    result.unchanged += len(refresh)
    _commit(store, wh, batch, refresh, now, result, meanwhile)


def is_current(obj: Landed | None, info: ObjectInfo) -> bool:
    """Whether the in-memory ``obj`` is still what the store holds at ``info``."""
    return obj is not None and bool(obj.fingerprint) and obj.fingerprint == info.fingerprint


def _commit(
    store: ObjectStore,
    wh: Warehouse,
    batch: _Batch,
    refresh: list[tuple],
    now: dt.datetime,
    result: WrapLoadResult,
    meanwhile: Callable[[], None] | None = None,
) -> None:
    # the wrapped objects are written while the warehouse takes the rows (both release the
    # GIL); the transaction commits only once they are all written. ``meanwhile`` (wrapping
    # the next batch: Python) runs on a helper thread the whole time, as the warehouse works
    # in native code without the GIL and file creation waits on the kernel
    with ThreadPoolExecutor(2, thread_name_prefix="hospigen-wrap") as helpers:
        writing = helpers.submit(store.put_many, batch.wrapped)
        ahead = helpers.submit(meanwhile) if meanwhile is not None else None
        objects = [e[0] for e in batch.ledger]
        with wh.transaction():
            if batch.cols["raw"]:
                rows = len(batch.cols["raw"])
                load_id = next_load_id(wh)
                table = arrow_table(
                    STAGING,
                    {
                        **batch.cols,
                        "load_id": [load_id] * rows,
                        "loaded_at": [now] * rows,
                    },
                )
                wh.append(STAGING, table)
                result.rows += rows
            written = writing.result()
            faults.checkpoint("load:after-wrap-put")
            wrapped = [
                (e[5], written[e[5]].checksum, "", len(batch.wrapped[e[5]]), e[4], e[0])
                for e in batch.ledger
            ]
            record(wh, "wrapped", wrapped, now)
            record(wh, "loaded", batch.ledger + refresh, now)
            replace_errors(wh, "wrap", objects, batch.bad, now)
            faults.checkpoint("load:before-commit")
        if ahead is not None:
            ahead.result()
    faults.checkpoint("load:after-commit")
    result.loaded += objects
    result.errors += batch.bad
