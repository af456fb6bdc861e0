"""The root Typer app.

Every module of this package except ``app`` and ``common`` defines ``register(app)``, which adds
its command or command group; modules are discovered, so a new command group is one new file.

Start-up: the Typer app (Typer, Click, pydantic and every command module) is built on first use.
``hospigen generate`` with plain arguments skips it altogether (see
:func:`hospigen.cli.generate.parse_fast`): Typer's import and per-parameter pydantic adapters
cost about a quarter of a second, a large share of a small run.
"""

from __future__ import annotations

import atexit
import importlib
import os
import pkgutil
import sys
from typing import NoReturn

# numpy's OpenBLAS starts a thread per extra core when numpy is imported, and the thread spins
# for a while: CPU taken from the writer threads on a small machine. hospigen does no linear
# algebra, so the CLI asks for one thread (set before numpy is imported; a user's setting wins)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from hospigen import __version__
from hospigen.errors import HospigenError


def _build_app():
    import typer

    from hospigen.cli.common import console

    typer_app = typer.Typer(
        name="hospigen",
        help="Synthetic healthcare data and the pipelines that land it.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode="rich",
    )

    def _version(value: bool) -> None:
        if value:
            console.print(f"hospigen {__version__}")
            raise typer.Exit()

    @typer_app.callback()
    def _root(
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ) -> None:
        """Synthetic healthcare data and the pipelines that land it."""

    import hospigen.cli as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name not in ("app", "common"):
            importlib.import_module(f"{package.__name__}.{info.name}").register(typer_app)
    return typer_app


_built = None  # the Typer app, once built


def _typer_app():
    global _built
    if _built is None:
        _built = _build_app()
    return _built


def __getattr__(name: str):
    # ``app`` is built on first access (``from hospigen.cli.app import app``, ``typer …``)
    if name == "app":
        return _typer_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), "app"})


def _replaced_app():
    """An ``app`` set on this module from outside (tests monkeypatch it), else None."""
    app = globals().get("app")
    return app if app is not None and app is not _built else None


def _fast(args: list[str]) -> int | None:
    """Run ``generate`` without Typer when its arguments are plain; ``None`` to use Typer."""
    if not args or args[0] != "generate" or _replaced_app() is not None:
        return None
    from hospigen.cli.generate import collector_paused, parse_fast, run_generate

    params = parse_fast(args[1:])
    if params is None:
        return None
    with collector_paused(params):
        run_generate(**params)
    return 0


# commands that run to completion over large arrays (not the long-lived ``--follow`` consumers)
_BATCH_COMMANDS = frozenset({"generate", "demo"})


def _tune_allocators_for_batch(args: list[str]) -> None:
    """Keep freed memory for reuse during a batch command (a user's own settings win).

    A run allocates and frees large arrays shard after shard. Left to their defaults, numpy
    asks the kernel for huge pages (which it may compact memory to find, on the allocating
    thread), and glibc and Arrow's mimalloc hand freed memory back at once, so the next shard
    pays for page faults and page zeroing again: on this project's 2-core benchmark machine
    that was 0.3-0.7 s of system time per 50,000 patients. Keeping the memory costs a few per
    cent of peak RSS. The two variables must be set before numpy and pyarrow are imported;
    glibc's thresholds are set with ``mallopt`` because it reads its ``MALLOC_*`` variables
    only at process start. With them, up to 1 GiB of freed heap is kept instead of trimmed, and
    arrays below 1 GiB come from the heap rather than from a mapping of their own that is
    unmapped when freed (glibc's own threshold adapts only up to 32 MiB; a thread's own arena
    still maps what its 64 MiB heaps cannot hold).

    Only :func:`run` (the program) calls this: settings made here last for the whole process.
    """
    if not args or args[0] not in _BATCH_COMMANDS:
        return
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    os.environ.setdefault("MIMALLOC_PURGE_DELAY", "-1")
    glibc_settings = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES")
    if sys.platform != "linux" or any(name in os.environ for name in glibc_settings):
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    mallopt(m_trim_threshold, 1 << 30)
    mallopt(m_mmap_threshold, 1 << 30)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI (``argv``: the arguments, default ``sys.argv[1:]``) and return its exit code;
    user errors print one line. For use inside a process that goes on; the ``hospigen``
    program itself is :func:`run`."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        code = _fast(args)
    except HospigenError as exc:
        from hospigen.cli.common import err_console

        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        return exc.exit_code
    except KeyboardInterrupt:  # as Click does: a new line, then "aborted"
        from hospigen.cli.common import err_console

        print(file=sys.stderr)
        err_console.print("[bold red]aborted[/]")
        return 130
    if code is not None:
        return code
    return _main_typer(args)


def run() -> NoReturn:
    """The ``hospigen`` program: :func:`main` on the command line's arguments, then exit.

    Batch commands get allocator settings that keep freed memory for reuse
    (:func:`_tune_allocators_for_batch`), and a successful ``generate`` ends without the
    interpreter's teardown (:func:`_exit_without_teardown`) unless a profiler or tracer
    (cProfile, coverage) is watching and still has to write its results.
    """
    args = sys.argv[1:]
    _tune_allocators_for_batch(args)
    code = main(args)
    watched = sys.getprofile() is not None or sys.gettrace() is not None
    if code == 0 and args and args[0] == "generate" and not watched:
        _exit_without_teardown(code)
    sys.exit(code)


def _exit_without_teardown(code: int) -> NoReturn:
    """End the process after a finished ``generate``, skipping the interpreter's teardown.

    By then every file is closed and in place and the writer threads have stopped; what the
    teardown would add is freeing ~10^5 objects and every cached array one at a time, and a last
    garbage collection: 0.05-0.1 s, a sixth of a 200-patient run. atexit handlers still run,
    and the output streams are flushed; a flush that fails ends with 120, as Python's own exit
    does.
    """
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # started with the descriptor closed
            continue
        try:
            stream.flush()
        except ValueError:  # already closed by someone: nothing left to flush
            pass
        except OSError:  # a reader that went away (``| head``), a full disk
            code = code or 120
    os._exit(code)


def _main_typer(argv: list[str] | None) -> int:
    import typer

    from hospigen.cli.common import err_console

    app = _replaced_app() or _typer_app()
    try:
        # in non-standalone mode click returns a command's exit code (typer.Exit) instead of
        # exiting, so the code must be passed on, not dropped
        result = app(args=argv, standalone_mode=False)
    except HospigenError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err_console.print("[bold red]aborted[/]")
        return 130
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        if isinstance(exc, _click_exceptions()):
            exc.show()
            return exc.exit_code
        raise
    return result if isinstance(result, int) else 0


def _click_exceptions() -> tuple[type, ...]:
    """Click's usage-error base class: Typer 0.29 vendors Click (``typer._click``), older Typers
    use the ``click`` package; either may raise."""
    found = []
    try:
        from typer._click.exceptions import ClickException

        found.append(ClickException)
    except ImportError:
        pass
    try:
        import click

        found.append(click.ClickException)
    except ImportError:
        pass
    return tuple(found)


if __name__ == "__main__":
    run()
