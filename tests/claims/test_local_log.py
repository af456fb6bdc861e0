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


def test_a_batch_spans_segments_and_long_messages(tmp_path):
    from hospigen.stream.local_log import LocalLogWriter

    w = LocalLogWriter(tmp_path, segment_bytes=40)  # rolls over after every publish
    small = [b"m%03d" % i for i in range(30)]
    long = b"x" * 300_000  # far longer than the reader's size estimate from small messages
    for part in (small[:10], small[10:20], [long], small[20:]):
        w.publish(part)
    w.close()
    assert len(list((tmp_path / "segments").glob("*.log"))) >= 4
    r = stream.open_reader(str(tmp_path), "g")
    first = r.read(15)
    assert first.payloads.to_pylist() == small[:15] and first.position == "15"
    rest = r.read(1000)  # across three segments, the long message in the middle
    assert rest.payloads.to_pylist() == [*small[15:20], long, *small[20:]]
    assert rest.position == "31" and r.read(1000) is None
    r.seek("20")
    assert r.read(1).payloads.to_pylist() == [long]
