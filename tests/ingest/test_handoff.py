"""``ingest run`` hands land's bytes, checksums and listing to wrap-load in memory: the tables
it makes are the ones separate ``land``, ``wrap-load`` and ``materialize`` commands make."""

from __future__ import annotations

import datetime as dt
import os
import shutil

import pytest

from hospigen.pipelines.ingest import ensure_tables, land, materialize, wrap_load
from hospigen.pipelines.ingest.land import start_landing
from hospigen.pipelines.ingest.pipelined import land_and_load
from hospigen.store import StoreError, open_store
from hospigen.warehouse import open_warehouse
from tests.conftest import CASES
from tests.ingest.helpers import query, snapshot

NOW = "2030-01-01T00:00:00Z"


def _source(tmp_path):
    src = tmp_path / "src"
    for case in ("per_patient", "bundles", "bad"):
        shutil.copytree(CASES / "ingest" / case, src / case)
    for f in src.rglob("*"):
        os.utime(f, (0, 0))  # the same generation stamps in every copy
    return src


def _foreign(bucket):
    # an object under the prefix that this landing did not write (it has bad lines too):
    # wrap-load reads it from the store while taking land's own objects from memory
    (bucket / "patients").mkdir(parents=True)
    shutil.copy(CASES / "ingest" / "bad" / "patient_0001.ndjson", bucket / "patients" / "zz.ndjson")


def test_run_equals_separate_steps(cli, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    tables = {}
    for out in (one, two):
        _foreign(out / "bucket")
        args = ("--bucket", out / "bucket", "--warehouse", out / "wh.duckdb", "--now", NOW)
        src = _source(out)
        if out is one:
            assert cli("ingest", "run", "--source", src, *args).exit_code == 6  # bad lines
        else:
            assert cli("ingest", "land", "--source", src, *args).exit_code == 6
            assert cli("ingest", "wrap-load", *args).exit_code == 6
            assert cli("ingest", "materialize", *args[2:]).exit_code == 0
        # fingerprints name files of different folders; nothing else may differ
        tables[out] = snapshot(out / "wh.duckdb", volatile=False)
    assert tables[one] == tables[two]
    got = tables[one]
    assert len(got["patients"]) == 5 and got["ingest_errors"]
    assert {r[0] for r in got["ingest_errors"]} == {"land", "wrap"}
    sql = "SELECT count(DISTINCT source_object) FROM synthea_raw.raw_records_stg"
    stg = query(one / "wh.duckdb", sql)
    assert stg[0][0] == 7  # 5 patients, shared resources and the foreign object
    # the ledger's fingerprints are the store's: a second run loads nothing
    wh = one / "wh.duckdb"
    result = cli("ingest", "wrap-load", "--bucket", one / "bucket", "--warehouse", wh)
    assert "0 objects loaded" in result.stdout


def test_object_changed_after_landing_is_loaded_by_the_next_wrap_load(tmp_path):
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    store = open_store(tmp_path / "bucket")
    wh = open_warehouse(str(tmp_path / "wh.duckdb"))
    try:
        ensure_tables(wh)
        landed = land(_source(tmp_path), store, "patients", wh, now=now)
        assert landed.handoff is not None
        wrap_load(store, "patients", wh, now=now, handoff=landed.handoff)
        # rewritten by someone else: its fingerprint no longer matches the ledger
        key = "patients/patient_0001.ndjson"
        body = store.get(key).replace(b'"family":"', b'"family":"X', 1)
        store.put(key, body)
        again = wrap_load(store, "patients", wh, now=now)
        materialize(wh, now=now)
        wh.checkpoint()
    finally:
        wh.close()
    assert again.loaded == [key]
    family = query(tmp_path / "wh.duckdb", "SELECT family_name FROM synthea_raw.patients")
    assert sum(name.startswith("X") for (name,) in family) == 1


def _run_in_batches(tmp_path, out, batch_size, get_many=None):
    """``ingest run``'s land + wrap-load with ``batch_size`` objects per load batch."""
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    _foreign(tmp_path / out / "bucket")
    store = open_store(tmp_path / out / "bucket")
    if get_many is not None:
        store.get_many = get_many(store.get_many)
    wh = open_warehouse(str(tmp_path / out / "wh.duckdb"))
    try:
        ensure_tables(wh)
        landing = start_landing(_source(tmp_path / out), store, "patients", wh, now=now)
        return land_and_load(landing, store, "patients", wh, now=now, batch_size=batch_size)
    finally:
        wh.close()


def test_run_in_small_batches_loads_what_separate_steps_load(tmp_path):
    # batches of 2 objects: each is wrapped while the one before is being written, and the
    # foreign object (read from the store, not from memory) is wrapped ahead too
    _, loaded = _run_in_batches(tmp_path, "run", 2)
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    _foreign(tmp_path / "steps" / "bucket")
    store = open_store(tmp_path / "steps" / "bucket")
    with open_warehouse(str(tmp_path / "steps" / "wh.duckdb")) as wh:
        ensure_tables(wh)
        land(_source(tmp_path / "steps"), store, "patients", wh, now=now)
        wrap_load(store, "patients", wh, now=now, batch_size=2)
    assert len(loaded.loaded) == 7 and loaded.rows and loaded.errors
    run, steps = (snapshot(tmp_path / d / "wh.duckdb", volatile=False) for d in ("run", "steps"))
    assert run == steps
    load_ids = query(
        tmp_path / "run" / "wh.duckdb",
        "SELECT DISTINCT load_id FROM synthea_raw.raw_records_stg ORDER BY 1",
    )
    assert [i for (i,) in load_ids] == [1, 2, 3, 4]


def test_failure_wrapping_ahead_surfaces_after_the_batch_before_is_committed(tmp_path):
    def failing(get_many):
        def get(keys):
            keys = list(keys)
            if "patients/zz.ndjson" in keys:
                raise StoreError("no such object: zz.ndjson")
            return get_many(keys)

        return get

    with pytest.raises(StoreError):
        _run_in_batches(tmp_path, "run", 2, get_many=failing)
    loaded = query(
        tmp_path / "run" / "wh.duckdb",
        "SELECT object FROM synthea_raw.ingest_ledger WHERE stage = 'loaded' ORDER BY 1",
    )
    # the three batches before the foreign object's are loaded, as without wrapping ahead
    assert len(loaded) == 6 and ("patients/zz.ndjson",) not in loaded
