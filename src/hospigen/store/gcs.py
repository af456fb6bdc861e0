"""``gs://bucket/base`` through gcsfs (``gcp`` extra); honours ``STORAGE_EMULATOR_HOST``."""

from __future__ import annotations

import os

from hospigen.errors import MissingExtraError
from hospigen.store.remote import FsspecStore


def open_gcs(bucket_path: str, options: dict | None = None) -> FsspecStore:
    """A store on Google Cloud Storage, or on an emulator when STORAGE_EMULATOR_HOST is set."""
    # gcsfs ≥ 2026 probes a gRPC API by default; against emulators each call then hangs for
    # tens of seconds. This must be set before gcsfs is imported.
    os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    try:
        import gcsfs
    except ImportError:
        raise MissingExtraError("gcp", "gs:// object stores") from None
    kwargs = dict(options or {})
    emulator = os.environ.get("STORAGE_EMULATOR_HOST")
    if emulator:
        if "://" not in emulator:
            emulator = f"http://{emulator}"
        kwargs.setdefault("endpoint_url", emulator)
        kwargs.setdefault("token", "anon")
    return FsspecStore(gcsfs.GCSFileSystem(**kwargs), "gs", bucket_path)
