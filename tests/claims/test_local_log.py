"""The embedded local log: framing of arbitrary bytes, groups, torn writes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hospigen import stream


@settings(max_examples=25, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=40))
def test_any_bytes_round_trip(tmp_path_factory, payloads):
    folder = tmp_path_factory.mktemp("log")
    w = stream.open_writer(str(folder))
    w.publish(payloads)
    w.close()
    r = stream.open_reader(str(folder), "g")
    got = []
    while (b := r.read(7)) is not None:
        got += b.payloads.to_pylist()
    assert got == payloads


def test_groups_are_independent_and_torn_tail_is_cut(tmp_path):
    w = stream.open_writer(str(tmp_path))
    w.publish([b"a\nb", b"\x00x", b"\xff\xfe", b"plain"])
    w.close()
    seg = next((tmp_path / "segments").glob("*.log"))
    with open(seg, "ab") as f:
        f.write(b"torn-without-newline")
    r1 = stream.open_reader(str(tmp_path), "one")
    assert r1.read(10).payloads.to_pylist() == [b"a\nb", b"\x00x", b"\xff\xfe", b"plain"]
    r2 = stream.open_reader(str(tmp_path), "two")
    r2.seek("2")
    batch = r2.read(10)
    assert batch.payloads.to_pylist() == [b"\xff\xfe", b"plain"] and batch.position == "4"
    w = stream.open_writer(str(tmp_path))  # recovery cuts the torn line
    w.publish([b"next"])
    w.close()
    assert r1.read(10).payloads.to_pylist() == [b"next"]
