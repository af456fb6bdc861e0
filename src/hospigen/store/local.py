"""A local folder as an object store: atomic writes by temp file + rename."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from hospigen.store.base import ObjectInfo, ObjectStore, StoreError, check_key, list_prefix

_PARTIAL = ".partial"


class LocalStore(ObjectStore):
    """Objects are files below ``root``; temp files end in ``.partial`` and are never listed."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.url = str(self.root)
        self._safe_dirs: set[Path] = set()

    def _path(self, key: str) -> Path:
        path = self.root / check_key(key)
        # belt and braces: a symlinked folder must not lead outside the root either
        # (checked once per folder: resolving every path costs more than writing the file)
        parent = path.parent
        if parent not in self._safe_dirs:
            if parent.exists() and not parent.resolve().is_relative_to(self.root):
                raise StoreError(f"object key {key!r} escapes the store root")
            if parent.exists():
                self._safe_dirs.add(parent)
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        tmp = path.with_name(f".{path.name}.{os.getpid()}{_PARTIAL}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise StoreError(f"cannot write {self.uri(key)}: {exc.strerror or exc}") from None

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise StoreError(f"no such object: {self.uri(key)}") from None

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        prefix = list_prefix(prefix)
        base = self.root / prefix if prefix else self.root
        if not base.is_dir():
            return []
        found: list[ObjectInfo] = []
        stack = [base]
        while stack:  # os.scandir: one stat per entry, far cheaper than Path.rglob + stat
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    elif not entry.name.endswith(_PARTIAL):
                        st = entry.stat()
                        key = Path(entry.path).relative_to(self.root).as_posix()
                        found.append(ObjectInfo(key, st.st_size, f"{st.st_size}:{st.st_mtime_ns}"))
        return sorted(found, key=lambda o: o.key)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
