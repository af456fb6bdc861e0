"""Loading of the reference data shipped in ``world/data`` (cached per process)."""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pyarrow as pa

from hospigen.yamlcache import load_yaml

_DATA = resources.files("hospigen.world") / "data"


def _read_text(name: str) -> str:
    raw = (_DATA / name).read_bytes()
    return gzip.decompress(raw).decode() if name.endswith(".gz") else raw.decode()


@dataclass(frozen=True)
class NameList:
    """Names and their cumulative probabilities, ready for vectorised sampling."""

    names: pa.Array
    cdf: np.ndarray

    def index(self, u: np.ndarray) -> np.ndarray:
        """Row of the name for each uniform draw in ``u`` (inverse-CDF lookup)."""
        return np.minimum(np.searchsorted(self.cdf, u, side="right"), len(self.cdf) - 1)

    def sample(self, u: np.ndarray) -> pa.Array:
        """Names for uniform draws ``u``."""
        return self.names.take(pa.array(self.index(u)))


NAME_FILES = {
    "first_female": "first_names_female.csv.gz",
    "first_male": "first_names_male.csv.gz",
    "surname": "surnames.csv.gz",
}
NAMES_PARQUET = "names.parquet"  # NAME_FILES parsed, by scripts/build_names.py


@cache
def name_list(kind: str) -> NameList:
    """``first_male``, ``first_female`` or ``surname`` from the Census frequency files.

    Read from ``data/names.parquet``, their parsed form (cased names and frequencies, ~1 ms),
    rather than parsing ~15,000 CSV rows at every start (~15 ms); a test checks that it
    holds what :func:`names_table` reads from the Census files.
    """
    import pyarrow.parquet as pq

    group = list(NAME_FILES).index(kind)  # one row group per list, in NAME_FILES order
    with (_DATA / NAMES_PARQUET).open("rb") as f:
        rows = pq.ParquetFile(f).read_row_group(group)  # not read_table: imports pyarrow.dataset
    if rows.num_rows == 0 or rows.column("list")[0].as_py() != kind:
        raise ValueError(f"{NAMES_PARQUET} is out of date: run scripts/build_names.py")
    freq = rows.column("frequency").to_numpy()
    return NameList(rows.column("name").combine_chunks(), np.cumsum(freq / freq.sum()))


def census_names(kind: str) -> tuple[pa.Array, np.ndarray]:
    """(cased names, frequencies) of one Census file (upper-case names, percentages)."""
    reader = csv.reader(io.StringIO(_read_text(NAME_FILES[kind])))  # rows: ~3x faster than dicts
    header = next(reader)
    at_name, at_freq = header.index("name"), header.index("frequency")
    rows = list(reader)
    freq = np.array([float(r[at_freq]) for r in rows])
    return pa.array([_name_case(r[at_name]) for r in rows]), freq


def names_tables() -> list[pa.Table]:
    """Each list of :func:`census_names` as a table (``list``, ``name``, ``frequency``), in
    ``NAME_FILES`` order: the row groups of ``data/names.parquet``."""
    tables = []
    for kind in NAME_FILES:
        names, freq = census_names(kind)
        tables.append(pa.table({"list": [kind] * len(names), "name": names, "frequency": freq}))
    return tables


def _name_case(upper: str) -> str:
    """``MCDONALD`` → ``McDonald``, ``OBRIEN`` stays ``Obrien``: Census files drop punctuation."""
    name = upper.title()
    if name.startswith("Mc") and len(name) > 2:
        name = "Mc" + name[2:].capitalize()
    return name


@cache
def demographics() -> dict:
    """The marginals of ``demographics.yaml``."""
    return load_yaml(_DATA / "demographics.yaml")


@cache
def state_population() -> dict[str, int]:
    """2020 Census resident population by state code (50 states and DC)."""
    rows = csv.DictReader(io.StringIO(_read_text("state_population_2020.csv")))
    return {r["state"]: int(r["population"]) for r in rows}


@cache
def state_names() -> dict[str, str]:
    """State code → state name."""
    rows = csv.DictReader(io.StringIO(_read_text("state_population_2020.csv")))
    return {r["state"]: r["name"] for r in rows}
