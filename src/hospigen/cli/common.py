"""Helpers shared by the command modules: consoles, date parsing, progress bars."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from hospigen.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

    console: Console
    err_console: Console


def __getattr__(name: str) -> Console:
    # ``console`` and ``err_console`` are made on first use: importing Rich costs a few
    # hundredths of a second, which ``hospigen generate`` spends while its files are written
    if name not in ("console", "err_console"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return _console(name)


def _console(name: str) -> Console:
    """The module's ``console`` or ``err_console``, made the first time it is asked for."""
    made = globals().get(name)
    if made is None:
        from rich.console import Console

        made = globals()[name] = Console(stderr=name == "err_console", highlight=False)
    return made


def _stderr_may_be_terminal() -> bool:
    """False when Rich would certainly not treat stderr as a terminal (its own rules:
    ``TTY_COMPATIBLE``, ``FORCE_COLOR``, then ``isatty``), so Rich need not be imported."""
    compatible = os.environ.get("TTY_COMPATIBLE", "")
    if compatible in ("0", "1"):
        return compatible == "1"
    if "FORCE_COLOR" in os.environ:
        return os.environ["FORCE_COLOR"] != ""
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def parse_date(value: str | None, option: str) -> dt.date:
    """``YYYY-MM-DD`` → date; ``None`` means today.

    The CLI is the one place that reads the clock; generation code only sees the date.
    """
    if value is None:
        return dt.datetime.now(dt.UTC).date()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} must be a date as YYYY-MM-DD, got {value!r}") from None


@contextmanager
def progress_bar(description: str, total: int) -> Iterator:
    """A Rich progress bar on stderr; yields ``advance(n)``.

    A transient bar shows nothing when stderr is not a terminal, so then Rich's progress module
    is not even imported (a few hundredths of a second of start-up for every piped run).
    """
    if not _stderr_may_be_terminal() or not _console("err_console").is_terminal:
        yield lambda n: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_console("err_console"),
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)
