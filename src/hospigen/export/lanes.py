"""Lanes: one worker thread per lane, each running its tasks in submission order.

Writers of different formats (or of the same rendered window) work at the same time while the
output of each stays in order: a lane is one thread, so its tasks never overlap or reorder.
Arrow kernels, file writes and ``os.writev`` release the GIL, which is what lets lanes overlap.
A lane's queue holds at most ``depth`` waiting tasks, so a producer that runs ahead waits for
a slow lane instead of piling up rendered text in memory.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from types import TracebackType


class Lanes:
    """``count`` worker threads; :meth:`submit` queues a task on one lane.

    Use as a context manager: leaving the block waits for every lane to finish and re-raises
    the first error a task raised (tasks queued after a failure are skipped).
    """

    def __init__(self, count: int, *, depth: int = 1, name: str = "hospigen-lane") -> None:
        self._queues: list[queue.Queue] = [queue.Queue(maxsize=depth) for _ in range(count)]
        self._errors: list[BaseException] = []
        self._threads = [
            threading.Thread(target=self._run, args=(q,), name=f"{name}-{n}", daemon=True)
            for n, q in enumerate(self._queues)
        ]
        for thread in self._threads:
            thread.start()

    def _run(self, tasks: queue.Queue) -> None:
        while (task := tasks.get()) is not None:
            if self._errors:
                continue  # an earlier task failed: drain the lane without running more
            fn, args = task
            try:
                fn(*args)
            except BaseException as exc:  # handed to the submitting thread by submit/close
                self._errors.append(exc)

    def submit(self, lane: int, fn: Callable, *args: object) -> None:
        """Run ``fn(*args)`` on ``lane`` after the tasks already queued there."""
        if self._errors:
            raise self._errors[0]
        self._queues[lane].put((fn, args))

    def close(self) -> None:
        """Wait for every lane to finish; re-raise the first error of any task."""
        for tasks in self._queues:
            tasks.put(None)
        for thread in self._threads:
            thread.join()
        if self._errors:
            raise self._errors[0]

    def __enter__(self) -> Lanes:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
            return
        with contextlib.suppress(BaseException):  # the block's own error is the one to report
            self.close()
