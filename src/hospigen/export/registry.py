"""The exporter interface and the registry of formats by name.

An exporter module defines a class implementing :class:`Exporter` and decorates it with
:func:`register`. Exporters are discovered by importing every module of this package once, so
adding a format means adding one file — there is no central if-chain of formats.

Exporters are streaming: :meth:`Exporter.open` returns a :class:`TableWriter` that receives
shards of canonical tables (``{"patients": Table, "encounters": Table, …}``) one after another
and is closed once at the end, when exporters that need the whole run (shared resources,
manifests) write what is left.
"""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from hospigen.errors import UsageError

_REGISTRY: dict[str, type[Exporter]] = {}


@dataclass
class ExportContext:
    """What every exporter may need besides the tables."""

    seed: int
    as_of: dt.date
    generated_at: dt.datetime  # stamped into outputs (FHIR meta.lastUpdated, HL7 MSH-7…)
    options: dict = field(default_factory=dict)


class TableWriter(Protocol):
    """Receives shards of canonical tables, then is closed once."""

    def write(self, tables: dict[str, pa.Table]) -> None: ...

    def close(self) -> list[Path]: ...


class Exporter(Protocol):
    """A named output format."""

    name: str
    description: str

    def open(self, out_dir: Path, context: ExportContext) -> TableWriter: ...


def register(cls: type) -> type:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"two exporters are named {cls.name!r}")
    _REGISTRY[cls.name] = cls
    return cls


def _discover() -> None:
    import hospigen.export as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name != "registry":
            importlib.import_module(f"{package.__name__}.{info.name}")


def available() -> dict[str, str]:
    """Format name → one-line description, sorted by name."""
    _discover()
    return {name: _REGISTRY[name].description for name in sorted(_REGISTRY)}


def _load(name: str) -> None:
    """Import the exporter of ``name``: its own module when it is named like the format (so
    ``csv`` does not import the FHIR and HL7 libraries), else every exporter."""
    if name in _REGISTRY:
        return
    if name.isidentifier() and name != "registry":
        try:
            importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{name}":
                raise
    if name not in _REGISTRY:
        _discover()


def get(name: str) -> Exporter:
    """A new exporter instance for format ``name``."""
    _load(name)
    try:
        return _REGISTRY[name]()
    except KeyError:
        raise UsageError(
            f"unknown output format {name!r}; available: {', '.join(sorted(_REGISTRY))}"
        ) from None
