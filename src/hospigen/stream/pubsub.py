"""Google Pub/Sub adapter (``gcp`` extra); honours ``PUBSUB_EMULATOR_HOST``.

* publish to ``pubsub://projects/P/topics/T`` (the official client batches publishes);
* consume from ``pubsub://projects/P/subscriptions/S`` with unary ``Pull`` (up to 1,000
  messages a call), extending each pulled message's ack deadline while the batch is processed,
  and ``Acknowledge`` only after the consumer committed its output.

Pub/Sub is unordered and at-least-once, so the reader is not *ordered*: a batch carries the
message ids, which the consumer stores with its rows and uses to drop redeliveries. Without
``--follow``, a pull that returns nothing is taken as the end of the backlog.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pyarrow as pa

from hospigen.errors import MissingExtraError, UsageError
from hospigen.stream import Batch

_PATH = re.compile(r"^projects/([a-z][a-z0-9-]{4,29}|[A-Za-z0-9._:-]+)/(topics|subscriptions)/"
                   r"([A-Za-z][A-Za-z0-9._~+%-]{2,254})$")  # fmt: skip
PULL_MAX = 1000  # Pub/Sub's cap on messages per Pull
ACK_CHUNK = 2500  # ack ids per Acknowledge / ModifyAckDeadline call
HOLD_SECONDS = 600  # ack deadline while a pulled batch is processed (Pub/Sub's maximum)


def parse(url: str, kind: str) -> str:
    """The resource path ``projects/P/<kind>/NAME`` of a ``pubsub://`` URL."""
    path = url.removeprefix("pubsub://")
    m = _PATH.match(path)
    if not m or m.group(2) != kind:
        example = f"pubsub://projects/P/{kind}/NAME"
        raise UsageError(f"expected {example} here, got {url!r}")
    return path


def _pubsub():
    try:
        from google.cloud import pubsub_v1
    except ImportError:
        raise MissingExtraError("gcp", "the Pub/Sub adapter") from None
    return pubsub_v1


class PubSubWriter:
    """Publishes raw bytes to a topic and waits until every message is accepted."""

    def __init__(self, url: str) -> None:
        pubsub_v1 = _pubsub()
        self.topic = parse(url, "topics")
        settings = pubsub_v1.types.BatchSettings(
            max_messages=1000, max_bytes=9 * 1024 * 1024, max_latency=0.05
        )
        self.client = pubsub_v1.PublisherClient(batch_settings=settings)

    def publish(self, payloads: Sequence[bytes] | pa.Array) -> int:
        """Publish ``payloads``; returns how many the service accepted."""
        items = payloads.to_pylist() if isinstance(payloads, pa.Array) else payloads
        futures = [self.client.publish(self.topic, bytes(p)) for p in items]
        for f in futures:
            f.result()
        return len(futures)

    def close(self) -> None:
        """Stop the publisher's batching thread."""
        self.client.stop()


class PubSubReader:
    """Pulls from a subscription; acknowledges after the consumer commits."""

    ordered = False

    def __init__(self, url: str, group: str) -> None:
        pubsub_v1 = _pubsub()
        self.subscription = parse(url, "subscriptions")
        self.client = pubsub_v1.SubscriberClient()

    def seek(self, position: str | None) -> None:
        """Pub/Sub keeps the group's place itself (the subscription); nothing to do."""

    def _pull(self, n: int, timeout: float) -> list:
        from google.api_core import exceptions

        try:
            reply = self.client.pull(
                request={"subscription": self.subscription, "max_messages": n},
                timeout=max(timeout, 5.0),
                retry=None,
            )
        except exceptions.DeadlineExceeded:
            return []
        except exceptions.NotFound:
            raise UsageError(f"no Pub/Sub subscription {self.subscription}") from None
        received = list(reply.received_messages)
        if received:  # hold them while the batch is assembled and processed
            self._modify([m.ack_id for m in received], HOLD_SECONDS)
        return received

    def _modify(self, ack_ids: list[str], seconds: int) -> None:
        for start in range(0, len(ack_ids), ACK_CHUNK):
            self.client.modify_ack_deadline(
                request={
                    "subscription": self.subscription,
                    "ack_ids": ack_ids[start : start + ACK_CHUNK],
                    "ack_deadline_seconds": seconds,
                }
            )

    def read(self, max_messages: int, timeout: float = 0.0) -> Batch | None:
        """Up to ``max_messages`` messages; ``None`` when a pull brings nothing."""
        received: list = []
        while len(received) < max_messages:
            got = self._pull(min(PULL_MAX, max_messages - len(received)), timeout)
            if not got:
                break
            received += got
        if not received:
            return None
        payloads = pa.array([m.message.data for m in received], pa.binary())
        ids = [m.message.message_id for m in received]
        return Batch(payloads, ids=ids, token=[m.ack_id for m in received])

    def ack(self, batch: Batch) -> None:
        """Acknowledge the batch's messages (after the consumer committed them)."""
        ack_ids = batch.token or []
        for start in range(0, len(ack_ids), ACK_CHUNK):
            self.client.acknowledge(
                request={"subscription": self.subscription,
                         "ack_ids": ack_ids[start : start + ACK_CHUNK]}
            )  # fmt: skip

    def close(self) -> None:
        """Close the gRPC channel."""
        self.client.close()


def open_writer(url: str) -> PubSubWriter:
    """A publisher to the topic of ``url``."""
    return PubSubWriter(url)


def open_reader(url: str, group: str) -> PubSubReader:
    """A subscriber of the subscription of ``url`` (the subscription is the group)."""
    return PubSubReader(url, group)
