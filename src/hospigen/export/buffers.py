"""Writing many small buffers (slices of rendered text) without joining them first.

A patient's bundle or NDJSON file is a few dozen slices of Arrow text buffers. ``os.writev``
hands them to the kernel in one call, without the copy a ``b"".join`` makes, and releases the
GIL while it runs, so other writer threads keep going.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

_IOV_MAX = os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") else 1024
Buffer = bytes | memoryview


def write_all(fd: int, buffers: Sequence[Buffer]) -> None:
    """Write every buffer, in order, to the open file descriptor ``fd``."""
    views = [memoryview(b) for b in buffers if len(b)]
    while views:
        batch = views[:_IOV_MAX]
        written = os.writev(fd, batch)
        done = 0
        while done < len(batch) and written >= batch[done].nbytes:
            written -= batch[done].nbytes
            done += 1
        views = views[done:]
        if written:  # a partial write stopped inside this buffer
            views[0] = views[0][written:]


def write_file(path: Path, buffers: Sequence[Buffer]) -> None:
    """Create (or truncate) ``path`` holding the concatenation of ``buffers``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        write_all(fd, buffers)
    finally:
        os.close(fd)
