"""Code lookups: the DuckDB terminology file when present, else the shipped CSV tables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from hospigen.errors import UnknownCodeError
from hospigen.terminology.systems import CPT_URI, SYSTEM_URIS, system_uri
from hospigen.terminology.tables import code_table, shipped_systems

ENV_DB_PATH = "TERMINOLOGY_DB_PATH"


@dataclass(frozen=True)
class Concept:
    """One code of one system, with its display (empty for CPT) and extra attributes."""

    system: str
    code: str
    display: str
    extra: tuple[tuple[str, str], ...] = ()

    @property
    def uri(self) -> str:
        """The FHIR system URI (CPT codes in the HCPCS table get the CPT URI)."""
        return CPT_URI if dict(self.extra).get("kind") == "cpt" else system_uri(self.system)

    def get(self, key: str, default: str = "") -> str:
        """An extra attribute (``unit`` of a LOINC code, ``kind`` of an HCPCS/CPT code)."""
        return dict(self.extra).get(key, default)


class Terminology:
    """Lookups over all shipped systems, loaded once into dictionaries."""

    def __init__(self, db_path: str | Path | None = None) -> None:
        self.source = "csv"
        self._codes: dict[str, dict[str, Concept]] = {}
        if db_path and Path(db_path).is_file():
            self._load_duckdb(Path(db_path))
        else:
            self._load_csv()

    def _add(self, system: str, row: dict[str, str]) -> None:
        extra = tuple((k, v) for k, v in row.items() if k not in ("code", "display", "system"))
        self._codes.setdefault(system, {})[row["code"]] = Concept(
            system, row["code"], row.get("display") or "", extra
        )

    def _load_csv(self) -> None:
        for system in shipped_systems():
            for row in code_table(system).to_pylist():
                self._add(system, row)

    def _load_duckdb(self, path: Path) -> None:
        import duckdb

        self.source = str(path)
        with duckdb.connect(str(path), read_only=True) as con:
            systems = [r[0] for r in con.execute("SELECT DISTINCT system FROM concepts").fetchall()]
            for system in systems:
                rows = con.execute(
                    "SELECT code, display, attributes FROM concepts WHERE system = ?", [system]
                ).fetchall()
                for code, display, attributes in rows:
                    row = {"code": code, "display": display, **dict(attributes or {})}
                    self._add(system, row)

    def lookup(self, system: str, code: str) -> Concept:
        """The concept ``code`` of ``system``; :class:`UnknownCodeError` when it is not shipped."""
        if system not in SYSTEM_URIS:
            raise UnknownCodeError(
                f"unknown code system {system!r}; known: {', '.join(SYSTEM_URIS)}"
            )
        try:
            return self._codes[system][code]
        except KeyError:
            raise UnknownCodeError(
                f"{system} code {code!r} is not in the terminology tables"
            ) from None

    def contains(self, system: str, code: str) -> bool:
        """True when ``code`` is a known code of ``system``."""
        return code in self._codes.get(system, {})

    def codes(self, system: str) -> list[Concept]:
        """Every concept of ``system``."""
        return list(self._codes.get(system, {}).values())


@cache
def default_terminology() -> Terminology:
    """The process-wide terminology: ``$TERMINOLOGY_DB_PATH`` when it exists, else the CSVs."""
    return Terminology(os.environ.get(ENV_DB_PATH))


def lookup(system: str, code: str) -> Concept:
    """Shortcut for ``default_terminology().lookup(system, code)``."""
    return default_terminology().lookup(system, code)
