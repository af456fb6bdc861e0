"""``hospigen modules``: list the clinical modules and lint module files."""

from __future__ import annotations

from pathlib import Path

import typer

from hospigen.cli.common import console, err_console

modules_app = typer.Typer(help="Clinical modules: list and lint.", no_args_is_help=True)


@modules_app.command("list")
def list_command(
    modules_dir: str = typer.Option(None, "--modules-dir", help="Also list modules here."),
) -> None:
    """List the available modules with their state counts."""
    from hospigen.engine import catalog

    for name in catalog.module_names(modules_dir):
        module = catalog.load_module(name, modules_dir)
        console.print(f"{name:<32} {len(module.states):>3} states  {module.description[:60]}")


@modules_app.command("lint")
def lint_command(
    files: list[Path] = typer.Argument(None, help="Module YAML files to check."),
    all_modules: bool = typer.Option(False, "--all", help="Check every built-in module."),
    modules_dir: str = typer.Option(None, "--modules-dir", help="With --all: also this folder."),
) -> None:
    """Check modules: schema, state types, reachability, targets, probabilities, codes, ages.

    Exits 2 when there is any finding (one ``file:state: message`` line each).
    """
    from hospigen.engine import catalog
    from hospigen.engine.lint import lint_paths
    from hospigen.errors import UsageError

    paths = list(files or [])
    if all_modules:
        paths += [catalog.module_path(n, modules_dir) for n in catalog.module_names(modules_dir)]
    if not paths:
        raise UsageError("give module files or --all")
    findings = lint_paths(paths)
    for finding in findings:
        err_console.print(str(finding), highlight=False, soft_wrap=True)
    if findings:
        raise UsageError(f"{len(findings)} finding(s) in {len(paths)} module file(s)")
    console.print(f"{len(paths)} module file(s) clean")


def register(app: typer.Typer) -> None:
    """Add the ``modules`` command group."""
    app.add_typer(modules_app, name="modules")
