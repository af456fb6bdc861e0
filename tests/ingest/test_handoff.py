"""``ingest run`` hands land's bytes, checksums and listing to wrap-load in memory: the tables
it makes are the ones separate ``land``, ``wrap-load`` and ``materialize`` commands make."""

from __future__ import annotations

import datetime as dt
import os
import shutil

from hospigen.pipelines.ingest import ensure_tables, land, materialize, wrap_load
from hospigen.store import open_store
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
