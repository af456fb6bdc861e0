"""The root Typer app.

Every module of this package except ``app`` and ``common`` defines ``register(app)``, which adds
its command or command group; modules are discovered, so a new command group is one new file.

Start-up: the Typer app (Typer, Click, pydantic and every command module) is built on first use.
``hospigen generate`` with plain arguments skips it altogether (see
:func:`hospigen.cli.generate.parse_fast`): Typer's import and per-parameter pydantic adapters
cost about a quarter of a second, a large share of a small run.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys

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


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the CLI; user errors print one line and set the exit code."""
    try:
        code = _fast(sys.argv[1:] if argv is None else list(argv))
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
    return _main_typer(argv)


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
    sys.exit(main())
