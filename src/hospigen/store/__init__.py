"""Object stores: a local folder by default, ``gs://`` and ``s3://`` through fsspec.

>>> store = open_store("some/folder")            # doctest: +SKIP
>>> store.put("raw/patient_0001.ndjson", b"{}\\n")  # atomic
>>> [o.key for o in store.list("raw")]
['raw/patient_0001.ndjson']

Backends are chosen by URL scheme from :data:`SCHEMES`; cloud SDKs are imported only when used,
and a missing one raises :class:`hospigen.errors.MissingExtraError` naming the extra.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hospigen.store.base import (
    ObjectInfo,
    ObjectStore,
    StoreError,
    Written,
    check_key,
    join_key,
    list_prefix,
    sha256,
)
from hospigen.store.local import LocalStore


def _gcs(rest: str) -> ObjectStore:
    from hospigen.store.gcs import open_gcs

    return open_gcs(rest)


def _s3(rest: str) -> ObjectStore:
    from hospigen.store.s3 import open_s3

    return open_s3(rest)


SCHEMES: dict[str, Callable[[str], ObjectStore]] = {
    "file": LocalStore,
    "gs": _gcs,
    "gcs": _gcs,
    "s3": _s3,
}


def open_store(url: str | Path) -> ObjectStore:
    """The object store rooted at ``url`` (a folder path, ``file://``, ``gs://`` or ``s3://``)."""
    text = str(url)
    scheme, sep, rest = text.partition("://")
    if not sep:
        return LocalStore(text)
    if scheme not in SCHEMES:
        raise StoreError(f"unknown object store scheme {scheme!r}; use one of {sorted(SCHEMES)}")
    if not rest.strip("/"):
        raise StoreError(f"object store URL {text!r} names no bucket")
    return SCHEMES[scheme](rest)


__all__ = [
    "SCHEMES",
    "ObjectInfo",
    "ObjectStore",
    "StoreError",
    "Written",
    "check_key",
    "join_key",
    "list_prefix",
    "open_store",
    "sha256",
]
