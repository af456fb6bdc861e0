"""The embedded durable log: append-only segment files in a folder, no server.

Layout::

    FOLDER/segments/00000000000000000000.log   one file per segment, named by base offset
    FOLDER/groups/<group>.offset               committed position of a consumer group
    FOLDER/.writer.lock                        one writer at a time (flock)

Framing is newline-delimited so a whole segment is split with one numpy call: a payload that
contains no ``\\n`` and does not start with ``\\x00`` is stored as is; any other payload (newlines,
a leading NUL) is stored as ``\\x00`` + base64. Any bytes round-trip, invalid UTF-8 included.
Each publish call is flushed and fsync'd; a torn last line (crash mid-write) has no newline, is
never read, and is cut off by the next writer. Positions are message offsets (0, 1, 2, …).
"""

from __future__ import annotations

import base64
import fcntl
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hospigen.errors import UsageError
from hospigen.stream import Batch

SEGMENT_BYTES = 128 * 1024 * 1024
READ_BYTES = 512 * 1024 * 1024  # about 600,000 claims of ~870 bytes per read
_ESC = b"\x00"


def folder_of(url: str) -> Path:
    """The folder of a local-log URL (``file://path`` or a bare path)."""
    return Path(url[len("file://") :] if url.startswith("file://") else url)


def encode(payload: bytes) -> bytes:
    """One framed line for ``payload`` (escaped when it would break the framing)."""
    if b"\n" in payload or payload.startswith(_ESC):
        return _ESC + base64.b64encode(payload) + b"\n"
    return payload + b"\n"


def _segments(folder: Path) -> list[tuple[int, Path]]:
    seg = folder / "segments"
    if not seg.is_dir():
        return []
    return sorted((int(p.stem), p) for p in seg.glob("*.log") if p.stem.isdigit())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalLogWriter:
    """Appends framed messages to the newest segment, rolling over at ``SEGMENT_BYTES``."""

    def __init__(self, folder: Path, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.folder = folder
        self.segment_bytes = segment_bytes
        (folder / "segments").mkdir(parents=True, exist_ok=True)
        (folder / "groups").mkdir(exist_ok=True)
        self._lock = open(folder / ".writer.lock", "wb")  # noqa: SIM115 (held until close)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise UsageError(f"another writer is publishing to {folder}") from None
        segments = _segments(folder)
        if not segments:
            self._open_segment(0)
        else:
            base, path = segments[-1]
            self._base, self._count = base, self._recover(path)
            self._file = open(path, "ab")  # noqa: SIM115

    @staticmethod
    def _recover(path: Path) -> int:
        """Cut a torn last line; return the number of whole messages in the segment."""
        data = path.read_bytes()
        keep = data.rfind(b"\n") + 1
        if keep != len(data):
            with open(path, "r+b") as f:
                f.truncate(keep)
                os.fsync(f.fileno())
        return int(np.count_nonzero(np.frombuffer(data[:keep], np.uint8) == 10))

    def _open_segment(self, base: int) -> None:
        path = self.folder / "segments" / f"{base:020d}.log"
        self._file = open(path, "ab")  # noqa: SIM115
        self._base, self._count = base, 0
        _fsync_dir(path.parent)

    def publish(self, payloads: Sequence[bytes] | pa.Array) -> int:
        """Append ``payloads`` and fsync; returns how many were written."""
        items = payloads.to_pylist() if isinstance(payloads, pa.Array) else payloads
        if not items:
            return 0
        self._file.write(b"".join(encode(bytes(p)) for p in items))
        self._file.flush()
        os.fsync(self._file.fileno())
        self._count += len(items)
        if self._file.tell() >= self.segment_bytes:
            self._file.close()
            self._open_segment(self._base + self._count)
        return len(items)

    @property
    def end(self) -> int:
        """Offset of the next message to be written."""
        return self._base + self._count

    def close(self) -> None:
        """Close the segment and release the writer lock."""
        self._file.close()
        self._lock.close()


class LocalLogReader:
    """Reads whole messages from a position onward, in batches, without a server."""

    ordered = True

    def __init__(self, folder: Path, group: str) -> None:
        if not group.replace("-", "").replace("_", "").isalnum():
            raise UsageError(f"consumer group must be letters, digits, - or _, got {group!r}")
        if not (folder / "segments").is_dir():
            raise UsageError(f"no local log at {folder} (publish to it first)")
        self.folder, self.group = folder, group
        self._offset = 0
        self._file_pos: tuple[int, int] | None = None  # (segment base, byte offset) of _offset
        self._bytes_per_message = 1024.0  # framed size, updated by each read (sizes the next)
        self.seek(self.committed())

    def committed(self) -> str | None:
        """The group's committed position from ``groups/<group>.offset``."""
        path = self.folder / "groups" / f"{self.group}.offset"
        return path.read_text().strip() if path.exists() else None

    def commit(self, position: str) -> None:
        """Store ``position`` for the group (atomic write) when no warehouse holds it."""
        path = self.folder / "groups" / f"{self.group}.offset"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(position)
        os.replace(tmp, path)

    def seek(self, position: str | None) -> None:
        """Continue with the message at offset ``position`` (0 when ``None``)."""
        self._offset = int(position) if position else 0
        self._file_pos = None

    def _locate(self) -> tuple[int, Path, int] | None:
        """(segment base, path, byte offset) of the current offset, or None past the end."""
        segments = _segments(self.folder)
        for i, (base, path) in enumerate(segments):
            nxt = segments[i + 1][0] if i + 1 < len(segments) else None
            if nxt is not None and self._offset >= nxt:
                continue
            if self._file_pos and self._file_pos[0] == base:
                return base, path, self._file_pos[1]
            skip = self._offset - base
            if skip == 0:  # the segment's start: nothing to count
                return base, path, 0
            data = np.fromfile(path, dtype=np.uint8)
            newlines = np.flatnonzero(data == 10)
            if skip > len(newlines):
                return None
            return base, path, 0 if skip == 0 else int(newlines[skip - 1]) + 1
        return None

    def read(self, max_messages: int, timeout: float = 0.0) -> Batch | None:
        """Up to ``max_messages`` whole messages from the current offset, or None at the end.

        A batch may span segments (the CLI publishes segments of ``SEGMENT_BYTES``, about
        150,000 claims, fewer than a default batch), read back to back into one buffer. Each
        read asks for about the bytes the wanted messages need, estimated from the messages
        read so far, rather than ``READ_BYTES`` at once: reading and scanning 512 MiB to keep
        a fifth of it cost more CPU than the framing of the messages kept.
        """
        buf = np.empty(0, np.uint8)  # grown to each read's size; pages are touched when read
        filled, count, ends = 0, 0, []
        while count < max_messages and filled < READ_BYTES:
            located = self._locate()
            if located is None:
                break
            base, path, pos = located
            need = max_messages - count
            want = min(READ_BYTES - filled, int(need * self._bytes_per_message * 1.05) + 65_536)
            while True:
                if filled + want > len(buf):
                    buf = np.concatenate([buf[:filled], np.empty(want, np.uint8)])
                with open(path, "rb") as f:
                    f.seek(pos)
                    got = f.readinto(memoryview(buf)[filled : filled + want])
                newlines = _newlines(buf[filled : filled + got], need)
                if len(newlines) or got < want:
                    break
                want *= 2  # one message longer than the read: read again, more
            if len(newlines) == 0:  # the end of the log (or a torn line being written)
                break
            used = int(newlines[-1]) + 1
            ends.append(newlines + filled)
            filled += used
            count += len(newlines)
            self._offset += len(newlines)
            self._file_pos = (base, pos + used)
            self._bytes_per_message = used / len(newlines)
        if not ends:
            return None
        return Batch(_frames(buf[:filled], np.concatenate(ends)), position=str(self._offset))

    def ack(self, batch: Batch) -> None:
        """Nothing to tell: the consumer stores the position with its output."""

    def close(self) -> None:
        """Nothing to release."""


_SCAN_BYTES = 16 * 1024 * 1024


def _newlines(data: bytes | np.ndarray, limit: int) -> np.ndarray:
    """Positions of the first ``limit`` newlines in ``data``.

    Scanned in blocks: one boolean array the size of a 500 MB read is freshly mapped memory
    the kernel must zero, a 16 MiB block is reused, and the scan stops once ``limit`` is met.
    """
    buf = np.frombuffer(data, np.uint8)
    found, n = [], 0
    for a in range(0, len(buf), _SCAN_BYTES):
        nl = np.flatnonzero(buf[a : a + _SCAN_BYTES] == 10)
        found.append(nl + a)
        n += len(nl)
        if n >= limit:
            break
    return np.concatenate(found)[:limit] if found else np.empty(0, np.int64)


def _frames(chunk: bytes | np.ndarray, newlines: np.ndarray) -> pa.Array:
    """Binary array of the lines of ``chunk`` ending at ``newlines`` (without the newline)."""
    starts = np.concatenate([[0], newlines[:-1] + 1]).astype(np.int32)
    offsets = np.concatenate([starts, [newlines[-1] + 1]]).astype(np.int32)
    framed = pa.Array.from_buffers(
        pa.binary(), len(starts), [None, pa.py_buffer(offsets), pa.py_buffer(chunk)]
    )
    lines = pc.binary_slice(framed, 0, -1)
    buf = np.frombuffer(chunk, np.uint8)
    escaped = np.flatnonzero(buf[starts] == 0) if len(chunk) else np.empty(0, np.int64)
    # an empty line's first byte is its newline (10), so it is never taken for an escape
    if len(escaped):
        values = [base64.b64decode(lines[int(i)].as_py()[1:]) for i in escaped]
        mask = np.zeros(len(starts), dtype=bool)
        mask[escaped] = True
        lines = pc.replace_with_mask(lines, pa.array(mask), pa.array(values, pa.binary()))
    return lines


def open_writer(url: str) -> LocalLogWriter:
    """A writer of the local log at folder ``url``."""
    return LocalLogWriter(folder_of(url))


def open_reader(url: str, group: str) -> LocalLogReader:
    """A reader of the local log at folder ``url`` for consumer ``group``."""
    return LocalLogReader(folder_of(url), group)
