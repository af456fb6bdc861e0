"""``s3://bucket/base`` through s3fs (``aws`` extra); honours ``AWS_ENDPOINT_URL``."""

from __future__ import annotations

import os

from hospigen.errors import MissingExtraError
from hospigen.store.remote import FsspecStore


def open_s3(bucket_path: str, options: dict | None = None) -> FsspecStore:
    """A store on Amazon S3, or on any S3 endpoint (moto, MinIO…) named by AWS_ENDPOINT_URL."""
    try:
        import s3fs
    except ImportError:
        raise MissingExtraError("aws", "s3:// object stores") from None
    kwargs = dict(options or {})
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        kwargs.setdefault("client_kwargs", {}).setdefault("endpoint_url", endpoint)
    return FsspecStore(s3fs.S3FileSystem(**kwargs), "s3", bucket_path)
