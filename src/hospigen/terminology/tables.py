"""The code tables shipped as CSV in ``terminology/data`` (one file per system)."""

from __future__ import annotations

from functools import cache
from importlib import resources

import pyarrow as pa
import pyarrow.csv as pacsv

from hospigen.terminology.systems import SYSTEM_URIS

_DATA = resources.files("hospigen.terminology") / "data"


@cache
def code_table(system: str) -> pa.Table:
    """The shipped table of ``system`` (columns ``code``, ``display`` and extras), all strings."""
    if system not in SYSTEM_URIS:
        raise KeyError(f"unknown code system {system!r}; known: {', '.join(SYSTEM_URIS)}")
    resource = _DATA / f"{system}.csv"
    if not resource.is_file():
        return pa.table({"code": pa.array([], pa.string()), "display": pa.array([], pa.string())})
    options = pacsv.ConvertOptions(strings_can_be_null=False, column_types={"code": pa.string()})
    with resource.open("rb") as f:
        table = pacsv.read_csv(f, convert_options=options)
    return table.cast(pa.schema([pa.field(n, pa.string()) for n in table.column_names]))


def shipped_systems() -> list[str]:
    """Systems with a shipped table."""
    return [s for s in SYSTEM_URIS if (_DATA / f"{s}.csv").is_file()]
