"""Crash points for recovery tests: ``checkpoint(name)`` kills the process when armed.

The CLI arms one point from ``HOSPIGEN_INGEST_CRASH_AT=name[#n]`` (die the n-th time, default 1st),
so tests can SIGKILL a real run at a precise step and check that re-running converges.
"""

from __future__ import annotations

import os
import signal

_armed: tuple[str, int] | None = None
_seen: dict[str, int] = {}

POINTS = (
    "land:after-put",  # some landed objects written, ledger not yet
    "land:before-source",  # every object and its ledger row written, source digest not yet
    "load:after-wrap-put",  # wrapped objects written, staging rows not yet committed
    "load:before-commit",  # staging rows inserted inside the open transaction
    "load:after-commit",  # one batch committed, later batches not loaded
    "materialize:mid",  # some MERGEs ran inside the open transaction
)


def arm(spec: str | None) -> None:
    """Arm ``name`` or ``name#n``; ``None``/empty disarms."""
    global _armed
    _seen.clear()
    if not spec:
        _armed = None
        return
    name, _, nth = spec.partition("#")
    if name not in POINTS:
        raise ValueError(f"unknown crash point {name!r}; known: {', '.join(POINTS)}")
    _armed = (name, int(nth or 1))


def checkpoint(name: str) -> None:
    """SIGKILL this process if ``name`` is the armed point (for the n-th time)."""
    if _armed is None or _armed[0] != name:
        return
    _seen[name] = _seen.get(name, 0) + 1
    if _seen[name] >= _armed[1]:
        os.kill(os.getpid(), signal.SIGKILL)
