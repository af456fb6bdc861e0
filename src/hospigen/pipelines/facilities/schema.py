"""The ``facilities_raw`` record shape, read from the seed's Hive DDL (written once).

The DDL in ``sql/facilities_raw.athena.sql`` is the single source of the schema: it is parsed
with sqlglot, and its column types become both the DuckDB ``read_json(columns=…)`` argument and
the ``json_transform`` structure used by the reader.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import orjson
import sqlglot
from sqlglot import exp

from hospigen.errors import UsageError


def sql_text(name: str) -> str:
    """The text of a packaged SQL file ``sql/<name>``."""
    return files("hospigen.pipelines.facilities").joinpath("sql", name).read_text()


def _create_table(ddl: str) -> exp.Create:
    for statement in sqlglot.parse(ddl, read="athena"):
        if isinstance(statement, exp.Create) and isinstance(statement.this, exp.Schema):
            return statement
    raise UsageError("no CREATE [EXTERNAL] TABLE with a column list found in the DDL")


def ddl_columns(ddl: str) -> dict[str, exp.DataType]:
    """Column name → sqlglot type of the first ``CREATE [EXTERNAL] TABLE`` in ``ddl``."""
    schema = _create_table(ddl).this
    return {c.name: c.args["kind"] for c in schema.expressions if isinstance(c, exp.ColumnDef)}


def ddl_table_name(ddl: str) -> str:
    """The table name the DDL creates."""
    return _create_table(ddl).this.this.name


def ddl_location(ddl: str) -> str | None:
    """The ``LOCATION`` of the DDL, if any."""
    prop = _create_table(ddl).find(exp.LocationProperty)
    return prop.this.name if prop else None


def duckdb_type(dtype: exp.DataType) -> str:
    """The DuckDB spelling of a DDL type (``array<string>`` → ``VARCHAR[]``)."""
    return dtype.sql("duckdb").replace("TEXT", "VARCHAR")


def json_structure(dtype: exp.DataType) -> object:
    """The ``json_transform`` structure for a DDL type (nested dicts and lists of type names)."""
    if dtype.this == exp.DataType.Type.STRUCT:
        return {f.name: json_structure(f.args["kind"]) for f in dtype.expressions}
    if dtype.this == exp.DataType.Type.ARRAY:
        return [json_structure(dtype.expressions[0])]
    return duckdb_type(dtype)


@cache
def raw_columns() -> dict[str, exp.DataType]:
    """The columns of ``facilities_raw`` (from the packaged seed DDL)."""
    return ddl_columns(sql_text("facilities_raw.athena.sql"))


def read_json_columns(columns: dict[str, exp.DataType]) -> str:
    """A DuckDB ``columns={…}`` literal for ``read_json`` (built from parsed types only)."""
    items = ", ".join(
        f"{exp.Literal.string(name).sql('duckdb')}: "
        f"{exp.Literal.string(duckdb_type(t)).sql('duckdb')}"
        for name, t in columns.items()
    )
    return "{" + items + "}"


def transform_structure(names: list[str] | None = None) -> str:
    """The JSON structure text for ``json_transform`` over ``names`` (default: all columns)."""
    cols = raw_columns()
    chosen = names or list(cols)
    return orjson.dumps({n: json_structure(cols[n]) for n in chosen}).decode()
