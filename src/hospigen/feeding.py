"""The writer threads of a generation run: one per feed, each running its tasks in order.

A feed is a format's writer, or the run's FHIR formats (one or more) together: they render
once (``export.fhir_group``, which also joins and writes on threads of its own). Each feed has
a thread of its own, so a feed sees its tables in the order they were handed over while the
feeds work at the same time (Arrow's CSV and Parquet writers release the GIL).

Feeds that take tables one at a time (``streams_tables``: CSV, Parquet) are handed each table
of a shard built in this process as soon as it exists, so they encode it while the rest of
the shard is being built; with the last shard they are also told which tables are complete
(``table_done``), so Parquet encodes those then rather than when the run closes. The other
feeds get each shard whole.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType

import pyarrow as pa


class FeedThreads:
    """One single-thread executor per feed; use as a context manager (leaving it waits for
    every queued task)."""

    def __init__(self, feeds: list, writers: list) -> None:
        self.feeds = feeds
        self.writers = writers
        self._stack = ExitStack()
        self._threads = [
            self._stack.enter_context(
                ThreadPoolExecutor(1, thread_name_prefix=f"hospigen-writer-{i}")
            )
            for i in range(len(feeds))
        ]
        self._streams = [bool(getattr(feed, "streams_tables", False)) for feed in feeds]
        # per feed: the writes of the shard being handed over, and of the last one handed
        self._shard: list[list[Future]] = [[] for _ in feeds]
        self._last: list[list[Future]] = [[] for _ in feeds]
        self._closing: list[Future] = []

    @property
    def streaming(self) -> bool:
        """True when some feed takes tables one at a time."""
        return any(self._streams)

    def table(self, name: str, table: pa.Table, last: bool) -> None:
        """Hand one table of the shard being built to the streaming feeds (``last``: the
        run's last shard, so the table is complete)."""
        for thread, feed, streams, futures in zip(
            self._threads, self.feeds, self._streams, self._shard, strict=True
        ):
            if streams:
                futures.append(thread.submit(feed.write, {name: table}))
                if last and hasattr(feed, "table_done"):
                    futures.append(thread.submit(feed.table_done, name))

    def shard(self, tables: dict[str, pa.Table], streamed: bool) -> list[Future]:
        """Hand a built shard to the feeds that have not had its tables yet; returns every
        write of this shard (streamed ones included), to wait for."""
        for thread, feed, streams, futures in zip(
            self._threads, self.feeds, self._streams, self._shard, strict=True
        ):
            if not (streams and streamed):
                futures.append(thread.submit(feed.write, tables))
        self._last, self._shard = self._shard, [[] for _ in self.feeds]
        return [future for futures in self._last for future in futures]

    def close(self, shared: dict[str, pa.Table]) -> None:
        """Queue, on each feed's thread, the shared tables and the closing of its writers."""
        for thread, feed, last in zip(self._threads, self.feeds, self._last, strict=True):
            members = [w for w in self.writers if any(w is m for m in _members(feed))]
            self._closing.append(thread.submit(_close_feed, feed, members, shared, last))

    def closed(self) -> dict[int, list[Path]]:
        """Paths each writer wrote, by ``id(writer)`` (waits for the closing)."""
        return {id(w): paths for future in self._closing for w, paths in future.result()}

    def __enter__(self) -> FeedThreads:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.close()


def _members(feed) -> list:
    # a FHIR group feeds several writers (``feed.writers``); any other feed is one writer
    return getattr(feed, "writers", None) or [feed]


def _close_feed(
    feed, members: list, shared: dict[str, pa.Table], last: list[Future]
) -> list[tuple[object, list[Path]]]:
    """Write the shared tables to ``feed`` and close its writers: (writer, paths).

    Runs on the feed's thread after the feed's writes of the last shard (``last``, all done
    by then); when one failed, nothing is closed (files stay ``.partial``) and the generation
    reports that error.
    """
    if any(future.exception() is not None for future in last):
        return []
    feed.write(shared)
    return [(w, w.close()) for w in members]
