"""A local folder as an object store: atomic writes by temp file + rename."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from hospigen.store.base import (
    ObjectInfo,
    ObjectStore,
    StoreError,
    Written,
    check_key,
    list_prefix,
    sha256,
)

_PARTIAL = ".partial"
_THREADS = 4  # concurrent file writes/reads in put_many/get_many (4 beat 1 and 8 here)
T = TypeVar("T")
R = TypeVar("R")


def _spread(fn: Callable[[T], R], jobs: list[T]) -> list[R]:
    """``[fn(job) for job in jobs]`` on up to :data:`_THREADS` threads, one contiguous slice
    each (one task per thread: submitting a task per small file costs more than the file)."""
    if len(jobs) < 2 * _THREADS:
        return [fn(job) for job in jobs]
    size = -(-len(jobs) // _THREADS)
    slices = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    with ThreadPoolExecutor(len(slices)) as pool:
        parts = list(pool.map(lambda part: [fn(job) for job in part], slices))
    return [r for part in parts for r in part]


def _fingerprint(st: os.stat_result) -> str:
    """A local object's change marker: size and modification time."""
    return f"{st.st_size}:{st.st_mtime_ns}"


class LocalStore(ObjectStore):
    """Objects are files below ``root``; temp files end in ``.partial`` and are never listed."""

    fingerprints_on_write = True

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.url = str(self.root)
        self._safe_dirs: set[str] = set()
        self._made_dirs: set[str] = set()

    def _path(self, key: str) -> str:
        # plain strings: pathlib objects cost more than writing a small file
        path = os.path.join(self.url, *check_key(key).split("/"))
        # belt and braces: a symlinked folder must not lead outside the root either
        # (checked once per folder: resolving every path costs more than writing the file)
        parent = os.path.dirname(path)
        if parent not in self._safe_dirs and os.path.exists(parent):
            if not Path(parent).resolve().is_relative_to(self.root):
                raise StoreError(f"object key {key!r} escapes the store root")
            self._safe_dirs.add(parent)
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        self._made(os.path.dirname(path))
        self._write(key, path, data)

    def _made(self, folder: str) -> None:
        if folder not in self._made_dirs:
            try:
                os.makedirs(folder, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot write below {folder}: {exc.strerror or exc}") from None
            self._made_dirs.add(folder)

    def _write(self, key: str, path: str, data: bytes) -> Written:
        head, name = os.path.split(path)
        tmp = os.path.join(head, f".{name}.{os.getpid()}.{threading.get_ident()}{_PARTIAL}")
        try:
            # os-level calls: io.open's objects and its extra system calls (a stat, a tty
            # check) cost more than the write of a small object
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                # after the last write (which sets the mtime); the rename keeps the inode, so
                # this is what list() will show: no second stat
                st = os.fstat(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise StoreError(f"cannot write {self.uri(key)}: {exc.strerror or exc}") from None
        # hashed here, on the writer thread (hashlib releases the GIL for buffers > 2 KiB)
        return Written(sha256(data), _fingerprint(st))

    def put_many(self, objects: dict[str, bytes]) -> dict[str, Written]:
        """Write several objects, each atomically, on a few threads: creating files is bound
        by filesystem latency, which overlapping hides (the GIL is released during I/O)."""
        jobs = []
        for key, data in objects.items():
            path = self._path(key)
            self._made(os.path.dirname(path))
            jobs.append((key, path, data))
        written = _spread(lambda job: self._write(*job), jobs)
        return dict(zip([job[0] for job in jobs], written, strict=True))

    def get(self, key: str) -> bytes:
        return self._read(key, self._path(key))

    def _read(self, key: str, path: str) -> bytes:
        try:
            with open(path, "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            raise StoreError(f"no such object: {self.uri(key)}") from None

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """The bytes of several objects, read on a few threads."""
        jobs = [(k, self._path(k)) for k in keys]
        return dict(zip([k for k, _ in jobs], _spread(lambda j: self._read(*j), jobs), strict=True))

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        prefix = list_prefix(prefix)
        base = self.root / prefix if prefix else self.root
        if not base.is_dir():
            return []
        found: list[ObjectInfo] = []
        stack = [(str(base), prefix)]
        while stack:  # os.scandir: one stat per entry, far cheaper than Path.rglob + stat
            folder, rel = stack.pop()
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append((entry.path, f"{rel}{entry.name}/"))
                    elif not entry.name.endswith(_PARTIAL):
                        st = entry.stat()
                        key = f"{rel}{entry.name}"
                        found.append(ObjectInfo(key, st.st_size, _fingerprint(st)))
        return sorted(found, key=lambda o: o.key)

    def exists(self, key: str) -> bool:
        return os.path.isfile(self._path(key))

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(key))
