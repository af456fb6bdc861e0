"""Where the facility stages read and write: a local folder, ``s3://`` or ``gs://`` prefix.

A deliberately tiny API (:func:`resolve` → :class:`Location`) so that ``hospigen.store`` can
replace it later. Keys are always relative to the location's root and are checked so that they
cannot climb out of it. Writes are atomic: a local file is written under a temporary name and
renamed; an object-store PUT only becomes visible when complete.
"""

from __future__ import annotations

import mmap
import os
import posixpath
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import fsspec

from hospigen.errors import MissingExtraError, UsageError

_SCHEMES = {"s3": "aws", "gs": "gcp"}
_BAD_SEGMENTS = {"", ".", ".."}


def safe_key(key: str) -> str:
    """``key`` normalised to ``a/b/c``; raises UsageError if it could escape its prefix."""
    if not isinstance(key, str) or "\x00" in key or "\\" in key or key.startswith("/"):
        raise UsageError(f"object key {key!r} must be a relative path such as data/file.json")
    parts = key.split("/")
    if any(p in _BAD_SEGMENTS for p in parts[:-1]) or parts[-1] in (".", ".."):
        raise UsageError(f"object key {key!r} may not contain '.', '..' or empty segments")
    return key.rstrip("/")


def _filesystem(scheme: str) -> fsspec.AbstractFileSystem:
    """An fsspec filesystem for ``scheme``, honouring the local emulator variables."""
    if scheme == "file":
        return fsspec.filesystem("file")
    try:
        if scheme == "s3":
            import s3fs

            endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
            kwargs = {"client_kwargs": {"endpoint_url": endpoint}} if endpoint else {}
            return s3fs.S3FileSystem(**kwargs, skip_instance_cache=True)
        # before importing gcsfs: its default gRPC path retries for a minute per call offline
        os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
        import gcsfs

        emulator = os.environ.get("STORAGE_EMULATOR_HOST")
        if emulator:
            if "://" not in emulator:
                emulator = "http://" + emulator
            return gcsfs.GCSFileSystem(
                endpoint_url=emulator, token="anon", skip_instance_cache=True
            )
        return gcsfs.GCSFileSystem(skip_instance_cache=True)
    except ImportError:
        raise MissingExtraError(_SCHEMES[scheme], f"{scheme}:// paths") from None


@dataclass(frozen=True)
class Location:
    """A root folder or object prefix on one filesystem; every key is relative to it."""

    fs: fsspec.AbstractFileSystem
    scheme: str  # "file", "s3" or "gs"
    root: str  # filesystem path of the root, without scheme or trailing slash

    @property
    def url(self) -> str:
        """The root as a URL (a plain path for local folders)."""
        return self.root if self.scheme == "file" else f"{self.scheme}://{self.root}"

    @property
    def bucket(self) -> str:
        """The bucket (object stores) or the folder's name (local)."""
        return self.root.split("/")[0] if self.scheme != "file" else Path(self.root).name

    def object_key(self, key: str) -> str:
        """``key`` as seen inside the bucket (object stores) or the folder (local)."""
        if self.scheme == "file" or "/" not in self.root:
            return safe_key(key)
        return f"{self.root.split('/', 1)[1]}/{safe_key(key)}"

    def path(self, key: str = "") -> str:
        """Filesystem path of ``key`` below the root (checked)."""
        return posixpath.join(self.root, safe_key(key)) if key else self.root

    def child(self, key: str) -> Location:
        """The location of the sub-prefix ``key``."""
        return Location(self.fs, self.scheme, self.path(key))

    def files(self, pattern: str | None = None) -> list[str]:
        """Keys of the files below the root (recursive, sorted), optionally matching a regex."""
        self.fs.invalidate_cache()  # object-store listings are cached; we want the truth
        if not self.fs.exists(self.root):
            return []
        if self.fs.isfile(self.root):
            return [""]
        found = self.fs.find(self.root)
        keys = sorted(posixpath.relpath(f, self.root) for f in found)
        keys = [k for k in keys if not any(p.startswith(".") for p in k.split("/"))]
        return [k for k in keys if pattern is None or re.search(pattern, k)]

    def exists(self, key: str = "") -> bool:
        """True when ``key`` (a file or a non-empty prefix) exists."""
        return bool(self.fs.exists(self.path(key)))

    def read_bytes(self, key: str = "") -> bytes:
        """The whole content of ``key``."""
        return self.fs.cat_file(self.path(key))

    def read_buffer(self, key: str = "") -> bytes | mmap.mmap:
        """The content of ``key``: memory-mapped for local files (no copy), bytes otherwise."""
        if self.scheme != "file":
            return self.read_bytes(key)
        with open(self.path(key), "rb") as fh:
            if os.fstat(fh.fileno()).st_size == 0:
                return b""
            return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)

    def checksum(self, key: str = "") -> str:
        """sha256 of ``key``'s bytes (hex)."""
        import hashlib

        return hashlib.sha256(self.read_buffer(key)).hexdigest()

    def write_bytes(self, key: str, data: bytes) -> str:
        """Write ``data`` to ``key`` atomically; returns the key's URL."""
        target = self.path(key)
        if self.scheme == "file":
            folder = os.path.dirname(target)
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".part")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, target)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
        else:
            self.fs.pipe_file(target, data)  # one PUT: visible only when complete
        return self.url_of(key)

    @contextmanager
    def staged(self, key: str) -> Iterator[Path]:
        """A local path to write ``key`` into; published atomically when the block succeeds.

        Local folders get a hidden temp file beside the target (then ``os.replace``, no copy);
        object stores get a temp file that is uploaded in one PUT.
        """
        target = self.path(key)
        if self.scheme == "file":
            folder = os.path.dirname(target)
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".part")
            os.close(fd)
            os.unlink(tmp)  # writers such as DuckDB's COPY want to create the file themselves
            try:
                yield Path(tmp)
                os.replace(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        else:
            with tempfile.TemporaryDirectory(prefix="hospigen-") as tmp:
                yield Path(tmp, "part")
                self.fs.put_file(str(Path(tmp, "part")), target)

    def put_file(self, local: str | Path, key: str) -> str:
        """Copy the local file ``local`` to ``key`` atomically; returns the key's URL."""
        if self.scheme == "file":
            return self.write_bytes(key, Path(local).read_bytes())
        self.fs.put_file(str(local), self.path(key))
        return self.url_of(key)

    def url_of(self, key: str) -> str:
        """URL (or local path) of ``key``."""
        target = self.path(key)
        return target if self.scheme == "file" else f"{self.scheme}://{target}"


def overlaps(a: Location, b: Location) -> bool:
    """True when one location lies inside the other (same filesystem)."""
    if a.scheme != b.scheme:
        return False
    x, y = a.root.rstrip("/") + "/", b.root.rstrip("/") + "/"
    return x.startswith(y) or y.startswith(x)


def resolve(url: str | Path) -> Location:
    """A :class:`Location` for a local folder, ``s3://bucket/prefix`` or ``gs://bucket/prefix``."""
    text = str(url)
    scheme, sep, rest = text.partition("://")
    if not sep:
        return Location(_filesystem("file"), "file", os.path.abspath(text).rstrip("/") or "/")
    if scheme not in _SCHEMES:
        raise UsageError(f"unsupported location {text!r}: use a folder, s3://… or gs://…")
    rest = rest.strip("/")
    if not rest:
        raise UsageError(f"location {text!r} needs a bucket name")
    bucket, _, prefix = rest.partition("/")
    root = f"{bucket}/{safe_key(prefix)}" if prefix else bucket
    return Location(_filesystem(scheme), scheme, root)
