"""Helpers shared by the command modules: consoles, date parsing, progress bars."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

from hospigen.errors import UsageError

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


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
    if not err_console.is_terminal:
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
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)
