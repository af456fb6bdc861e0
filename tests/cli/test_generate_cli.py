import os

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from hospigen.generation import auto_workers
from tests.conftest import tree_digest


def test_generate_writes_world_tables_in_csv_and_parquet(cli, tmp_path):
    out = tmp_path / "out"
    result = cli("generate", "--num-records", 300, "--seed", 7, "--output-dir", out,
                 "--as-of", "2025-01-01")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    for table in ("patients", "facilities", "providers", "payers"):
        csv_rows = pacsv.read_csv(out / f"{table}.csv").num_rows
        assert csv_rows == pq.read_table(out / f"{table}.parquet").num_rows > 0
    assert pq.read_table(out / "patients.parquet").num_rows == 300
    assert "patients" in result.stdout


def test_same_seed_same_bytes_other_seed_differs(cli, tmp_path):
    args = ("generate", "-n", 200, "--as-of", "2025-01-01")
    cli(*args, "--seed", 7, "-o", tmp_path / "a")
    cli(*args, "--seed", 7, "-o", tmp_path / "b", "--shard-size", 37)
    cli(*args, "--seed", 8, "-o", tmp_path / "c")
    a, b, c = (tree_digest(tmp_path / x) for x in "abc")
    assert a == b
    assert a["patients.csv"] != c["patients.csv"]


def test_workers_do_not_change_bytes(cli, tmp_path):
    args = ("generate", "-n", 400, "--as-of", "2025-01-01", "--shard-size", 100)
    cli(*args, "-o", tmp_path / "one", "--workers", 1)
    cli(*args, "-o", tmp_path / "two", "--workers", 2)
    assert tree_digest(tmp_path / "one") == tree_digest(tmp_path / "two")


def test_default_worker_count_and_three_workers_do_not_change_bytes(cli, tmp_path):
    # 5 shards: with -w 3 this process builds shards 0 and 3, two workers the others
    args = ("generate", "-n", 300, "--as-of", "2025-01-01", "--shard-size", 70)
    cli(*args, "-o", tmp_path / "one", "--workers", 1)
    assert cli(*args, "-o", tmp_path / "auto").exit_code == 0
    cli(*args, "-o", tmp_path / "three", "-w", 3)
    one = tree_digest(tmp_path / "one")
    assert one == tree_digest(tmp_path / "auto") == tree_digest(tmp_path / "three")


def test_auto_workers_leaves_a_core_to_the_writers_and_is_at_most_one_per_shard():
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert auto_workers(1, 5_000) == auto_workers(5_000, 5_000) == 1
    assert auto_workers(5_001, 5_000) == max(1, min(cores - 1, 2))
    assert auto_workers(1_000_000, 5_000) == max(1, cores - 1)


def test_output_format_is_honoured(cli, tmp_path):
    cli("generate", "-n", 20, "--as-of", "2025-01-01", "--output-format", "parquet",
        "-o", tmp_path)  # fmt: skip
    assert list(tmp_path.glob("*.csv")) == []
    assert (tmp_path / "patients.parquet").exists()


def test_cli_errors_are_one_line_with_nonzero_exit(cli, tmp_path):
    bad_date = cli("generate", "-n", 5, "--as-of", "2025-13-01", "-o", tmp_path)
    assert bad_date.exit_code == 2
    assert "--as-of must be a date" in bad_date.stderr and "Traceback" not in bad_date.stderr
    bad_format = cli("generate", "-n", 5, "--output-format", "xml", "-o", tmp_path)
    assert bad_format.exit_code == 2
    zero = cli("generate", "-n", 0, "-o", tmp_path, "--as-of", "2025-01-01")
    assert zero.exit_code == 2 and "at least 1" in zero.stderr
    state = cli("generate", "-n", 5, "--state", "ZZ", "-o", tmp_path, "--as-of", "2025-01-01")
    assert state.exit_code == 2 and "unknown state" in state.stderr


def test_version_and_help(cli):
    assert "hospigen 0.1.0" in cli("--version").stdout
    assert "generate" in cli("--help").stdout


def test_typer_exit_codes_are_passed_on(monkeypatch):
    """A command that ends with typer.Exit(code) exits with that code (click returns it)."""
    import typer

    from hospigen.cli import app as cli_app

    probe = typer.Typer()

    @probe.command()
    def fail() -> None:
        raise typer.Exit(3)

    monkeypatch.setattr(cli_app, "app", probe)
    assert cli_app.main([]) == 3


def test_rich_is_asked_about_stderr_only_when_it_may_be_a_terminal(monkeypatch):
    """The cheap check never says no when Rich's own rules would say yes."""
    from rich.console import Console

    from hospigen.cli.common import _stderr_may_be_terminal

    for env in ({}, {"FORCE_COLOR": ""}, {"FORCE_COLOR": "1"}, {"TTY_COMPATIBLE": "0"},
                {"TTY_COMPATIBLE": "1", "FORCE_COLOR": ""}):  # fmt: skip
        for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        if not _stderr_may_be_terminal():
            assert not Console(stderr=True).is_terminal, env


def test_collector_is_paused_for_one_shard_only_and_restored():
    import gc

    from hospigen.cli.generate import collector_paused

    assert gc.isenabled()
    with collector_paused({"num_records": 200}):
        assert not gc.isenabled()
    assert gc.isenabled()
    with collector_paused({"num_records": 20_000, "shard_size": 5_000}):
        assert gc.isenabled()
