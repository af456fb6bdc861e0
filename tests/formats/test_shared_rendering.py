"""The FHIR formats rendered once and shared give the bytes of each writer alone; the bulk
helpers behind it (base64, uuid5 text, writev, lanes) equal their one-at-a-time versions."""

from __future__ import annotations

import base64
import datetime as dt
import threading
import uuid

import numpy as np
import pyarrow as pa
import pytest

from hospigen import export
from hospigen.export import fhir_columns
from hospigen.export.buffers import write_all, write_file
from hospigen.export.fhir_group import FhirGroupWriter, group
from hospigen.export.fhir_resources import DERIVED_NS
from hospigen.export.lanes import Lanes
from hospigen.export.textcols import JSON_UNSAFE, base64_text, contains_any, uuid5_text
from hospigen.generation import (
    build_shard,
    facility_ids_used,
    generated_at,
    make_plan,
    shared_tables,
)
from hospigen.world import World
from tests.conftest import tree_digest

FHIR = ["fhir", "bulk_ndjson", "patient_ndjson"]
RUN = ("generate", "-n", 7, "--seed", 5, "--as-of", "2025-01-01", "--shard-size", 4,
       "--scenario", "oncology_survivorship", "--output-format", "csv")  # fmt: skip


def _fhir_files(folder) -> dict[str, str]:
    """Digests of the files in sub-folders (the FHIR formats; CSV and summary.json are not)."""
    return {path: digest for path, digest in tree_digest(folder).items() if "/" in path}


@pytest.mark.parametrize("options", [(), ("--format-option", "fhir.bundle_max_entries=25")])
def test_formats_rendered_together_equal_each_format_in_a_run_of_its_own(cli, tmp_path, options):
    assert cli(*RUN, "--formats", ",".join(FHIR), *options, "-o", tmp_path / "all").exit_code == 0
    alone = {}
    for fmt in FHIR:
        assert cli(*RUN, "--formats", fmt, *options, "-o", tmp_path / fmt).exit_code == 0
        alone.update(_fhir_files(tmp_path / fmt))
    together = _fhir_files(tmp_path / "all")
    assert {p.split("/")[0] for p in together} == {"fhir", "bulk", "patient_ndjson"}
    assert together == alone
    # the summary lists the files in the same order as without sharing
    summary = (tmp_path / "all" / "summary.json").read_text()
    assert summary.index('"fhir/') < summary.index('"bulk/') < summary.index('"patient_ndjson/')


def test_group_replaces_the_fhir_writers_in_place(tmp_path):
    ctx = export.ExportContext(1, dt.date(2025, 1, 1), generated_at(dt.date(2025, 1, 1)))
    csv, fhir, hl7, bulk = (export.get(n).open(tmp_path, ctx)
                            for n in ("csv", "fhir", "hl7v2", "bulk_ndjson"))  # fmt: skip
    grouped = group([csv, fhir, hl7, bulk])
    assert grouped[0] is csv and grouped[2] is hl7 and len(grouped) == 3
    assert isinstance(grouped[1], FhirGroupWriter) and grouped[1].writers == [fhir, bulk]
    assert grouped[1].layouts == ["entries", "ndjson"]
    # a single FHIR format is grouped too (it renders on one thread and writes on another)
    alone = group([csv, fhir])
    assert alone[0] is csv and isinstance(alone[1], FhirGroupWriter)
    assert alone[1].writers == [fhir]
    assert group([csv, hl7]) == [csv, hl7]


@pytest.fixture(scope="module")
def seed_plan_shards() -> tuple[list[dict], dict]:
    """Two shards of the seed plan's tables (12 patients) and the run's shared tables."""
    world = World(42, dt.date(2025, 1, 1))
    plan = make_plan("oncology_survivorship", ["ckd_dialysis_planning"])
    shards = [build_shard(world, np.arange(start, start + 6), plan) for start in (0, 6)]
    used = pa.chunked_array([facility_ids_used(t) for t in shards], pa.string())
    return shards, shared_tables(world, used)


@pytest.mark.parametrize("fmt", FHIR)
@pytest.mark.parametrize("cap", [0, 9])
@pytest.mark.parametrize("window", [250, 4])
def test_a_grouped_writer_writes_the_bytes_of_the_writer_alone(
    tmp_path, monkeypatch, seed_plan_shards, fmt, cap, window
):
    """What ``generate`` does (the writer inside a group) equals the writer's own ``write``;
    windows of 4 patients give each shard's lane several windows to keep in order."""
    for renderer in (fhir_columns.shard_recipes, fhir_columns.shard_windows):
        monkeypatch.setitem(renderer.__kwdefaults__, "size", window)
    shards, shared = seed_plan_shards
    as_of = dt.date(2025, 1, 1)
    ctx = export.ExportContext(42, as_of, generated_at(as_of), {"fhir.bundle_max_entries": cap})
    digests = []
    for name, wrap in (("alone", list), ("grouped", group)):
        writer = export.get(fmt).open(tmp_path / name, ctx)
        (feed,) = wrap([writer])
        assert isinstance(feed, FhirGroupWriter) == (name == "grouped")
        for tables in [*shards, shared]:
            feed.write(tables)
        assert writer.close()
        digests.append(tree_digest(tmp_path / name))
    assert len(digests[0]) >= 12  # a file per patient at least, or one per resource type
    assert digests[0] == digests[1]


TEXTS = ["", "a", "ab", "abc", "abcd", 'café-au-lait\n"x"\\', None, "ü" * 7, "😀" * 5, "\x00z"]


@pytest.mark.parametrize(
    "column",
    [
        pa.array(TEXTS),
        pa.array(TEXTS).slice(3, 5),
        pa.chunked_array([pa.array(TEXTS[:4]), pa.array(TEXTS[4:])]),
    ],
)
def test_base64_text_equals_b64encode_per_value(column):
    expected = [None if v is None else base64.b64encode(v.encode()).decode()
                for v in column.to_pylist()]  # fmt: skip
    assert base64_text(column).to_pylist() == expected


def test_uuid5_text_equals_uuid5_per_name():
    names = pa.array([t or "" for t in TEXTS] + [f"report|{i}" for i in range(500)])
    assert uuid5_text(DERIVED_NS, names).to_pylist() == [
        str(uuid.uuid5(DERIVED_NS, n)) for n in names.to_pylist()
    ]
    assert uuid5_text(DERIVED_NS, pa.array([], pa.string())).to_pylist() == []


@pytest.mark.parametrize("chars", [JSON_UNSAFE, b"\\|^&~\r\n", b"z"])
@pytest.mark.parametrize("start, stop", [(0, 10), (0, 5), (5, 6), (6, 10), (7, 7), (9, 10)])
@pytest.mark.parametrize("large", [False, True])
def test_contains_any_equals_a_search_of_each_value(chars, start, stop, large):
    column = pa.array(TEXTS, pa.large_string() if large else pa.string()).slice(start, stop - start)
    expected = any(c in (v or "") for v in column.to_pylist() for c in chars.decode())
    assert contains_any(column, chars) is expected
    chunked = pa.chunked_array([column.slice(0, 1), column.slice(1)], column.type)
    assert contains_any(chunked, chars) is expected


def test_contains_any_says_check_each_value_for_layouts_it_cannot_search():
    plain = pa.array(["abc", "def"])
    assert contains_any(plain, b"z") is False
    assert contains_any(plain.dictionary_encode(), b"z") is True
    assert contains_any(plain.cast(pa.string_view()), b"z") is True


def test_write_all_writes_more_buffers_than_one_writev_takes(tmp_path):
    buffers = [str(i).encode() * (i % 5) for i in range(5000)]
    buffers[7] = memoryview(b"0123456789")[2:6]
    write_file(tmp_path / "f", buffers)
    assert (tmp_path / "f").read_bytes() == b"".join(bytes(b) for b in buffers)
    with open(tmp_path / "f", "ab") as handle:
        write_all(handle.fileno(), [b"", b"end"])
    assert (tmp_path / "f").read_bytes().endswith(b"end")


def test_lanes_keep_each_lanes_order_and_report_the_first_error():
    seen: dict[int, list[int]] = {0: [], 1: []}
    threads = set()

    def task(lane, n):
        seen[lane].append(n)
        threads.add((lane, threading.current_thread().name))

    with Lanes(2, depth=1) as lanes:
        for n in range(50):
            lanes.submit(n % 2, task, n % 2, n)
    assert seen == {0: list(range(0, 50, 2)), 1: list(range(1, 50, 2))}
    assert len(threads) == 2  # one thread per lane

    def fail(n):
        raise ValueError(f"task {n}")

    with pytest.raises(ValueError, match="task 1"), Lanes(1) as lanes:
        lanes.submit(0, fail, 1)
        lanes.submit(0, fail, 2)  # skipped: the lane stops running after an error
    with pytest.raises(KeyError), Lanes(1) as lanes:  # the block's own error wins
        lanes.submit(0, fail, 3)
        raise KeyError("block")
