"""``hospigen generate``: a synthetic cohort in CSV, Parquet and the exchange formats."""

from __future__ import annotations

import typer
from rich.table import Table

from hospigen.cli.common import console, parse_date, progress_bar


def generate_command(
    ctx: typer.Context,
    num_records: int = typer.Option(1000, "--num-records", "-n", help="Number of patients."),
    seed: int = typer.Option(0, "--seed", "-s", help="Run seed: same seed, same bytes."),
    output_dir: str = typer.Option(
        "output",
        "--output-dir",
        "-o",
        help="Output folder (with --runner beam: also gs://, s3://).",
    ),
    runner: str = typer.Option(
        "local",
        "--runner",
        help="local, or beam: an Apache Beam pipeline over shards writing Parquet parts; "
        "Beam options follow after the others (e.g. --runner beam -- --runner=DataflowRunner …).",
    ),
    output_format: str = typer.Option(
        "both", "--output-format", help="Tabular format: csv, parquet or both."
    ),
    as_of: str = typer.Option(
        None, "--as-of", help="Simulation end date YYYY-MM-DD (default: today, UTC)."
    ),
    formats: list[str] = typer.Option(
        None,
        "--formats",
        help="Extra output formats by name, repeatable or comma-separated (see --list-formats).",
    ),
    list_formats: bool = typer.Option(False, "--list-formats", help="List formats and exit."),
    format_option: list[str] = typer.Option(
        None,
        "--format-option",
        help="Exporter option FORMAT.NAME=VALUE, repeatable (e.g. fhir.bundle_max_entries=500).",
    ),
    state: list[str] = typer.Option(
        None, "--state", help="Limit the population to these states (USPS codes; repeatable)."
    ),
    workers: int = typer.Option(1, "--workers", "-w", help="Worker processes for shards."),
    shard_size: int = typer.Option(
        5_000,
        "--shard-size",
        help="Patients per shard (bounds peak memory; output bytes do not depend on it).",
    ),
    scenario: str = typer.Option("general", "--scenario", help="Scenario (see --list-scenarios)."),
    module: list[str] = typer.Option(
        None, "--module", "-m", help="Extra clinical module, repeatable (see --list-modules)."
    ),
    modules_dir: str = typer.Option(
        None, "--modules-dir", help="Folder with your own module YAML files (and scenarios/)."
    ),
    years_of_history: float = typer.Option(
        10.0, "--years-of-history", help="Years of history before the as-of date."
    ),
    list_scenarios: bool = typer.Option(False, "--list-scenarios", help="List scenarios, exit."),
    list_modules: bool = typer.Option(False, "--list-modules", help="List modules and exit."),
) -> None:
    """Generate a synthetic cohort and write every table."""
    from hospigen import export
    from hospigen.engine import catalog
    from hospigen.errors import UsageError
    from hospigen.generation import generate, make_plan

    if list_scenarios:
        from hospigen.engine.scenario import load_scenario

        for name in catalog.scenario_names(modules_dir):
            sc = load_scenario(name, modules_dir)
            mods = ", ".join(m.name for m in sc.modules) or "-"
            console.print(f"{name:<26} modules: {mods}")
        return
    if list_modules:
        for name in catalog.module_names(modules_dir):
            console.print(f"{name:<32} {catalog.load_module(name, modules_dir).description[:70]}")
        return
    if list_formats:
        for name, description in export.available().items():
            console.print(f"{name:<14} {description}")
        return
    tabular = {"csv": ["csv"], "parquet": ["parquet"], "both": ["csv", "parquet"]}
    if output_format not in tabular:
        raise UsageError(f"--output-format must be csv, parquet or both, got {output_format!r}")
    chosen = list(tabular[output_format])
    for item in formats or []:
        for name in filter(None, (part.strip() for part in item.split(","))):
            export.get(name)  # unknown names fail here, before any work
            if name not in chosen:
                chosen.append(name)
    options = {}
    for item in format_option or []:
        key, sep, value = item.partition("=")
        if not sep or "." not in key:
            raise UsageError(f"--format-option must look like FORMAT.NAME=VALUE, got {item!r}")
        options[key.strip()] = value.strip()
    date = parse_date(as_of, "--as-of")
    modules = list(dict.fromkeys(module or []))
    plan = make_plan(scenario, modules, years_of_history=years_of_history, modules_dir=modules_dir)
    if runner not in ("local", "beam"):
        raise UsageError(f"--runner must be local or beam, got {runner!r}")
    if ctx.args and runner != "beam":
        raise UsageError(f"unexpected arguments: {' '.join(ctx.args)}")
    if runner == "beam":
        _run_on_beam(ctx.args, num_records, output_dir, seed, date, shard_size, state, scenario,
                     modules, years_of_history, modules_dir)  # fmt: skip
        return
    with progress_bar("generating patients", num_records) as advance:
        summary = generate(
            num_records,
            output_dir,
            seed=seed,
            as_of=date,
            formats=chosen,
            states=state or None,
            shard_size=shard_size,
            workers=workers,
            on_shard=advance,
            format_options=options,
            plan=plan,
        )
    table = Table(title=f"hospigen generate — seed {seed}, as of {date}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in summary.counts.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    top = ", ".join(f"{c['code']} ({c['rows']:,})" for c in summary.top_conditions(5))
    console.print(f"scenario {summary.scenario}; modules: {', '.join(summary.modules) or '-'}")
    console.print(f"top conditions: {top or '-'}")
    console.print(f"wrote {len(summary.files)} files to {output_dir}/ (summary.json lists them)")


def _run_on_beam(beam_args, num_records, output_dir, seed, date, shard_size, states, scenario,
                 modules, years_of_history, modules_dir) -> None:  # fmt: skip
    """Generation as a Beam pipeline (DirectRunner unless the Beam options name a runner)."""
    from hospigen.beam.generate_pipeline import GenerationConfig, run_generation

    config = GenerationConfig(
        num_records, output_dir, seed, date, shard_size, tuple(states) if states else None,
        scenario, tuple(modules), years_of_history, modules_dir,
    )  # fmt: skip
    args = list(beam_args)
    if not any(a.startswith("--runner") for a in args):
        args.append("--runner=DirectRunner")
    with console.status(f"running {config.shard_count} shards on Apache Beam …"):
        run_generation(config, args)
    console.print(f"wrote {config.shard_count} shard(s) of Parquet parts to {output_dir}/parts/")


def register(app: typer.Typer) -> None:
    """Add ``generate`` to the root app."""
    app.command(
        "generate", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
    )(generate_command)
