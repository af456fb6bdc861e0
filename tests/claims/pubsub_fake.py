"""A small in-process Pub/Sub server speaking the real gRPC API, for tests.

No Pub/Sub emulator is installable here (the official one ships only with the gcloud SDK), so
this implements the part of ``google.pubsub.v1.Publisher`` / ``Subscriber`` the official
client and Beam use — CreateTopic, GetTopic, CreateSubscription, GetSubscription, Publish,
Pull, Acknowledge, ModifyAckDeadline, StreamingPull — with at-least-once semantics: a pulled
message is redelivered when its ack deadline passes or is set to 0 before it is acknowledged.
Point clients at it with ``PUBSUB_EMULATOR_HOST=<server.host>``.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from concurrent import futures
from dataclasses import dataclass, field

import grpc
from google.protobuf import empty_pb2, timestamp_pb2
from google.pubsub_v1 import types


@dataclass
class _Sub:
    topic: str
    ack_deadline: int
    queue: deque = field(default_factory=deque)  # PubsubMessage waiting for delivery
    out: dict = field(default_factory=dict)  # ack_id → (message, deadline, attempts)
    attempts: dict = field(default_factory=dict)  # message_id → deliveries so far


class FakePubSub:
    """The server; ``host`` is ``127.0.0.1:<port>``. Use as a context manager."""

    def __init__(self) -> None:
        self.topics: set[str] = set()
        self.subs: dict[str, _Sub] = {}
        self.lock = threading.Lock()
        self._ids = itertools.count(1)
        self._acks = itertools.count(1)
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        self.server.add_generic_rpc_handlers([self._publisher(), self._subscriber()])
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.host = f"127.0.0.1:{self.port}"

    def __enter__(self) -> FakePubSub:
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop(grace=None)

    # ------------------------------------------------------------------ handlers
    @staticmethod
    def _unary(fn, request_type, response_type):
        return grpc.unary_unary_rpc_method_handler(
            fn,
            request_deserializer=request_type.deserialize,
            response_serializer=(
                response_type.SerializeToString
                if response_type is empty_pb2.Empty
                else response_type.serialize
            ),
        )

    def _publisher(self):
        u = self._unary
        return grpc.method_handlers_generic_handler(
            "google.pubsub.v1.Publisher",
            {
                "CreateTopic": u(self.create_topic, types.Topic, types.Topic),
                "GetTopic": u(self.get_topic, types.GetTopicRequest, types.Topic),
                "Publish": u(self.publish, types.PublishRequest, types.PublishResponse),
            },
        )

    def _subscriber(self):
        u = self._unary
        return grpc.method_handlers_generic_handler(
            "google.pubsub.v1.Subscriber",
            {
                "CreateSubscription": u(self.create_sub, types.Subscription, types.Subscription),
                "GetSubscription": u(
                    self.get_sub, types.GetSubscriptionRequest, types.Subscription
                ),
                "Pull": u(self.pull, types.PullRequest, types.PullResponse),
                "Acknowledge": u(self.acknowledge, types.AcknowledgeRequest, empty_pb2.Empty),
                "ModifyAckDeadline": u(
                    self.modify, types.ModifyAckDeadlineRequest, empty_pb2.Empty
                ),
                "StreamingPull": grpc.stream_stream_rpc_method_handler(
                    self.streaming_pull,
                    request_deserializer=types.StreamingPullRequest.deserialize,
                    response_serializer=types.StreamingPullResponse.serialize,
                ),
            },
        )

    # ------------------------------------------------------------------ publisher
    def create_topic(self, request, context):
        with self.lock:
            if request.name in self.topics:
                context.abort(grpc.StatusCode.ALREADY_EXISTS, "Topic already exists")
            self.topics.add(request.name)
        return types.Topic(name=request.name)

    def get_topic(self, request, context):
        if request.topic not in self.topics:
            context.abort(grpc.StatusCode.NOT_FOUND, "Topic not found")
        return types.Topic(name=request.topic)

    def publish(self, request, context):
        if request.topic not in self.topics:
            context.abort(grpc.StatusCode.NOT_FOUND, "Topic not found")
        now = timestamp_pb2.Timestamp()
        now.GetCurrentTime()
        ids = []
        with self.lock:
            targets = [s for s in self.subs.values() if s.topic == request.topic]
            for m in request.messages:
                mid = str(next(self._ids))
                msg = types.PubsubMessage(
                    data=m.data, attributes=dict(m.attributes), message_id=mid, publish_time=now
                )
                for sub in targets:
                    sub.queue.append(msg)
                ids.append(mid)
        return types.PublishResponse(message_ids=ids)

    # ------------------------------------------------------------------ subscriber
    def create_sub(self, request, context):
        with self.lock:
            if request.name in self.subs:
                context.abort(grpc.StatusCode.ALREADY_EXISTS, "Subscription already exists")
            if request.topic not in self.topics:
                context.abort(grpc.StatusCode.NOT_FOUND, "Topic not found")
            self.subs[request.name] = _Sub(request.topic, request.ack_deadline_seconds or 10)
        return types.Subscription(name=request.name, topic=request.topic, ack_deadline_seconds=10)

    def get_sub(self, request, context):
        sub = self.subs.get(request.subscription)
        if sub is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "Subscription not found")
        return types.Subscription(
            name=request.subscription, topic=sub.topic, ack_deadline_seconds=sub.ack_deadline
        )

    def _sub(self, name: str, context) -> _Sub:
        sub = self.subs.get(name)
        if sub is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "Subscription not found")
        return sub

    def _take(self, sub: _Sub, n: int, deadline: int) -> list:
        """Up to ``n`` messages, expired leases first returned to the queue (caller locks)."""
        now = time.monotonic()
        for ack_id, (msg, due, _) in list(sub.out.items()):
            if due <= now:
                del sub.out[ack_id]
                sub.queue.appendleft(msg)
        got = []
        while sub.queue and len(got) < n:
            msg = sub.queue.popleft()
            attempt = sub.attempts.get(msg.message_id, 0) + 1
            sub.attempts[msg.message_id] = attempt
            ack_id = f"{msg.message_id}:{next(self._acks)}"
            sub.out[ack_id] = (msg, now + deadline, attempt)
            got.append(types.ReceivedMessage(ack_id=ack_id, message=msg))
        return got

    def pull(self, request, context):
        with self.lock:
            sub = self._sub(request.subscription, context)
            got = self._take(sub, request.max_messages or 1, sub.ack_deadline)
        return types.PullResponse(received_messages=got)

    def _ack(self, sub: _Sub, ack_ids) -> None:
        for ack_id in ack_ids:
            entry = sub.out.pop(ack_id, None)
            if entry is not None:
                sub.attempts.pop(entry[0].message_id, None)

    def _modify(self, sub: _Sub, ack_ids, seconds: int) -> None:
        now = time.monotonic()
        for ack_id in ack_ids:
            if ack_id in sub.out:
                msg, _, attempt = sub.out[ack_id]
                sub.out[ack_id] = (msg, now + seconds, attempt)

    def acknowledge(self, request, context):
        with self.lock:
            self._ack(self._sub(request.subscription, context), request.ack_ids)
        return empty_pb2.Empty()

    def modify(self, request, context):
        with self.lock:
            sub = self._sub(request.subscription, context)
            self._modify(sub, request.ack_ids, request.ack_deadline_seconds)
        return empty_pb2.Empty()

    def streaming_pull(self, requests, context):
        first = next(requests)
        with self.lock:
            sub = self._sub(first.subscription, context)
        deadline = first.stream_ack_deadline_seconds or sub.ack_deadline
        done = threading.Event()

        def consume(req) -> None:
            with self.lock:
                self._ack(sub, req.ack_ids)
                for ack_id, secs in zip(
                    req.modify_deadline_ack_ids, req.modify_deadline_seconds, strict=False
                ):
                    self._modify(sub, [ack_id], secs)

        def reader() -> None:
            try:
                for req in requests:
                    consume(req)
            except grpc.RpcError:
                pass
            done.set()

        consume(first)
        threading.Thread(target=reader, daemon=True).start()
        while context.is_active() and not done.is_set():
            with self.lock:
                got = self._take(sub, 100, deadline)
            if got:
                yield types.StreamingPullResponse(received_messages=got)
            else:
                time.sleep(0.02)
