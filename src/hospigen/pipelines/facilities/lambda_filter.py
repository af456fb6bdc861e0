"""AWS Lambda handler for stage 2 (boto3): filter expiring accreditations on S3.

Environment (as in the seed): ``BUCKET``, ``INPUT_PREFIX`` (``data/``), ``OUTPUT_PREFIX``
(``filtered/``), ``MONTHS`` (6); optional ``TODAY`` (YYYY-MM-DD) to pin the date. The event is
either an S3 ``ObjectCreated`` notification (process those objects) or anything else (a manual
run: process every object below ``INPUT_PREFIX``). Objects below ``OUTPUT_PREFIX`` are refused,
so a trigger on the bucket cannot loop on the function's own output.

Each object is downloaded to a temporary folder and filtered by
:func:`hospigen.pipelines.facilities.expiring.run_expiring` (the same code as the CLI), and
``<name>_filtered.ndjson`` plus any issues report are uploaded below ``OUTPUT_PREFIX``.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path
from urllib.parse import unquote_plus

from hospigen.errors import UsageError
from hospigen.pipelines.facilities.expiring import run_expiring
from hospigen.pipelines.facilities.reader import INPUT_PATTERN
from hospigen.pipelines.facilities.storage import resolve, safe_key


def _config() -> dict:
    cfg = {
        "bucket": os.environ["BUCKET"],
        "input": os.environ.get("INPUT_PREFIX", "data/"),
        "output": os.environ.get("OUTPUT_PREFIX", "filtered/"),
        "months": float(os.environ.get("MONTHS", "6")),
        "today": dt.date.fromisoformat(os.environ["TODAY"]) if os.environ.get("TODAY") else None,
    }
    a, b = cfg["input"].rstrip("/") + "/", cfg["output"].rstrip("/") + "/"
    if a.startswith(b) or b.startswith(a):
        raise UsageError(f"OUTPUT_PREFIX {cfg['output']!r} overlaps INPUT_PREFIX {cfg['input']!r}")
    return cfg


def _event_keys(event: dict, bucket: str) -> list[str] | None:
    """Keys of an S3 notification for ``bucket``; None when the event is not one."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not records:
        return None
    keys = []
    for r in records:
        s3 = r.get("s3") or {}
        if s3.get("bucket", {}).get("name") == bucket:
            keys.append(unquote_plus(s3["object"]["key"]))  # S3 events URL-encode keys
    return keys


def handler(event: dict, context: object = None, s3: object = None) -> dict:
    """Lambda entry point; returns what was processed, refused and written."""
    import boto3

    cfg = _config()
    s3 = s3 or boto3.client("s3")
    today = cfg["today"] or dt.datetime.now(dt.UTC).date()
    keys = _event_keys(event, cfg["bucket"])
    if keys is None:  # manual run: everything below INPUT_PREFIX
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=cfg["bucket"], Prefix=cfg["input"]
        )
        keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
    out_prefix = cfg["output"].rstrip("/") + "/"
    refused = [k for k in keys if k.startswith(out_prefix)]
    todo = [k for k in keys if k not in refused and not k.endswith("/")]
    import re

    todo = [k for k in todo if re.search(INPUT_PATTERN, k)]
    written, kept, malformed = [], 0, 0
    with tempfile.TemporaryDirectory(prefix="hospigen-lambda-") as tmp:
        src, dst = Path(tmp, "in"), Path(tmp, "out")
        for key in todo:
            local = src / safe_key(key)
            local.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(cfg["bucket"], key, str(local))
        if todo:
            result = run_expiring(resolve(src), resolve(dst), cfg["months"], today, keys=todo)
            kept, malformed = result.details["kept"], result.loaded.malformed
            for path in sorted(p for p in dst.rglob("*") if p.is_file()):
                rel = path.relative_to(dst).as_posix()
                # the filtered file keeps only the object's name, as the seed writes it
                name = rel if rel.startswith("issues/") else rel.rsplit("/", 1)[-1]
                s3.upload_file(str(path), cfg["bucket"], out_prefix + name)
                written.append(out_prefix + name)
    return {"processed": todo, "refused": refused, "written": written, "kept": kept,
            "malformed": malformed, "today": today.isoformat()}  # fmt: skip
