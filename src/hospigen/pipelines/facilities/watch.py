"""The local event trigger: poll a folder and run stage 3 for each new or changed file.

A file is an event when its (size, mtime) differs from what the last poll saw and its content
checksum differs from the one processed last; the state lives in ``watch-state.json`` under the
destination, so a restarted watcher does not redo finished work. Processing is idempotent, so a
crash between processing and saving the state only repeats identical writes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from hospigen.errors import UsageError
from hospigen.pipelines.facilities.common import StageResult
from hospigen.pipelines.facilities.reader import INPUT_PATTERN
from hospigen.pipelines.facilities.state_counts import run_state_counts
from hospigen.pipelines.facilities.storage import Location, overlaps

STATE_KEY = "exports/state_counts/_watch/watch-state.json"


@dataclass
class WatchReport:
    """Events processed by :func:`watch`."""

    results: list[StageResult] = field(default_factory=list)
    polls: int = 0


def _load_state(dest: Location) -> dict:
    return orjson.loads(dest.read_bytes(STATE_KEY)) if dest.exists(STATE_KEY) else {}


def poll_once(
    source: Location, dest: Location, today: dt.date, state: dict, limit: int | None = None
) -> list[StageResult]:
    """Process the new or changed files of one poll (at most ``limit``); updates ``state``."""
    results = []
    for key in source.files(INPUT_PATTERN):
        if limit is not None and len(results) >= limit:
            break
        info = source.fs.info(source.path(key))
        stamp = [info.get("size"), str(info.get("mtime") or info.get("LastModified") or "")]
        seen = state.get(key, {})
        if seen.get("stamp") == stamp:
            continue
        digest = hashlib.sha256(source.read_bytes(key)).hexdigest()
        if seen.get("sha256") != digest or seen.get("date") != today.isoformat():
            results.append(run_state_counts(source, key, dest, today))
        state[key] = {"stamp": stamp, "sha256": digest, "date": today.isoformat()}
        dest.write_bytes(STATE_KEY, orjson.dumps(state, option=orjson.OPT_SORT_KEYS))
    return results


def watch(
    source: Location,
    dest: Location,
    today: Callable[[], dt.date],
    interval: float = 2.0,
    once: bool = False,
    max_events: int | None = None,
    on_event: Callable[[StageResult], None] | None = None,
) -> WatchReport:
    """Poll ``source`` every ``interval`` s; stop after one poll (``once``) or ``max_events``."""
    if overlaps(source, dest):
        raise UsageError("the watched folder and the output must not contain each other")
    report = WatchReport()
    state = _load_state(dest)
    while True:
        left = None if max_events is None else max_events - len(report.results)
        new = poll_once(source, dest, today(), state, left)
        report.polls += 1
        for result in new:
            report.results.append(result)
            if on_event:
                on_event(result)
        if once or (max_events is not None and len(report.results) >= max_events):
            return report
        time.sleep(interval)
