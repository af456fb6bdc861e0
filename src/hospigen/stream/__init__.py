"""Message streams behind one small interface, chosen by URL.

* a folder path (or ``file://``): the embedded durable local log (default, no server);
* ``redis://host:port/stream``: Redis Streams with consumer groups (``redis`` extra);
* ``pubsub://projects/P/topics/T`` to publish, ``pubsub://projects/P/subscriptions/S`` to
  consume: Google Pub/Sub, honouring ``PUBSUB_EMULATOR_HOST`` (``gcp`` extra).

A :class:`Writer` publishes raw bytes untouched; a :class:`Reader` yields :class:`Batch` es.
Ordered sources (local log, Redis) expose a ``position`` after each batch so a consumer can
store it transactionally with its output and :meth:`Reader.seek` back to it after a crash;
unordered sources (Pub/Sub) give per-message ids for de-duplication instead.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa

from hospigen.errors import UsageError

# scheme → adapter module (one adapter per file; each exposes open_writer / open_reader)
ADAPTERS = {
    "file": "hospigen.stream.local_log",
    "redis": "hospigen.stream.redis_streams",
    "pubsub": "hospigen.stream.pubsub",
}


@dataclass
class Batch:
    """Messages read together; ``position`` is the resume point after them (ordered sources)."""

    payloads: pa.Array
    position: str | None = None
    ids: list[str] | None = None
    token: Any = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.payloads)


class Writer(Protocol):
    """Publishes raw message bytes."""

    def publish(self, payloads: Sequence[bytes] | pa.Array) -> int:
        """Append ``payloads`` durably; returns how many were written."""

    def close(self) -> None:
        """Flush and release resources."""


class Reader(Protocol):
    """Consumes messages for one consumer group."""

    ordered: bool

    def seek(self, position: str | None) -> None:
        """Resume after ``position`` (as stored by the consumer), or from the start."""

    def read(self, max_messages: int, timeout: float = 0.0) -> Batch | None:
        """Up to ``max_messages``; ``None`` when nothing arrived within ``timeout`` seconds."""

    def ack(self, batch: Batch) -> None:
        """Tell the broker the batch is done (after the consumer committed its output)."""

    def close(self) -> None:
        """Release resources."""


def scheme_of(url: str) -> str:
    """The adapter scheme of a stream URL (a bare path means the local log)."""
    head, sep, _ = url.partition("://")
    return head if sep else "file"


def _adapter(url: str):
    scheme = scheme_of(url)
    if scheme not in ADAPTERS:
        known = ", ".join(f"{s}://" for s in ADAPTERS)
        raise UsageError(f"unknown stream {url!r}: use a folder path or one of {known}")
    return importlib.import_module(ADAPTERS[scheme])


def open_writer(url: str) -> Writer:
    """A writer for the stream at ``url``."""
    return _adapter(url).open_writer(url)


def open_reader(url: str, group: str = "claims") -> Reader:
    """A reader of the stream at ``url`` in consumer ``group``."""
    return _adapter(url).open_reader(url, group)
