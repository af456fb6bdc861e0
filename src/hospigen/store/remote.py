"""An object store over any fsspec filesystem (gcsfs, s3fs): each put is one atomic object write."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from hospigen.store.base import (
    ObjectInfo,
    ObjectStore,
    StoreError,
    Written,
    check_key,
    list_prefix,
    sha256,
)


def _fingerprint(detail: dict) -> str:
    for name in ("md5Hash", "ETag", "etag", "crc32c", "generation"):
        if detail.get(name):
            return f"{name}:{str(detail[name]).strip(chr(34))}"
    return f"size:{detail.get('size')}:{detail.get('mtime') or detail.get('LastModified')}"


class FsspecStore(ObjectStore):
    """Objects below ``bucket/base`` of an fsspec filesystem ``fs``."""

    def __init__(self, fs, scheme: str, bucket_path: str) -> None:
        self.fs = fs
        self.scheme = scheme
        self.base = bucket_path.strip("/")
        self.url = f"{scheme}://{self.base}"

    def _path(self, key: str) -> str:
        return f"{self.base}/{check_key(key)}"

    def put(self, key: str, data: bytes) -> None:
        self.put_many({key: data})

    def put_many(self, objects: dict[str, bytes]) -> dict[str, Written]:
        if not objects:
            return {}
        try:  # fsspec's async backends upload a dict of objects concurrently
            self.fs.pipe({self._path(k): v for k, v in objects.items()})
        except Exception as exc:
            raise StoreError(f"upload to {self.url} failed: {type(exc).__name__}: {exc}") from None
        # the fingerprint (md5, ETag) is the service's to give: callers list to learn it
        return {key: Written(sha256(data)) for key, data in objects.items()}

    def get(self, key: str) -> bytes:
        try:
            return self.fs.cat_file(self._path(key))
        except FileNotFoundError:
            raise StoreError(f"no such object: {self.uri(key)}") from None

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        keys = list(keys)
        if not keys:
            return {}
        paths = {self._path(k): k for k in keys}
        try:
            got = self.fs.cat(list(paths), on_error="raise")
        except FileNotFoundError as exc:
            raise StoreError(f"no such object below {self.url}: {exc}") from None
        return {paths[p.removeprefix(f"{self.scheme}://")]: data for p, data in got.items()}

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        path = f"{self.base}/{list_prefix(prefix)}".rstrip("/")
        self.fs.invalidate_cache()
        try:
            found = self.fs.find(path, detail=True)
        except FileNotFoundError:
            return []
        out = []
        for name, detail in found.items():
            if detail.get("type") == "directory":
                continue
            key = name.removeprefix(f"{self.scheme}://").removeprefix(f"{self.base}/")
            out.append(ObjectInfo(key, int(detail.get("size") or 0), _fingerprint(detail)))
        return sorted(out, key=lambda o: o.key)

    def exists(self, key: str) -> bool:
        return bool(self.fs.exists(self._path(key)))

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._path(key))
