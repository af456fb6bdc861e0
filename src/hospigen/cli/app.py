"""The root Typer app.

Every module of this package except ``app`` and ``common`` defines ``register(app)``, which adds
its command or command group; modules are discovered, so a new command group is one new file.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from hospigen import __version__
from hospigen.cli.common import console, err_console
from hospigen.errors import HospigenError

app = typer.Typer(
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


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Synthetic healthcare data and the pipelines that land it."""


def _register_all() -> None:
    import hospigen.cli as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name not in ("app", "common"):
            importlib.import_module(f"{package.__name__}.{info.name}").register(app)


_register_all()


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the CLI; user errors print one line and set the exit code."""
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
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            return exc.exit_code
        raise
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
