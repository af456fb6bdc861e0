"""Run the seed's Athena SQL (DDL, SELECT, CTAS) unchanged on DuckDB.

Statements are parsed with sqlglot (Athena/Trino dialect) and executed on DuckDB:

- ``CREATE DATABASE`` / ``USE`` → DuckDB schemas;
- ``CREATE EXTERNAL TABLE … ROW FORMAT SERDE '…JsonSerDe' LOCATION '…'`` → a view over
  ``read_json(files, columns={…}, ignore_errors=true)``, the columns taken from the DDL's own
  parsed types (so the schema is never written twice), ``ignore.malformed.json`` semantics;
- ``SELECT`` → transpiled to DuckDB, rows returned;
- ``CREATE TABLE … WITH (external_location=…, format='PARQUET') AS …`` → the SELECT written as
  Parquet to that location, which must be empty (Athena's ``HIVE_PATH_ALREADY_EXISTS``).

Locations (``s3://bucket/prefix/``) are mapped to real places by a ``rewrite`` function, so the
script runs on a local folder, moto S3 or the GCS emulator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from hospigen.errors import UsageError
from hospigen.pipelines.facilities.common import copy_to
from hospigen.pipelines.facilities.reader import INPUT_PATTERN
from hospigen.pipelines.facilities.schema import read_json_columns
from hospigen.pipelines.facilities.storage import Location, resolve

Rewrite = Callable[[str], Location]


@dataclass
class StatementResult:
    """One executed statement: its DuckDB text and its rows (SELECT) or location (CTAS)."""

    kind: str
    duckdb_sql: str
    rows: pa.Table | None = None
    location: str | None = None


def _property(create: exp.Create, cls: type, name: str | None = None) -> str | None:
    for prop in create.find_all(cls):
        if name is None or prop.name.lower() == name:
            value = prop.args.get("value", prop.this)
            return value.name if isinstance(value, exp.Expression) else str(value)
    return None


def _external_view(create: exp.Create, rewrite: Rewrite, con: duckdb.DuckDBPyConnection) -> str:
    """The DuckDB ``CREATE VIEW … read_json(…)`` for a Hive JSON external table."""
    schema = create.this
    columns = {c.name: c.args["kind"] for c in schema.expressions if isinstance(c, exp.ColumnDef)}
    url = _property(create, exp.LocationProperty)
    if url is None:
        raise UsageError("CREATE EXTERNAL TABLE needs a LOCATION")
    where = rewrite(url)
    if where.scheme != "file":
        con.register_filesystem(where.fs)
    paths = [where.url_of(k) for k in where.files(INPUT_PATTERN)]
    if not paths:
        raise UsageError(f"no JSON files at {url} (mapped to {where.url})")
    files = exp.Array(expressions=[exp.Literal.string(p) for p in paths]).sql("duckdb")
    table = schema.this.sql("duckdb")
    return (
        f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_json({files}, "
        f"columns={read_json_columns(columns)}, format='auto', ignore_errors=true)"
    )


def _ctas(create: exp.Create, rewrite: Rewrite, con: duckdb.DuckDBPyConnection) -> StatementResult:
    url = _property(create, exp.Property, "external_location")
    fmt = (_property(create, exp.Property, "format") or "PARQUET").upper()
    query = create.expression.sql("duckdb")
    if url is None:
        con.execute(create.sql("duckdb"))
        return StatementResult("ctas", create.sql("duckdb"))
    if fmt != "PARQUET":
        raise UsageError(f"CTAS format {fmt} is not supported here (use PARQUET)")
    where = rewrite(url)
    if where.files():
        raise UsageError(f"HIVE_PATH_ALREADY_EXISTS: {url} is not empty")
    target = Location(where.fs, where.scheme, where.root)
    written = copy_to(con, query, target, "part-00000.parquet", "FORMAT parquet")
    con.execute(f"CREATE OR REPLACE TABLE {create.this.sql('duckdb')} AS {query}")
    return StatementResult("ctas", f"COPY ({query}) TO '{url}' (FORMAT parquet)", location=written)


def run_script(
    sql: str, rewrite: Rewrite = resolve, con: duckdb.DuckDBPyConnection | None = None
) -> list[StatementResult]:
    """Execute every statement of an Athena script on DuckDB; returns one result per statement."""
    con = con or duckdb.connect(":memory:")
    results = []
    for statement in sqlglot.parse(sql, read="athena"):
        if statement is None:
            continue
        results.append(_run_one(statement, rewrite, con))
    return results


def _run_one(
    statement: exp.Expression, rewrite: Rewrite, con: duckdb.DuckDBPyConnection
) -> StatementResult:
    if isinstance(statement, exp.Create):
        kind = statement.args.get("kind", "").upper()
        if kind in ("DATABASE", "SCHEMA"):
            text = f"CREATE SCHEMA IF NOT EXISTS {statement.this.sql('duckdb')}"
            con.execute(text)
            return StatementResult("database", text)
        if isinstance(statement.this, exp.Schema):
            text = _external_view(statement, rewrite, con)
            con.execute(text)
            return StatementResult("external_table", text)
        if statement.expression is not None:
            return _ctas(statement, rewrite, con)
    if isinstance(statement, exp.Use):
        text = f"USE {statement.this.sql('duckdb')}"
        con.execute(text)
        return StatementResult("use", text)
    if isinstance(statement, exp.Query):
        text = statement.sql("duckdb")
        return StatementResult("select", text, rows=con.sql(text).to_arrow_table())
    raise UsageError(f"unsupported statement: {statement.sql('athena')[:60]}…")


def create_external_table(con: duckdb.DuckDBPyConnection, where: Location) -> str:
    """Create the view ``facilities_raw`` over the JSON files at ``where`` (packaged seed DDL)."""
    from hospigen.pipelines.facilities.schema import sql_text

    result = run_script(sql_text("facilities_raw.athena.sql"), lambda _url: where, con)
    return result[0].duckdb_sql


def transpiled(results: list[StatementResult], location_text: str | None = None) -> str:
    """The DuckDB text of a script run (for snapshots); file lists are replaced by a marker."""
    import re

    out = []
    for r in results:
        text = re.sub(r"read_json\(\[[^\]]*\]", "read_json(<files>", r.duckdb_sql)
        if location_text is not None and r.location:
            text = text.replace(r.location, location_text)
        out.append(text + ";")
    return "\n".join(out) + "\n"
