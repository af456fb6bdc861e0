"""Check a day folder against its dataset contracts, declaratively, in DuckDB.

Every file is loaded as text (so a bad cell is a finding, not a crash), each check is one SQL
query over the loaded tables, and each result is a :class:`Finding` naming the dataset, the check,
its target, how many rows violate it and the first offending row. Identifiers come from the
contracts (validated snake_case, quoted); every value (enums, bounds, patterns, paths, the batch
date) is a query parameter.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import orjson

from hospigen.contracts.load import Contract, load_contracts, quote
from hospigen.errors import HospigenError

CASTS = {"integer": "BIGINT", "number": "DOUBLE", "datetime": "TIMESTAMP", "date": "DATE"}


class ContractViolationError(HospigenError):
    """Files broke their contracts (exit code 1)."""

    exit_code = 1


@dataclass(frozen=True)
class Finding:
    """The outcome of one check: ``violations`` rows broke it (``status`` pass/fail/skip)."""

    dataset: str
    check: str
    target: str
    violations: int
    example: str = ""
    status: str = ""

    def __post_init__(self) -> None:
        if not self.status:
            object.__setattr__(self, "status", "fail" if self.violations else "pass")

    def as_dict(self) -> dict[str, Any]:
        return {
            k: getattr(self, k)
            for k in ("dataset", "check", "target", "violations", "example", "status")
        }


def _t(dataset: str) -> str:
    return quote(dataset)


def _raw(dataset: str) -> str:
    return quote("raw_" + dataset)


class Checker:
    """Runs every contract's checks over the files of one folder."""

    def __init__(
        self,
        folder: Path,
        contracts: dict[str, Contract] | None = None,
        batch_date: dt.date | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.contracts = contracts or load_contracts()
        self.con = duckdb.connect()
        self.findings: list[Finding] = []
        self._pending: dict[str, list] | None = None
        self.loaded: set[str] = set()
        self.batch_date = batch_date or self._batch_date()

    # -- helpers -------------------------------------------------------------------------------
    def _batch_date(self) -> dt.date | None:
        try:
            return dt.date.fromisoformat(
                orjson.loads((self.folder / "manifest.json").read_bytes())["date"]
            )
        except (FileNotFoundError, KeyError, ValueError, orjson.JSONDecodeError):
            pass
        try:
            return dt.date.fromisoformat(self.folder.name)
        except ValueError:
            return None

    def _add(self, dataset: str, check: str, target: str, n: int, example: str = "") -> None:
        self.findings.append(Finding(dataset, check, target, int(n), example))

    def _skip(self, dataset: str, check: str, target: str, why: str) -> None:
        self.findings.append(Finding(dataset, check, target, 0, why, "skip"))

    def _count(self, dataset: str, check: str, target: str, sql: str, params=()) -> None:
        """``sql`` selects (violations, example); record it as a finding."""
        n, example = self.con.execute(sql, list(params)).fetchone()
        self._add(dataset, check, target, n or 0, example or "")

    def _where(
        self,
        ds: str,
        check: str,
        target: str,
        cond: str,
        value: str,
        params=(),
        table: str | None = None,
    ) -> None:
        """Rows of ``ds`` where ``cond`` holds are violations; the example shows ``value``.

        Inside :meth:`_batched` the check is queued and run with its siblings in one scan.
        """
        if self._pending is not None:
            self._pending.setdefault(table or _t(ds), []).append(
                (ds, check, target, cond, value, list(params))
            )
            return
        sql = (
            f"SELECT count(*), arg_min('row ' || __row || ': ' || coalesce(({value})::VARCHAR, "
            f"'NULL'), __row) FROM {table or _t(ds)} WHERE {cond}"
        )
        self._count(ds, check, target, sql, params)

    def _batched(self, run) -> None:
        """Run ``run()`` with its :meth:`_where` checks merged into one query per table."""
        self._pending = {}
        try:
            run()
            pending, self._pending = self._pending, None
        finally:
            self._pending = None
        for table, checks in pending.items():
            aggs, params = [], []
            for _, _, _, cond, value, p in checks:
                example = f"'row ' || __row || ': ' || coalesce(({value})::VARCHAR, 'NULL')"
                aggs.append(f"count_if({cond})")
                aggs.append(f"arg_min({example}, __row) FILTER (WHERE {cond})")
                params += p + p  # the value expressions of queued checks take no parameters
            row = self.con.execute(f"SELECT {', '.join(aggs)} FROM {table}", params).fetchone()
            for i, (ds, check, target, *_) in enumerate(checks):
                self._add(ds, check, target, row[2 * i] or 0, row[2 * i + 1] or "")

    # -- loading -------------------------------------------------------------------------------
    def _load(self, c: Contract) -> None:
        path = self.folder / c.file
        if not path.is_file():
            self._add(c.dataset, "file_present", c.file, 1, "missing")
            return
        try:
            if c.format == "csv":
                self._load_csv(c, path)
            else:
                self._load_jsonl(c, path)
        except duckdb.Error as exc:
            self._add(c.dataset, "readable", c.file, 1, str(exc).splitlines()[0][:160])
            return
        self._add(c.dataset, "file_present", c.file, 0)
        self._columns(c)
        self._typed(c)
        self.loaded.add(c.dataset)

    def _load_csv(self, c: Contract, path: Path) -> None:
        """Every column as text, named by the file's own header (no type sniffing: faster)."""
        with open(path, newline="", encoding="utf-8", errors="replace") as fh:
            header = next(csv.reader(fh), [])
        if not header or len(set(header)) != len(header):
            raise duckdb.InvalidInputException(f"{c.file}: empty or duplicated header {header}")
        self.con.execute(
            f"CREATE TABLE {_raw(c.dataset)} AS SELECT row_number() OVER () AS __row, * "
            "FROM read_csv(?, header = true, auto_detect = false, delim = ',', quote = '\"', "
            "escape = '\"', columns = ?)",
            [str(path), {name: "VARCHAR" for name in header}],
        )

    def _load_jsonl(self, c: Contract, path: Path) -> None:
        self.con.execute(
            f"CREATE TABLE {quote('lines_' + c.dataset)} AS SELECT row_number() OVER () AS __row, "
            "line FROM (SELECT unnest(string_split(content, chr(10))) AS line FROM read_text(?)) "
            "WHERE trim(line) <> ''",
            [str(path)],
        )
        lines = quote("lines_" + c.dataset)
        self._where(
            c.dataset,
            "valid_json",
            c.file,
            "NOT json_valid(line) OR json_type(line) <> 'OBJECT'",
            "left(line, 60)",
            table=lines,
        )
        cols = ", ".join(
            (
                f"json_extract(line, '$.{f}')::VARCHAR"
                if spec["type"] == "array"
                else f"json_extract_string(line, '$.{f}')"
            )
            + f" AS {quote(f)}"
            for f, spec in c.fields.items()
        )
        self.con.execute(
            f"CREATE TABLE {_raw(c.dataset)} AS SELECT __row, {cols}, "
            "json_keys(line) AS __keys FROM " + lines + " WHERE json_valid(line) "
            "AND json_type(line) = 'OBJECT'"
        )

    def _columns(self, c: Contract) -> None:
        have = [r[0] for r in self.con.execute(f"DESCRIBE {_raw(c.dataset)}").fetchall()]
        missing = [f for f in c.fields if f not in have]
        for f in missing:
            self._add(c.dataset, "column_present", f, 1, "missing column")
            self.con.execute(f"ALTER TABLE {_raw(c.dataset)} ADD COLUMN {quote(f)} VARCHAR")
        if c.body.get("additional_fields", True):
            return
        if c.format == "csv":
            extra = [h for h in have if h != "__row" and h not in c.fields]
            self._add(c.dataset, "no_extra_columns", c.file, len(extra), ", ".join(extra)[:160])
        else:
            self._where(
                c.dataset,
                "no_extra_fields",
                c.file,
                "len(list_filter(__keys, lambda k: NOT list_contains(?, k))) > 0",
                "array_to_string(list_filter(__keys, lambda k: NOT list_contains(?, k)), ',')",
                [list(c.fields), list(c.fields)],
                table=_raw(c.dataset),
            )

    def _typed(self, c: Contract) -> None:
        cols = []
        for f, spec in c.fields.items():
            q = quote(f)
            if spec["type"] in CASTS:
                cols.append(f"TRY_CAST({q} AS {CASTS[spec['type']]}) AS {q}")
            elif spec["type"] == "array":
                cols.append(
                    f"CASE WHEN json_valid({q}) AND json_type({q}) = 'ARRAY' THEN "
                    f"from_json({q}, '[\"VARCHAR\"]') END AS {q}"
                )
            else:
                cols.append(q)
        self.con.execute(
            f"CREATE TABLE {_t(c.dataset)} AS SELECT __row, {', '.join(cols)} "
            f"FROM {_raw(c.dataset)}"
        )

    # -- field checks --------------------------------------------------------------------------
    def _fields(self, c: Contract) -> None:
        ds, raw = c.dataset, _raw(c.dataset)
        for f, spec in c.fields.items():
            q = quote(f)
            if spec.get("required"):
                self._where(ds, "required", f, f"{q} IS NULL OR trim({q}) = ''", q, table=raw)
            kind = spec["type"]
            if kind in CASTS:
                self._where(
                    ds,
                    "type",
                    f"{f}:{kind}",
                    f"{q} IS NOT NULL AND trim({q}) <> '' AND "
                    f"TRY_CAST({q} AS {CASTS[kind]}) IS NULL",
                    q,
                    table=raw,
                )
            elif kind == "array":
                self._where(
                    ds,
                    "type",
                    f"{f}:array",
                    f"{q} IS NOT NULL AND json_type({q}) <> 'ARRAY'",
                    q,
                    table=raw,
                )
            self._constraints(ds, f, spec.get("constraints", {}))

    def _constraints(self, ds: str, f: str, cons: dict) -> None:
        q = quote(f)
        if "enum" in cons:
            self._where(
                ds, "enum", f, f"{q} IS NOT NULL AND NOT list_contains(?, {q})", q, [cons["enum"]]
            )
        if "minimum" in cons:
            self._where(ds, "minimum", f"{f}>={cons['minimum']}", f"{q} < ?", q, [cons["minimum"]])
        if "maximum" in cons:
            self._where(ds, "maximum", f"{f}<={cons['maximum']}", f"{q} > ?", q, [cons["maximum"]])
        if "pattern" in cons:
            self._where(
                ds,
                "pattern",
                f,
                f"{q} IS NOT NULL AND NOT regexp_full_match({q}, ?)",
                q,
                [cons["pattern"]],
            )

    # -- keys ----------------------------------------------------------------------------------
    def _unique(self, ds: str, check: str, fields: list[str]) -> None:
        keys = ", ".join(quote(f) for f in fields)
        shown = " || '|' || ".join(f"coalesce({quote(f)}::VARCHAR, 'NULL')" for f in fields)
        self._count(
            ds,
            check,
            ",".join(fields),
            f"SELECT coalesce(sum(n - 1), 0), min(k) FROM (SELECT count(*) AS n, "
            f"min({shown}) AS k FROM {_t(ds)} GROUP BY {keys} HAVING count(*) > 1)",
        )

    def _foreign_keys(self, c: Contract) -> None:
        for fk in c.body.get("foreign_keys", []):
            ref = fk["references"]
            target = f"{','.join(fk['fields'])}->{ref['dataset']}"
            if ref["dataset"] not in self.loaded:
                self._skip(c.dataset, "foreign_key", target, f"{ref['dataset']} not loaded")
                continue
            on = " AND ".join(
                f"p.{quote(pf)} = c.{quote(cf)}"
                for cf, pf in zip(fk["fields"], ref["fields"], strict=True)
            )
            self._where(
                c.dataset,
                "foreign_key",
                target,
                f"NOT EXISTS (SELECT 1 FROM {_t(ref['dataset'])} p WHERE {on})",
                " || '|' || ".join(f"c.{quote(f)}" for f in fk["fields"]),
                table=f"{_t(c.dataset)} c",
            )

    def _time_windows(self, c: Contract) -> None:
        for tw in c.body.get("time_windows", []):
            target = f"{tw['field']} in {tw['dataset']}[{tw['start']},{tw['end']}]"
            if tw["dataset"] not in self.loaded:
                self._skip(c.dataset, "time_window", target, f"{tw['dataset']} not loaded")
                continue
            on = " AND ".join(f"p.{quote(k)} = c.{quote(k)}" for k in tw["key"])
            f, s, e = quote(tw["field"]), quote(tw["start"]), quote(tw["end"])
            self._where(
                c.dataset,
                "time_window",
                target,
                f"EXISTS (SELECT 1 FROM {_t(tw['dataset'])} p WHERE {on} "
                f"AND (c.{f} < p.{s} OR c.{f} > p.{e}))",
                f"c.{f}",
                table=f"{_t(c.dataset)} c",
            )

    # -- rules ---------------------------------------------------------------------------------
    def _rules(self, c: Contract) -> None:
        for rule in c.body.get("rules", []):
            getattr(self, "_rule_" + rule["kind"])(c.dataset, rule)

    def _rule_compare(self, ds: str, r: dict) -> None:
        left, right = quote(r["left"]), quote(r["right"])
        self._where(
            ds,
            "rule",
            r["name"],
            f"{left} IS NOT NULL AND {right} IS NOT NULL AND NOT ({left} {r['op']} {right})",
            f"{left}::VARCHAR || ' vs ' || {right}::VARCHAR",
        )

    def _rule_value_map(self, ds: str, r: dict) -> None:
        f, t = quote(r["field"]), quote(r["target"])
        keys, values = list(r["map"]), list(r["map"].values())
        self._where(
            ds,
            "rule",
            r["name"],
            f"list_contains(?, {f}) AND {t} IS DISTINCT FROM "
            f"list_extract(?, list_position(?, {f}))",
            f"{f} || ' -> ' || coalesce({t}, 'NULL')",
            [keys, values, keys],
        )

    def _rule_range_by(self, ds: str, r: dict) -> None:
        f, by = quote(r["field"]), quote(r["by"])
        keys = list(r["ranges"])
        lows = [float(v[0]) for v in r["ranges"].values()]
        highs = [float(v[1]) for v in r["ranges"].values()]
        self._where(
            ds,
            "rule",
            r["name"],
            f"list_contains(?, {by}) AND ({f} < list_extract(?, list_position(?, {by})) "
            f"OR {f} > list_extract(?, list_position(?, {by})))",
            f"{by} || '=' || {f}::VARCHAR",
            [keys, lows, keys, highs, keys],
        )

    def _rule_paired(self, ds: str, r: dict) -> None:
        key = ", ".join(quote(k) for k in r["key"])
        shown = " || '|' || ".join(f"{quote(k)}::VARCHAR" for k in r["key"])
        by, v = quote(r["by"]), quote(r["value"])
        self._count(
            ds,
            "rule",
            r["name"],
            f"SELECT count(*), min(k) FROM (SELECT min({shown}) AS k, "
            f"max(CASE WHEN {by} = ? THEN {v} END) AS l, "
            f"max(CASE WHEN {by} = ? THEN {v} END) AS r FROM {_t(ds)} GROUP BY {key}) "
            f"WHERE l IS NOT NULL AND r IS NOT NULL AND NOT (l {r['op']} r)",
            [r["left"], r["right"]],
        )

    def _rule_referenced_by(self, ds: str, r: dict) -> None:
        if r["dataset"] not in self.loaded:
            self._skip(ds, "rule", r["name"], f"{r['dataset']} not loaded")
            return
        on = " AND ".join(
            f"o.{quote(b)} = c.{quote(f)}" for f, b in zip(r["fields"], r["by"], strict=True)
        )
        self._where(
            ds,
            "rule",
            r["name"],
            f"NOT EXISTS (SELECT 1 FROM {_t(r['dataset'])} o WHERE {on})",
            " || '|' || ".join(f"c.{quote(f)}" for f in r["fields"]),
            table=f"{_t(ds)} c",
        )

    def _rule_on_batch_date(self, ds: str, r: dict) -> None:
        if self.batch_date is None:
            self._skip(ds, "rule", r["name"], "batch date unknown")
            return
        f = quote(r["field"])
        self._where(ds, "rule", r["name"], f"CAST({f} AS DATE) <> ?", f, [self.batch_date])

    def _rule_not_after_batch_date(self, ds: str, r: dict) -> None:
        if self.batch_date is None:
            self._skip(ds, "rule", r["name"], "batch date unknown")
            return
        f = quote(r["field"])
        self._where(ds, "rule", r["name"], f"CAST({f} AS DATE) > ?", f, [self.batch_date])

    def _rule_unique(self, ds: str, r: dict) -> None:
        self._unique(ds, "rule:" + r["name"], r["fields"])

    def _rule_flag_consistent(self, ds: str, r: dict) -> None:
        v, lo, hi, fl = (quote(r[k]) for k in ("value", "low", "high", "flag"))
        self._where(
            ds,
            "rule",
            r["name"],
            f"{v} IS NOT NULL AND {lo} IS NOT NULL AND {hi} IS NOT NULL AND NOT ("
            f"({v} BETWEEN {lo} AND {hi} AND list_contains(?, {fl})) OR "
            f"({v} < {lo} AND list_contains(?, {fl})) OR "
            f"({v} > {hi} AND list_contains(?, {fl})))",
            f"{v}::VARCHAR || ' ' || coalesce({fl}, 'NULL')",
            [r["normal"], r["below"], r["above"]],
        )

    def _rule_refs_before(self, ds: str, r: dict) -> None:
        if r["dataset"] not in self.loaded:
            self._skip(ds, "rule", r["name"], f"{r['dataset']} not loaded")
            return
        f, na = quote(r["field"]), quote(r["not_after"])
        key, time = quote(r["key"]), quote(r["time"])
        self._count(
            ds,
            "rule",
            r["name"],
            f"SELECT count(*), arg_min('row ' || n.__row || ': ' || n.ref, n.__row) FROM "
            f"(SELECT __row, {na} AS at, unnest({f}) AS ref FROM {_t(ds)}) n "
            f"LEFT JOIN {_t(r['dataset'])} o ON o.{key} = n.ref "
            f"WHERE o.{key} IS NULL OR o.{time} > n.at",
        )

    # -- manifest ------------------------------------------------------------------------------
    def _manifest(self) -> None:
        path = self.folder / "manifest.json"
        if not path.is_file():
            self._skip("manifest", "checksum", "manifest.json", "no manifest")
            return
        try:
            files = orjson.loads(path.read_bytes())["files"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            self._add("manifest", "readable", "manifest.json", 1, "not a manifest")
            return
        for name, meta in sorted(files.items()):
            f = self.folder / name
            actual = hashlib.sha256(f.read_bytes()).hexdigest() if f.is_file() else "missing"
            self._add(
                "manifest",
                "checksum",
                name,
                int(actual != meta.get("sha256")),
                "" if actual == meta.get("sha256") else f"sha256 {actual[:12]}…",
            )

    # -- run -----------------------------------------------------------------------------------
    def run(self) -> list[Finding]:
        """Run every check; the findings in a stable order."""
        for c in self.contracts.values():
            self._load(c)
        for c in self.contracts.values():
            if c.dataset not in self.loaded:
                continue
            self._batched(lambda c=c: self._fields(c))
            if c.body.get("primary_key"):
                self._unique(c.dataset, "primary_key", c.body["primary_key"])
            self._foreign_keys(c)
            self._time_windows(c)
            self._rules(c)
        self._manifest()
        return self.findings


def check_folder(folder: str | Path, contracts_dir: str | Path | None = None) -> list[Finding]:
    """Check one day folder against the contracts (shipped ones unless ``contracts_dir``)."""
    return Checker(Path(folder), load_contracts(contracts_dir)).run()
