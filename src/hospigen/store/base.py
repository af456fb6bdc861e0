"""The object-store interface and the rules every key obeys.

A store is rooted at a URL (a local folder, ``gs://bucket/base``, ``s3://bucket/base``); keys are
relative, ``/``-separated names below that root. A key can never climb out of the root: absolute
keys, ``..`` and empty segments are rejected before any I/O.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass

from hospigen.errors import UsageError

_CONTROL = re.compile(r"[\x00-\x1f]")


class StoreError(UsageError):
    """An object-store operation failed (missing object, refused upload, bad key)."""

    exit_code = 4


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object: its key, size and a cheap change fingerprint from the listing.

    ``fingerprint`` changes whenever the object is rewritten (local: size + mtime; GCS: md5;
    S3: ETag), so a caller can skip objects it has already seen without reading them.
    """

    key: str
    size: int
    fingerprint: str


@dataclass(frozen=True)
class Written:
    """What one put wrote: the sha256 of its bytes and, where the backend learns it while
    writing, the fingerprint a later listing will show (``""``: list to find out)."""

    checksum: str
    fingerprint: str = ""


def check_key(key: str) -> str:
    """``key`` if it is a safe relative object key, else :class:`StoreError`."""
    if not isinstance(key, str) or not key:
        raise StoreError("object key must be a non-empty string")
    if key.startswith(("/", "\\")) or "\\" in key or "://" in key or key[1:3] == ":/":
        raise StoreError(f"object key must be relative, got {key!r}")
    parts = key.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise StoreError(f"object key may not contain '..', '.' or empty segments: {key!r}")
    if _CONTROL.search(key):
        raise StoreError(f"object key contains control characters: {key!r}")
    return key


def join_key(prefix: str, name: str) -> str:
    """``prefix/name`` as a checked key (an empty prefix means the store root)."""
    prefix = prefix.strip("/")
    return check_key(f"{prefix}/{name}" if prefix else name)


def sha256(data: bytes) -> str:
    """Hex sha256 of ``data``: the checksum recorded in ledgers."""
    return hashlib.sha256(data).hexdigest()


class ObjectStore(ABC):
    """A flat namespace of immutable-on-write objects below one root URL."""

    url: str
    #: whether :meth:`put_many` reports each object's listing fingerprint (no listing needed)
    fingerprints_on_write: bool = False

    @abstractmethod
    def put(self, key: str, data: bytes) -> None:
        """Write ``data`` at ``key`` atomically: readers see the old object or the new one."""

    def put_many(self, objects: dict[str, bytes]) -> dict[str, Written]:
        """Write several objects (backends may do it concurrently); key → :class:`Written`,
        so callers need neither hash the bytes again nor list the store for fingerprints."""
        for key, data in objects.items():
            self.put(key, data)
        return {key: Written(sha256(data)) for key, data in objects.items()}

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The bytes of ``key``; :class:`StoreError` if it does not exist."""

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """The bytes of several objects (backends may fetch concurrently)."""
        return {k: self.get(k) for k in keys}

    @abstractmethod
    def list(self, prefix: str = "") -> list[ObjectInfo]:
        """Every object whose key starts with ``prefix`` (recursively), sorted by key."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether ``key`` exists."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key`` (no error if it is missing)."""

    def uri(self, key: str) -> str:
        """The full URL of ``key``."""
        return f"{self.url.rstrip('/')}/{check_key(key)}"


def list_prefix(prefix: str) -> str:
    """A listing prefix: ``""`` (everything) or a checked folder-like prefix ending in ``/``."""
    prefix = prefix.strip("/")
    return f"{check_key(prefix)}/" if prefix else ""
