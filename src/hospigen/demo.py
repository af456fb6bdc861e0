"""``hospigen demo``: the whole platform end to end on the embedded defaults, in one folder.

Every stage is a real ``hospigen`` command run in-process, exactly as a user would type it
(its output goes to ``demo.log``): generate a cohort in every format and validate it, run
daily batches and check their contracts, land and ingest the FHIR into the DuckDB warehouse,
publish claims to the local stream log and run the claims pipeline, export facilities and run
the three facility stages, then load the derived tables the report reads and write the report.

A finished folder holds ``demo.json``; running the demo again with the same arguments does
nothing and says so.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson

from hospigen import __version__
from hospigen.errors import HospigenError

FORMATS = "fhir,bulk_ndjson,patient_ndjson,hl7v2,vista,synthea_csv"


@dataclass(frozen=True)
class DemoConfig:
    """The demo's arguments; a finished folder remembers them."""

    out: str
    patients: int = 1000
    days: int = 3
    seed: int = 7
    as_of: str = "2025-01-01"
    facilities: int = 2000


@dataclass
class StageResult:
    """One stage: its name, the commands it ran, the exit codes and how long it took."""

    name: str
    seconds: float = 0.0
    commands: list[str] = field(default_factory=list)
    exit_codes: list[int] = field(default_factory=list)


class DemoError(HospigenError):
    """A demo stage failed; the log names the command."""


class Demo:
    """Runs the stages of :class:`DemoConfig` in order, logging every command."""

    def __init__(self, config: DemoConfig) -> None:
        self.config = config
        self.root = Path(config.out)
        self.warehouse = self.root / "warehouse.duckdb"
        self.results: list[StageResult] = []
        self._log: io.TextIOBase | None = None

    # -- running commands -------------------------------------------------------------------
    def run(self, stage: StageResult, *argv: object, ok: tuple[int, ...] = (0,)) -> int:
        """Run ``hospigen ARGV`` in-process with its output in the log; fail on other codes."""
        from hospigen.cli.app import main

        args = [str(a) for a in argv]
        line = "hospigen " + " ".join(args)
        stage.commands.append(line)
        assert self._log is not None
        self._log.write(f"\n$ {line}\n")
        self._log.flush()
        with contextlib.redirect_stdout(self._log), contextlib.redirect_stderr(self._log):
            code = main(args)
        stage.exit_codes.append(code)
        if code not in ok:
            raise DemoError(f"demo stage '{stage.name}' failed: `{line}` exited {code} "
                            f"(see {self.root / 'demo.log'})")  # fmt: skip
        return code

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[StageResult]:
        """Time one stage."""
        result = StageResult(name)
        start = time.perf_counter()
        yield result
        result.seconds = time.perf_counter() - start
        self.results.append(result)

    # -- the stages -------------------------------------------------------------------------
    def stages(self) -> list[tuple[str, Callable[[StageResult], None]]]:
        """The stages in order: (name, function)."""
        return [
            ("generate cohort", self.generate),
            ("validate formats", self.validate),
            ("daily batches", self.daily),
            ("ingest FHIR", self.ingest),
            ("claims stream", self.claims),
            ("facility metrics", self.facilities),
            ("warehouse tables", self.load_tables),
            ("report", self.report),
        ]

    def generate(self, s: StageResult) -> None:
        c = self.config
        self.run(s, "generate", "-n", c.patients, "--seed", c.seed, "--as-of", c.as_of,
                 "-o", self.root / "cohort", "--formats", FORMATS)  # fmt: skip

    def validate(self, s: StageResult) -> None:
        self.run(s, "validate", self.root / "cohort", "--sample", 20)

    def daily(self, s: StageResult) -> None:
        c = self.config
        first = dt.date.fromisoformat(c.as_of) - dt.timedelta(days=c.days - 1)
        # the hospital opens a week before the first batch, so the first folders are full days
        config = self.root / "daily/config.yaml"
        config.parent.mkdir(parents=True, exist_ok=True)
        opened = first - dt.timedelta(days=7)
        config.write_text(f'registry:\n  start_date: "{opened.isoformat()}"\n')
        self.run(s, "daily", "--from", first, "--to", c.as_of, "--root", self.root / "daily",
                 "--seed", c.seed, "--config", config)  # fmt: skip
        for day in sorted((self.root / "daily/data/raw").iterdir()):
            self.run(s, "contracts", "check", day)

    def ingest(self, s: StageResult) -> None:
        self.run(s, "ingest", "run", "--source", self.root / "cohort/patient_ndjson",
                 "--bucket", self.root / "bucket", "--warehouse", self.warehouse)  # fmt: skip

    def claims(self, s: StageResult) -> None:
        c = self.config
        wh = f"duckdb:///{self.warehouse}"
        self.run(s, "claims", "publish", "--to", self.root / "stream", "-n", c.patients,
                 "--seed", c.seed, "--as-of", c.as_of, "--invalid-rate", 0.02)  # fmt: skip
        self.run(s, "claims", "run", "--from", self.root / "stream", "--warehouse", wh)
        self.run(s, "claims", "evaluate", "--warehouse", wh)
        self.run(s, "claims", "quality", "--warehouse", wh, ok=(0, 1))

    def facilities(self, s: StageResult) -> None:
        c, f = self.config, self.root / "facilities"
        self.run(s, "facilities", "export", "-n", c.facilities, "--seed", c.seed, "--as-of",
                 c.as_of, "--output", f / "data/facilities.ndjson")  # fmt: skip
        common = ("--input", f / "data", "--today", c.as_of)
        self.run(s, "facilities", "metrics", *common, "--output", f)
        self.run(s, "facilities", "expiring", *common, "--output", f / "filtered")
        self.run(s, "facilities", "on-upload", *common, "--key", "facilities.ndjson",
                 "--output", f)  # fmt: skip

    def load_tables(self, s: StageResult) -> None:
        from hospigen.demo_tables import load_demo_tables

        s.commands.append("load cohort, daily, facility and quality tables into the warehouse")
        load_demo_tables(self.root, self.warehouse, self.results)

    def report(self, s: StageResult) -> None:
        self.run(s, "report", "--warehouse", self.warehouse, "--out", self.root / "report.html")

    # -- bookkeeping ------------------------------------------------------------------------
    def marker(self) -> Path:
        return self.root / "demo.json"

    def finished_before(self) -> bool:
        """True when this folder already holds a finished demo with the same arguments."""
        if not self.marker().is_file():
            return False
        done = orjson.loads(self.marker().read_bytes())
        return done.get("config") == asdict(self.config) and done.get("version") == __version__

    def execute(self, on_stage: Callable[[str], None] | None = None) -> list[StageResult]:
        """Run every stage; write ``demo.json`` when all succeeded."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.marker().unlink(missing_ok=True)
        with open(self.root / "demo.log", "w", encoding="utf-8") as log:
            self._log = log
            for name, fn in self.stages():
                if on_stage:
                    on_stage(name)
                with self.stage(name) as result:
                    fn(result)
        body = {
            "version": __version__,
            "config": asdict(self.config),
            "stages": [asdict(r) for r in self.results],
        }
        self.marker().write_bytes(orjson.dumps(body, option=orjson.OPT_INDENT_2))
        return self.results
