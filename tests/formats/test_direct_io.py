"""Output files written with O_DIRECT: the same bytes as ordinary writes, whatever the sizes,
and an ordinary file where the system or the device refuses direct writes."""

from __future__ import annotations

import errno
import hashlib
import os
import random

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from hospigen.cli.app import main
from hospigen.export import direct
from hospigen.export.direct import ALIGN, STAGE_BYTES, OutputFile, arrow_sink, write_file

SIZES = [0, 1, 7, ALIGN - 1, ALIGN, ALIGN + 1, 100_003, STAGE_BYTES - 3, STAGE_BYTES + 5,
         2 * STAGE_BYTES + ALIGN]  # fmt: skip


def _pieces(seed: int) -> list[bytes]:
    rnd = random.Random(seed)
    return [rnd.randbytes(rnd.choice(SIZES)) for _ in range(rnd.randint(1, 9))]


@pytest.mark.parametrize("seed", range(6))
def test_bytes_are_those_written_across_block_and_stage_boundaries(tmp_path, seed):
    pieces = _pieces(seed)
    path = tmp_path / "out.bin"
    with OutputFile(path) as out:
        for i, piece in enumerate(pieces):
            if i % 2:
                assert out.write(piece) == len(piece)
            else:
                out.writev([piece[:5], memoryview(piece)[5:]])
        assert out.tell() == sum(map(len, pieces))
    assert path.read_bytes() == b"".join(pieces)
    assert out.closed


def test_direct_writes_are_used_where_the_file_system_takes_them(tmp_path):
    probe = tmp_path / "probe"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | getattr(os, "O_DIRECT", 0))
    except OSError as exc:
        pytest.skip(f"this file system refuses O_DIRECT ({exc})")
    os.close(fd)
    if not direct.direct_io_enabled():
        pytest.skip("no O_DIRECT on this platform, or HOSPIGEN_DIRECT_IO=0 is set")
    with OutputFile(tmp_path / "f") as out:
        assert out.direct
        out.write(b"x" * (ALIGN + 3))
    assert (tmp_path / "f").read_bytes() == b"x" * (ALIGN + 3)


def test_the_environment_turns_direct_writes_off(tmp_path, monkeypatch):
    monkeypatch.setenv("HOSPIGEN_DIRECT_IO", "0")
    pieces = _pieces(1)
    with OutputFile(tmp_path / "f") as out:
        assert not out.direct
        out.writev(pieces)
        assert out.tell() == sum(map(len, pieces))
    assert (tmp_path / "f").read_bytes() == b"".join(pieces)


def test_a_file_system_without_o_direct_gets_an_ordinary_file(tmp_path, monkeypatch):
    if not getattr(os, "O_DIRECT", 0):
        pytest.skip("no O_DIRECT on this platform")
    real_open = os.open

    def refusing_open(path, flags, *args):
        if flags & os.O_DIRECT:  # as tmpfs did before Linux 6.6
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, *args)

    monkeypatch.setattr(direct.os, "open", refusing_open)
    write_file(tmp_path / "f", [b"abc", b"def" * 5000])
    assert (tmp_path / "f").read_bytes() == b"abc" + b"def" * 5000


def test_a_device_refusing_an_aligned_write_switches_to_ordinary_writes(tmp_path, monkeypatch):
    pieces = [*_pieces(3), b"y" * (STAGE_BYTES + 11)]
    real_write = os.write
    refused = []

    def refusing_write(fd, data):
        if not refused:  # the first direct write fails, as on a device with larger blocks
            refused.append(len(data))
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(fd, data)

    with OutputFile(tmp_path / "f") as out:
        if not out.direct:
            pytest.skip("no direct writes here to refuse")
        monkeypatch.setattr(direct.os, "write", refusing_write)
        out.writev(pieces)
        assert refused and not out.direct
    assert (tmp_path / "f").read_bytes() == b"".join(pieces)


def test_an_error_other_than_einval_is_raised_and_the_file_still_closes(tmp_path, monkeypatch):
    def full_disk(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    out = OutputFile(tmp_path / "f")
    if not out.direct:
        out.close()
        pytest.skip("no direct writes here")
    monkeypatch.setattr(direct.os, "write", full_disk)
    with pytest.raises(OSError, match="No space"):
        out.write(b"z" * STAGE_BYTES)
    with pytest.raises(OSError, match="No space"):
        out.close()  # the staged bytes cannot be written either
    assert out.closed


def test_arrow_writers_through_the_sink_write_the_same_csv(tmp_path):
    table = pa.table({"id": [f"row-{i}" for i in range(200_000)], "n": list(range(200_000))})
    sink = arrow_sink(tmp_path / "direct.csv")
    pacsv.write_csv(table, sink)
    sink.close()
    pacsv.write_csv(table, str(tmp_path / "plain.csv"))
    assert (tmp_path / "direct.csv").read_bytes() == (tmp_path / "plain.csv").read_bytes()


def _digests(folder) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_generate_writes_the_same_bytes_with_and_without_direct_writes(tmp_path, monkeypatch):
    formats = "fhir,bulk_ndjson,patient_ndjson,hl7v2,vista,synthea_csv"
    args = ["generate", "-n", "40", "--seed", "3", "--as-of", "2025-01-01", "--scenario",
            "cardiometabolic", "--output-format", "both", "--formats", formats]  # fmt: skip
    assert main([*args, "-o", str(tmp_path / "direct")]) == 0
    monkeypatch.setenv("HOSPIGEN_DIRECT_IO", "0")
    assert main([*args, "-o", str(tmp_path / "plain")]) == 0
    written = _digests(tmp_path / "direct")
    assert len(written) > 60
    assert written == _digests(tmp_path / "plain")
