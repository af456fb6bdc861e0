"""Redis Streams adapter: ``redis://host:port/stream`` (``redis`` extra).

Each message is one stream entry with a single field ``data`` holding the raw bytes. Readers
use a consumer group (created at the start of the stream if missing) and ``XREADGROUP``;
entries are ``XACK``'d only after the consumer committed its output (:meth:`ack`).

Exactly once with a transactional consumer: the reader is *ordered*; its position is the
highest entry id of a batch, which the consumer stores with its rows. After a crash the
entries delivered but never acknowledged are redelivered first (``XREADGROUP … 0``, the
consumer's pending list); those at or below the committed position were already landed, so
they are acknowledged and skipped instead of being processed twice. One consumer
(``hospigen``) per group: the pending list is per consumer name.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

import orjson
import pyarrow as pa

from hospigen.errors import MissingExtraError, UsageError
from hospigen.stream import Batch

FIELD = b"data"
CONSUMER = "hospigen"
_CHUNK = 10_000  # entries per pipelined round trip


def _client(url: str):
    try:
        import redis
    except ImportError:
        raise MissingExtraError("redis", "the Redis Streams adapter") from None
    parts = urlsplit(url)
    key = parts.path.lstrip("/")
    if not key or "/" in key:
        raise UsageError(f"a Redis stream URL is redis://host:port/STREAM, got {url!r}")
    client = redis.Redis(host=parts.hostname or "localhost", port=parts.port or 6379)
    return client, key


def _id(entry_id: bytes | str) -> tuple[int, int]:
    """An entry id ``ms-seq`` as a comparable pair."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


class RedisWriter:
    """Appends payloads with pipelined ``XADD``."""

    def __init__(self, url: str) -> None:
        self.client, self.key = _client(url)

    def publish(self, payloads: Sequence[bytes] | pa.Array) -> int:
        """``XADD`` every payload (one round trip per 10,000); returns how many."""
        items = payloads.to_pylist() if isinstance(payloads, pa.Array) else payloads
        for start in range(0, len(items), _CHUNK):
            pipe = self.client.pipeline(transaction=False)
            for p in items[start : start + _CHUNK]:
                pipe.xadd(self.key, {FIELD: bytes(p)})
            pipe.execute()
        return len(items)

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()


class RedisReader:
    """Consumer-group reader; drains its own pending entries before new ones."""

    ordered = True

    def __init__(self, url: str, group: str) -> None:
        self.client, self.key = _client(url)
        import redis

        self.group = group
        self._floor: tuple[int, int] | None = None
        self._pending = True  # redeliver this consumer's unacknowledged entries first
        # where the next read of pending entries starts: after the last one handed out, so a
        # consumer may read on before acknowledging (the runner overlaps batches)
        self._cursor: str | bytes = "0"
        try:
            self.client.xgroup_create(self.key, group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def seek(self, position: str | None) -> None:
        """Entries at or below ``position`` were committed: skip (and acknowledge) them."""
        self._floor = _id(position) if position else None
        self._pending = True
        self._cursor = "0"

    def _xread(self, start: str, count: int, block: int | None) -> list:
        reply = self.client.xreadgroup(
            self.group, CONSUMER, {self.key: start}, count=count, block=block
        )
        return reply[0][1] if reply else []

    def read(self, max_messages: int, timeout: float = 0.0) -> Batch | None:
        """Up to ``max_messages`` entries: pending ones first, then new ones."""
        entries: list = []
        while self._pending and not entries:
            got = self._xread(self._cursor, max_messages, None)
            if not got:
                self._pending = False
                break
            self._cursor = got[-1][0]
            done = [eid for eid, _ in got if self._floor and _id(eid) <= self._floor]
            if done:  # landed before the crash, never acknowledged: acknowledge now
                self.client.xack(self.key, self.group, *done)
            entries = [(eid, f) for eid, f in got if not (self._floor and _id(eid) <= self._floor)]
        if not entries and not self._pending:
            block = int(timeout * 1000) if timeout > 0 else None
            while len(entries) < max_messages:
                got = self._xread(">", min(max_messages - len(entries), _CHUNK * 5), block)
                if not got:
                    break
                entries += got
                block = None
        if not entries:
            return None
        ids = [eid for eid, _ in entries]
        payloads = pa.array([_payload(f) for _, f in entries], pa.binary())
        last = max(ids, key=_id)
        return Batch(payloads, position=last.decode(), token=ids)

    def ack(self, batch: Batch) -> None:
        """``XACK`` the batch's entries (after the consumer committed them)."""
        ids = batch.token or []
        for start in range(0, len(ids), _CHUNK):
            self.client.xack(self.key, self.group, *ids[start : start + _CHUNK])

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()


def _payload(fields: dict | None) -> bytes:
    """The raw bytes of an entry: its ``data`` field, else all its fields as JSON (kept)."""
    if not fields:  # an entry deleted while pending comes back without fields
        return b""
    if FIELD in fields:
        return fields[FIELD]
    return orjson.dumps({k.decode(errors="replace"): v.decode(errors="replace")
                         for k, v in fields.items()})  # fmt: skip


def open_writer(url: str) -> RedisWriter:
    """A writer of the Redis stream at ``url``."""
    return RedisWriter(url)


def open_reader(url: str, group: str) -> RedisReader:
    """A reader of the Redis stream at ``url`` in consumer ``group``."""
    return RedisReader(url, group)
