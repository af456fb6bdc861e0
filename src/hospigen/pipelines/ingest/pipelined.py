"""``ingest run``'s land and wrap-load, overlapped: landing batch k+1 is written while batch k
is wrapped and loaded.

Creating files is most of the wall time of a run on a local disk, and it happens in the kernel
without the GIL; the landed objects (``PREFIX/``) and the wrapped ones (``PREFIX_wrapped/``)
are in different folders, so the two streams of new files do not queue on one folder's lock.

One writer thread writes the landing's batches in key order; the main thread does the
warehouse work. Each load batch is wrapped ahead (wrapping is Python, the rest waits on the
kernel or runs in DuckDB without the GIL): the first while its landed objects are being
written, each next one on a helper thread while the batch before it is committed. A batch
wrapped ahead is used only if its objects, once written, are still the ones it wrapped. The
ledger keeps its order: a landing batch's ``landed`` rows are
committed before any load batch that holds one of its objects, and the input's digest last,
after every load. A crash anywhere is resumed by the next run as before: objects whose
``landed`` row is committed are not written again, loaded ones are not loaded again.

The load batches and load ids are those of ``land`` followed by ``wrap-load``: the tables are
the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from hospigen.pipelines.ingest.land import Landing, LandResult, write_all
from hospigen.pipelines.ingest.tables import read_ledger
from hospigen.pipelines.ingest.wrap_load import (
    BATCH_SIZE,
    Prepared,
    WrapLoadResult,
    commit_batch,
    is_current,
    load_batch,
    prepare_batch,
    wrap_load,
)
from hospigen.store import ObjectStore
from hospigen.warehouse import Warehouse


def pending_keys(landing: Landing, seen: dict[str, tuple[str, str]]) -> list[str]:
    """Keys wrap-load will load after ``landing``: every object it writes (a write gives a new
    fingerprint), and listed objects whose fingerprint the ``loaded`` ledger ``seen`` lacks."""
    keys = sorted(k for k in {*landing.listed, *landing.todo} if k.endswith(".ndjson"))
    return [
        k
        for k in keys
        if k in landing.todo or seen.get(k, ("", ""))[1] != landing.listed[k].fingerprint
    ]


def land_and_load(
    landing: Landing | LandResult,
    store: ObjectStore,
    prefix: str,
    wh: Warehouse,
    *,
    now: dt.datetime,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> tuple[LandResult, WrapLoadResult]:
    """Finish ``landing`` (from :func:`~.land.start_landing`) and wrap-load, overlapped."""
    if isinstance(landing, LandResult):  # nothing to land: load what the store holds
        loaded = wrap_load(store, prefix, wh, now=now, batch_size=batch_size, progress=progress)
        return landing, loaded
    if not store.fingerprints_on_write:  # overlapping would mean listing after every batch
        landed = write_all(landing, wh)
        kwargs = {"batch_size": batch_size, "progress": progress, "handoff": landed.handoff}
        return landed, wrap_load(store, prefix, wh, now=now, **kwargs)
    seen = read_ledger(wh, "loaded")
    keys = pending_keys(landing, seen)
    chunks = [keys[i : i + batch_size] for i in range(0, len(keys), batch_size)]
    batches = landing.batches()
    which = {k: i for i, batch in enumerate(batches) for k in batch}
    result = WrapLoadResult()
    with ThreadPoolExecutor(1, thread_name_prefix="hospigen-land") as writer:
        futures = [writer.submit(landing.put, batch) for batch in batches]
        try:
            done = 0
            ahead = _Ahead(store, prefix, landing, seen)
            ahead.prepare(chunks[0] if chunks else [])  # while the first objects are written
            for n, chunk in enumerate(chunks):
                need = max((which[k] for k in chunk if k in which), default=-1) + 1
                if done < need:
                    _record(landing, wh, batches[done:need], futures[done:need])
                    done = need
                following = chunks[n + 1] if n + 1 < len(chunks) else []
                _load(ahead, chunk, following, wh, now, result)
                if progress:
                    progress(len(chunk))
            if done < len(batches):
                _record(landing, wh, batches[done:], futures[done:])
        except BaseException:
            for f in futures:  # do not go on writing after a failure
                f.cancel()
            raise
    with wh.transaction():
        return landing.finish(wh), result


def _load(
    ahead: _Ahead,
    chunk: list[str],
    following: list[str],
    wh: Warehouse,
    now: dt.datetime,
    result: WrapLoadResult,
) -> None:
    """Load ``chunk`` (its landing batches recorded) and prepare ``following`` meanwhile."""
    landing, seen = ahead.landing, ahead.seen
    prepared = ahead.take(chunk)
    if prepared is None:  # not what was prepared: load it as wrap-load would
        infos = [landing.listed[k] for k in chunk]
        # a rewrite that kept its fingerprint (a content hash) is not loaded again
        infos = [o for o in infos if seen.get(o.key, ("", ""))[1] != o.fingerprint]
        held = landing.result.objects
        load_batch(
            ahead.store, ahead.prefix, wh, infos, now=now, seen=seen, held=held, result=result
        )
        ahead.prepare(following)
        return
    prints = {k: landing.listed[k].fingerprint for k in chunk}
    # the next batch is wrapped while this one's wrapped objects are being written
    commit_batch(ahead.store, wh, prepared, prints, now, result, lambda: ahead.prepare(following))


class _Ahead:
    """The next load batch, wrapped before its landed objects are written (from the bytes
    being written) and checked against their fingerprints once they are."""

    def __init__(
        self, store: ObjectStore, prefix: str, landing: Landing, seen: dict[str, tuple[str, str]]
    ) -> None:
        self.store, self.prefix, self.landing, self.seen = store, prefix, landing, seen
        self.keys: list[str] = []
        self.prepared: Prepared | None = None
        self.failure: BaseException | None = None

    def prepare(self, keys: list[str]) -> None:
        """Wrap ``keys``; a failure is kept for :meth:`take`, so that it surfaces where loading
        the batch would have failed (after the batch being committed meanwhile)."""
        self.keys, self.prepared = keys, None
        if not keys:
            return
        objects, listed, todo = self.landing.result.objects, self.landing.listed, self.landing.todo
        # objects this landing writes are wrapped from the bytes being written; others are
        # taken from memory only while the store still shows what land saw
        mine = {k: objects[k] for k in keys if k in todo or is_current(objects.get(k), listed[k])}
        try:
            self.prepared = prepare_batch(self.store, self.prefix, keys, mine, self.seen)
        except Exception as exc:  # raised by take(), where loading the batch would fail
            self.failure = exc

    def take(self, keys: list[str]) -> Prepared | None:
        """The batch prepared for ``keys`` if it is what loading them now would wrap: every
        object to be loaded (its fingerprint new to the ledger) and every object from memory
        still the one the store lists; else ``None``. Raises what preparing it raised."""
        if self.failure is not None:
            failure, self.failure = self.failure, None
            raise failure
        prepared, self.prepared = self.prepared, None
        if prepared is None or keys != self.keys:
            return None
        objects, listed = self.landing.result.objects, self.landing.listed
        for k in keys:
            if self.seen.get(k, ("", ""))[1] == listed[k].fingerprint:
                return None
            if k in self.landing.todo and not is_current(objects.get(k), listed[k]):
                return None
        return prepared


def _record(landing: Landing, wh: Warehouse, batches: list[list[str]], written: list) -> None:
    """Wait for landing batches and commit their ``landed`` ledger rows (one transaction)."""
    for future in written:
        landing.learn(future.result())
    with wh.transaction():
        landing.record_landed(wh, [k for batch in batches for k in batch])
