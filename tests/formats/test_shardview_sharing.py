"""Writers of the same shard share one sorted copy of each child table, and only that."""

from __future__ import annotations

import gc
import os
import threading

import pyarrow as pa
import pytest

from hospigen.export import shardview
from hospigen.export.shardview import ShardView
from tests.formats.tables_fixture import clinical_tables


@pytest.fixture()
def tables(world):
    return clinical_tables(world, range(12))


def test_views_of_the_same_tables_share_the_sorted_rows_but_not_derived_columns(tables):
    fhir, hl7 = ShardView(tables), ShardView(tables, ("encounters", "observations"))
    assert fhir.child("observations").table is hl7.child("observations").table
    assert hl7.child("conditions") is None and fhir.child("conditions") is not None
    # renderers attach derived columns to their own Columns: one writer's never shows in another
    hl7.child("encounters").add("_start", ["x"] * hl7.child("encounters").table.num_rows)
    assert "_start" in hl7.child("encounters")
    assert "_start" not in fhir.child("encounters")


def test_the_sorted_rows_are_those_a_view_alone_would_make(tables):
    shared = ShardView(tables).child("observations")
    copied = {name: pa.table(t.columns, schema=t.schema) for name, t in tables.items()}
    alone = ShardView(copied).child("observations")  # new table objects: not shared
    assert alone.table is not shared.table
    assert alone.table.equals(shared.table)
    assert alone.starts.tolist() == shared.starts.tolist()


def test_threads_asking_at_once_get_one_copy(tables):
    views: list[ShardView] = []

    def build():
        views.append(ShardView(tables))

    threads = [threading.Thread(target=build) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(v.child("encounters").table) for v in views}) == 1


@pytest.fixture()
def cache(monkeypatch):
    """A fresh cache for the views of one test (other tests' tables may still be alive)."""
    fresh = shardview._SortedOnce()
    monkeypatch.setattr(shardview, "_SORTED", fresh)
    return fresh


def test_an_entry_goes_with_its_tables(world, cache):
    tables = clinical_tables(world, range(5))
    ShardView(tables)
    assert cache._entries
    del tables
    gc.collect()
    assert not cache._entries


def test_an_orphan_row_fails_every_view_and_is_not_kept(world, cache):
    tables = clinical_tables(world, range(4))
    tables["patients"] = tables["patients"].slice(1)  # the first patient's rows are orphans
    for _ in range(2):  # the second view tries again and fails the same way
        with pytest.raises(ValueError, match="absent from the shard"):
            ShardView(tables)
    assert not cache._entries  # a kept error would hold the tables through its traceback


def test_a_grouping_that_asks_for_itself_fails_instead_of_waiting(cache):
    sources = (pa.table({"a": [1]}), pa.table({"b": [1]}))
    with pytest.raises(RuntimeError, match="asked for itself"):
        cache.get(sources, lambda: cache.get(sources, lambda: ("inner", None)))
    assert cache.get(sources, lambda: ("again", None)) == ("again", None)


def test_a_failure_while_registering_leaves_no_entry_to_wait_on(cache):
    sources = (pa.table({"a": [1]}), ("a tuple", "cannot be weakly referenced"))
    with pytest.raises(TypeError):
        cache.get(sources, lambda: ("x", None))
    assert not cache._entries  # the next caller would otherwise wait for it forever


def test_children_must_be_names_not_one_name(tables):
    with pytest.raises(TypeError, match="collection of table names"):
        ShardView(tables, "encounters")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_worker_does_not_inherit_a_lock_a_writer_thread_holds():
    # generate -w N forks workers while writer threads may be inside the cache
    held, release = threading.Event(), threading.Event()

    def writer():
        with shardview._SORTED._lock:
            held.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    held.wait(10)
    try:
        pid = os.fork()
        if pid == 0:
            os._exit(0 if shardview._SORTED._lock.acquire(timeout=5) else 3)
        _, status = os.waitpid(pid, 0)
    finally:
        release.set()
        thread.join()
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_collection_while_the_cache_is_locked_does_not_deadlock(monkeypatch):
    cache = shardview._SortedOnce()
    child, patients = pa.table({"a": [1]}), pa.table({"b": [1]})
    cache.get((child, patients), lambda: ("old", None))
    cycle: list = [child, patients]
    cycle.append(cycle)  # garbage only a collection frees: its finalizers run inside it
    del child, patients, cycle
    real_future = shardview.Future

    def collecting_future():  # an allocation under the lock may start a collection
        gc.collect()
        return real_future()

    monkeypatch.setattr(shardview, "Future", collecting_future)
    got = []
    fresh = (pa.table({"a": [2]}), pa.table({"b": [2]}))
    worker = threading.Thread(
        target=lambda: got.append(cache.get(fresh, lambda: ("new", None))), daemon=True
    )
    worker.start()
    worker.join(10)
    assert got == [("new", None)]
    assert len(cache._entries) == 1  # the collected pair's entry went, the new one stays
