"""``hospigen generate``: a synthetic cohort in CSV, Parquet and the exchange formats.

The command body is :func:`run_generate`, a plain function; :func:`register` wraps it as a Typer
command. :func:`parse_fast` reads the common, plain spellings of the options without Typer, so
``hospigen generate …`` starts without importing Typer, Click and pydantic (about a quarter of a
second); anything it does not recognise for certain goes through Typer, unchanged.
"""

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

# option spelling → (parameter, kind); kinds: int, float, str, list (repeatable), flag
_OPTIONS: dict[str, tuple[str, str]] = {
    "--num-records": ("num_records", "int"),
    "-n": ("num_records", "int"),
    "--seed": ("seed", "int"),
    "-s": ("seed", "int"),
    "--output-dir": ("output_dir", "str"),
    "-o": ("output_dir", "str"),
    "--runner": ("runner", "str"),
    "--output-format": ("output_format", "str"),
    "--as-of": ("as_of", "str"),
    "--formats": ("formats", "list"),
    "--list-formats": ("list_formats", "flag"),
    "--format-option": ("format_option", "list"),
    "--state": ("state", "list"),
    "--workers": ("workers", "int"),
    "-w": ("workers", "int"),
    "--shard-size": ("shard_size", "int"),
    "--scenario": ("scenario", "str"),
    "--module": ("module", "list"),
    "-m": ("module", "list"),
    "--modules-dir": ("modules_dir", "str"),
    "--years-of-history": ("years_of_history", "float"),
    "--list-scenarios": ("list_scenarios", "flag"),
    "--list-modules": ("list_modules", "flag"),
}


def parse_fast(args: Sequence[str]) -> dict | None:
    """The parameters of ``generate ARGS`` for plain ``--name value`` / ``--name=value`` / ``-x
    value`` arguments with valid values; ``None`` for anything else (help, extra arguments,
    ``--runner beam``, a bad number, …), which Typer then handles with its own messages."""
    params: dict = {}
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        spec = _OPTIONS.get(name)
        if spec is None:
            return None
        dest, kind = spec
        if kind == "flag":
            if eq:
                return None
            params[dest] = True
            i += 1
            continue
        if eq:
            value = inline
            i += 1
        else:
            if i + 1 >= len(args):
                return None
            value = args[i + 1]
            i += 2
        if value.startswith("-") and not value.lstrip("-").replace(".", "", 1).isdigit():
            return None  # maybe an option: let Click decide
        try:
            if kind == "int":
                params[dest] = int(value)
            elif kind == "float":
                params[dest] = float(value)
            elif kind == "list":
                params.setdefault(dest, []).append(value)
            else:
                params[dest] = value
        except ValueError:
            return None
    if params.get("runner", "local") != "local":
        return None
    return params


@contextmanager
def collector_paused(params: dict) -> Iterator[None]:
    """Cyclic garbage collection off for a run of one shard (``params`` of :func:`parse_fast`).

    Start-up makes some 10^5 long-lived objects (modules, catalogues, parsed modules) that the
    collector scanned again and again: ~0.03-0.05 s of a small run. One shard bounds what
    cyclic garbage can pile up; longer runs keep the collector. The previous state is restored.
    """
    one_shard = params.get("num_records", 1000) <= params.get("shard_size", 5_000)
    enabled = gc.isenabled()
    if one_shard:
        gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def run_generate(
    *,
    num_records: int = 1000,
    seed: int = 0,
    output_dir: str = "output",
    runner: str = "local",
    output_format: str = "both",
    as_of: str | None = None,
    formats: list[str] | None = None,
    list_formats: bool = False,
    format_option: list[str] | None = None,
    state: list[str] | None = None,
    workers: int = 0,
    shard_size: int = 5_000,
    scenario: str = "general",
    module: list[str] | None = None,
    modules_dir: str | None = None,
    years_of_history: float = 10.0,
    list_scenarios: bool = False,
    list_modules: bool = False,
    extra_args: Sequence[str] = (),
) -> None:
    """Generate a synthetic cohort and write every table (the body of ``hospigen generate``)."""
    from hospigen.cli.common import parse_date, progress_bar
    from hospigen.engine import catalog
    from hospigen.errors import UsageError

    if list_scenarios or list_modules or list_formats:
        from hospigen.cli.common import console
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
    from hospigen import export

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
    from hospigen.generation import generate, make_plan

    plan = make_plan(scenario, modules, years_of_history=years_of_history, modules_dir=modules_dir)
    if runner not in ("local", "beam"):
        raise UsageError(f"--runner must be local or beam, got {runner!r}")
    if extra_args and runner != "beam":
        raise UsageError(f"unexpected arguments: {' '.join(extra_args)}")
    if runner == "beam":
        _run_on_beam(extra_args, num_records, output_dir, seed, date, shard_size, state, scenario,
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
            while_writing=_ready_console,
        )
    from rich.table import Table

    from hospigen.cli.common import console

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


def _ready_console() -> None:
    """Import Rich and make the console (run while the generated files are being written)."""
    from rich.table import Table  # noqa: F401 - imported for later, while the writers work

    from hospigen.cli.common import console  # noqa: F401


def _run_on_beam(beam_args, num_records, output_dir, seed, date, shard_size, states, scenario,
                 modules, years_of_history, modules_dir) -> None:  # fmt: skip
    """Generation as a Beam pipeline (DirectRunner unless the Beam options name a runner)."""
    from hospigen.beam.generate_pipeline import GenerationConfig, run_generation
    from hospigen.cli.common import console

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


def register(app) -> None:
    """Add ``generate`` to the root app."""
    import typer

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
            "Beam options follow after the others "
            "(e.g. --runner beam -- --runner=DataflowRunner …).",
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
            help="Extra output formats by name, repeatable or comma-separated "
            "(see --list-formats).",
        ),
        list_formats: bool = typer.Option(False, "--list-formats", help="List formats and exit."),
        format_option: list[str] = typer.Option(
            None,
            "--format-option",
            help="Exporter option FORMAT.NAME=VALUE, repeatable "
            "(e.g. fhir.bundle_max_entries=500).",
        ),
        state: list[str] = typer.Option(
            None, "--state", help="Limit the population to these states (USPS codes; repeatable)."
        ),
        workers: int = typer.Option(
            0,
            "--workers",
            "-w",
            help="Processes building shards, this one included "
            "(0: one per core but one, for the writer threads; at most one per shard).",
        ),
        shard_size: int = typer.Option(
            5_000,
            "--shard-size",
            help="Patients per shard (bounds peak memory; output bytes do not depend on it).",
        ),
        scenario: str = typer.Option(
            "general", "--scenario", help="Scenario (see --list-scenarios)."
        ),
        module: list[str] = typer.Option(
            None, "--module", "-m", help="Extra clinical module, repeatable (see --list-modules)."
        ),
        modules_dir: str = typer.Option(
            None, "--modules-dir", help="Folder with your own module YAML files (and scenarios/)."
        ),
        years_of_history: float = typer.Option(
            10.0, "--years-of-history", help="Years of history before the as-of date."
        ),
        list_scenarios: bool = typer.Option(
            False, "--list-scenarios", help="List scenarios, exit."
        ),
        list_modules: bool = typer.Option(False, "--list-modules", help="List modules and exit."),
    ) -> None:
        """Generate a synthetic cohort and write every table."""
        run_generate(
            num_records=num_records, seed=seed, output_dir=output_dir, runner=runner,
            output_format=output_format, as_of=as_of, formats=formats, list_formats=list_formats,
            format_option=format_option, state=state, workers=workers, shard_size=shard_size,
            scenario=scenario, module=module, modules_dir=modules_dir,
            years_of_history=years_of_history, list_scenarios=list_scenarios,
            list_modules=list_modules, extra_args=ctx.args,
        )  # fmt: skip

    app.command(
        "generate", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
    )(generate_command)
