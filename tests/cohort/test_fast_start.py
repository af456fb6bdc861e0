"""The Typer-free start of ``hospigen generate``: same results as the Typer path, same errors."""

import json
import os
import subprocess
import sys

import pyarrow.parquet as pq

from hospigen.cli.generate import parse_fast
from tests.conftest import tree_digest

COMMON = ("--as-of", "2025-01-01", "--scenario", "pediatrics", "--seed", "8")


def test_plain_arguments_are_parsed_without_typer():
    params = parse_fast(["-n", "40", "--module", "a", "-m", "b", "--years-of-history=5", "-w", "2"])
    assert params == {
        "num_records": 40,
        "module": ["a", "b"],
        "years_of_history": 5.0,
        "workers": 2,
    }
    assert parse_fast(["--list-modules"]) == {"list_modules": True}


def test_anything_unusual_is_left_to_typer():
    for args in (
        ["--help"],
        ["-n40"],  # attached short option: Click's business
        ["-n", "forty"],
        ["--seed", "-x"],
        ["--list-modules=yes"],
        ["--runner", "beam"],
        ["--bogus", "1"],
        ["-n"],
        ["extra"],
    ):
        assert parse_fast(args) is None, args


def test_fast_and_typer_paths_write_the_same_bytes_and_summary(cli, tmp_path, monkeypatch):
    import hospigen.cli.generate as command

    parsed = []
    monkeypatch.setattr(command, "parse_fast", lambda a: parsed.append(parse_fast(a)) or parsed[-1])
    fast = cli("generate", "-n", "40", "-o", tmp_path / "one", *COMMON)
    # "-n40" is not a plain spelling: this run goes through Typer and Click
    typer = cli("generate", "-n40", "-o", tmp_path / "two", *COMMON)
    assert fast.exit_code == typer.exit_code == 0
    assert parsed[0]["num_records"] == 40 and parsed[1] is None  # each path really ran
    assert tree_digest(tmp_path / "one") == tree_digest(tmp_path / "two")
    assert fast.stdout.replace("one", "two") == typer.stdout


def test_user_errors_are_one_line_on_both_paths(cli, tmp_path):
    bad_format = cli("generate", "-n", "3", "-o", tmp_path, "--output-format", "xml")
    assert bad_format.exit_code == 2
    assert bad_format.stderr.strip().splitlines() == [
        "error: --output-format must be csv, parquet or both, got 'xml'"
    ]
    bad_number = cli("generate", "-n", "3", "-o", tmp_path, "--seed", "abc")
    assert bad_number.exit_code == 2
    assert "Traceback" not in bad_number.stderr
    assert "Invalid value for '--seed'" in bad_number.stderr


def test_generate_does_not_import_typer_or_pydantic(tmp_path):
    probe = (
        "import sys; from hospigen.cli.app import main; "
        f"code = main(['generate', '-n', '2', '-o', {str(tmp_path)!r}, '--as-of', '2025-01-01']); "
        "heavy = sorted(m for m in ('typer', 'click', 'pydantic', 'duckdb', 'pyarrow.dataset', "
        "'yaml') if m in sys.modules); print(code, heavy)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "0 []"


def test_cli_asks_openblas_for_one_thread_unless_told_otherwise():
    probe = "import os, hospigen.cli.app; print(os.environ['OPENBLAS_NUM_THREADS'])"
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
    assert done.stdout.strip() == "1"
    env["OPENBLAS_NUM_THREADS"] = "4"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
    assert done.stdout.strip() == "4"


def test_fast_path_knows_exactly_the_options_typer_declares():
    """The fast parser's option table cannot drift from the Typer command: same spellings,
    same parameter names (a new option added to one and not the other fails here)."""
    import typer

    from hospigen.cli.app import app
    from hospigen.cli.generate import _OPTIONS

    command = typer.main.get_command(app).commands["generate"]
    declared = {
        opt: param.name
        for param in command.params
        for opt in param.opts
        if not param.hidden and opt != "--help"
    }
    assert {opt: dest for opt, (dest, _) in _OPTIONS.items()} == declared


# run as the ``hospigen`` program does (``run()``); an object whose finaliser prints shows
# whether the interpreter's teardown ran
PROGRAM = (
    "import atexit, sys; from hospigen.cli import app\n"
    "class Teardown:\n"
    "    def __del__(self):\n"
    "        print('teardown ran', file=sys.stderr)\n"
    "witness = Teardown()\n"
    "atexit.register(print, 'atexit ran')\n"
    "sys.argv = ['hospigen', *sys.argv[1:]]\n"
    "app.run()\n"
)


def _program(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PROGRAM, *map(str, args)], **kwargs)


def test_generate_as_a_program_ends_cleanly_without_teardown(tmp_path):
    """The program skips the interpreter's teardown after ``generate``: the exit code, the
    output files, the printed summary and atexit handlers must all be as with a normal exit."""
    out = tmp_path / "out"
    done = _program("generate", "-n", 3, "-o", out, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("atexit ran")
    assert "patients" in done.stdout  # the summary table was flushed before the exit
    assert "teardown ran" not in done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"]["patients"] == 3
    assert pq.read_table(out / "patients.parquet").num_rows == 3
    assert not list(out.glob("*.partial"))


def test_other_commands_and_failures_exit_normally(tmp_path):
    listed = _program("generate", "--list-scenarios", capture_output=True, text=True)
    assert listed.returncode == 0 and "pediatrics" in listed.stdout
    failed = _program("generate", "-n", 0, "-o", tmp_path, capture_output=True, text=True)
    assert failed.returncode == 2 and "teardown ran" in failed.stderr
    other = _program("modules", "list", capture_output=True, text=True)
    assert other.returncode == 0 and "teardown ran" in other.stderr


def test_generate_with_stdout_closed_still_succeeds(tmp_path):
    # with descriptor 1 closed, Python sets sys.stdout to None
    done = _program("generate", "-n", 2, "-o", tmp_path / "out", stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE, text=True, pass_fds=(), close_fds=True,
                    preexec_fn=lambda: os.close(1))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "summary.json").exists()
