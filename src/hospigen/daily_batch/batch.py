"""The daily batch: one date → five files and a manifest, in the seed's frozen order.

Order: registry update → ``encounters.csv`` (anchor) → ``patients.csv`` → ``vitals.csv`` →
``labs.csv`` → ``notes.jsonl`` → ``manifest.json``. Every file is written atomically and the
manifest last, so a folder with a manifest is complete. The bytes depend only on
(seed, date, configuration): re-runs and out-of-order runs reproduce them exactly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa

from hospigen import __version__
from hospigen.daily_batch import tables
from hospigen.daily_batch.config import DailyConfig
from hospigen.daily_batch.course import course
from hospigen.daily_batch.encounters import DAY, discharged_on
from hospigen.daily_batch.io import csv_bytes, write_atomic
from hospigen.daily_batch.labs import simulate as simulate_labs
from hospigen.daily_batch.notes import write_notes
from hospigen.daily_batch.registry import Registry, size_on
from hospigen.daily_batch.vitals import simulate as simulate_vitals
from hospigen.errors import UsageError

MODES = ("raw", "sample")
FILES = ("encounters.csv", "patients.csv", "vitals.csv", "labs.csv", "notes.jsonl")


@dataclass
class DayResult:
    """What one batch wrote."""

    date: dt.date
    folder: Path
    counts: dict[str, int]
    registry_status: str
    registry_size: int


def day_folder(root: Path, mode: str, date: dt.date) -> Path:
    """``<root>/data/<mode>/<YYYY-MM-DD>``."""
    if mode not in MODES:
        raise UsageError(f"--mode must be raw or sample, got {mode!r}")
    return Path(root) / "data" / mode / date.isoformat()


def build_day(config: DailyConfig, date: dt.date, registry: Registry) -> dict[str, bytes | int]:
    """The five files of ``date`` as bytes (plus row counts), from an up-to-date registry."""
    seed = config.seed
    size = size_on(config, date)
    reg = registry.read(np.arange(size))
    birth = np.array(reg["birth_date"].to_pylist(), dtype="datetime64[D]").astype(np.int64)
    female = np.array(reg["sex"].to_pylist()) == "F"
    enc = discharged_on(config, date, birth)

    age = (enc.admit // DAY - birth[enc.patient_key]) / 365.2425
    fem = female[enc.patient_key]
    crs = course(seed, enc)
    vit = simulate_vitals(config, enc, crs, age, fem)
    lab = simulate_labs(seed, enc, crs, vit, age, fem)
    notes = write_notes(seed, enc, vit, lab, age, fem)

    enc_ids = tables.encounter_ids(seed, enc)
    pat_ids = reg["patient_id"].combine_chunks().take(pa.array(enc.patient_key))
    keys = np.unique(enc.patient_key)
    today = np.datetime64(date, "D").astype(np.int64)
    ages = np.floor((today - birth[keys]) / 365.2425)
    lab_ids = tables.lab_ids(seed, enc, lab)
    out: dict[str, bytes | int] = {}
    t = tables.encounters_table(enc, enc_ids, pat_ids)
    out["encounters.csv"], out["encounters.csv#rows"] = csv_bytes(t), t.num_rows
    t = tables.patients_table(reg.take(pa.array(keys)), ages)
    out["patients.csv"], out["patients.csv#rows"] = csv_bytes(t), t.num_rows
    t = tables.vitals_table(vit, enc_ids, pat_ids)
    out["vitals.csv"], out["vitals.csv#rows"] = csv_bytes(t), t.num_rows
    t = tables.labs_table(lab, lab_ids, enc_ids, pat_ids)
    out["labs.csv"], out["labs.csv#rows"] = csv_bytes(t), t.num_rows
    out["notes.jsonl"], out["notes.jsonl#rows"] = tables.notes_jsonl(
        seed, enc, notes, lab_ids, enc_ids, pat_ids
    )
    return out


def manifest(config: DailyConfig, date: dt.date, mode: str, files: dict) -> bytes:
    """``manifest.json``: counts, seed, version, config fingerprint and sha256 of each file."""
    body = {
        "dataset": "hospigen-daily",
        "date": date.isoformat(),
        "mode": mode,
        "seed": config.seed,
        "hospigen_version": __version__,
        "config_sha256": config.fingerprint(),
        "registry_size": size_on(config, date),
        "encounter_window": "discharged on date",
        "order": ["registry", *FILES],
        "files": {
            name: {"rows": files[f"{name}#rows"], "sha256": hashlib.sha256(files[name]).hexdigest()}
            for name in FILES
        },
    }
    return orjson.dumps(body, option=orjson.OPT_INDENT_2) + b"\n"


def run_day(config: DailyConfig, date: dt.date, mode: str, root: Path) -> DayResult:
    """Update the registry, then write the batch of ``date`` under ``root``."""
    folder = day_folder(root, mode, date)
    registry = Registry(Path(root), config)
    status = registry.ensure(date)
    files = build_day(config, date, registry)
    for name in FILES:
        write_atomic(folder / name, files[name])
    write_atomic(folder / "manifest.json", manifest(config, date, mode, files), durable=True)
    counts = {name: int(files[f"{name}#rows"]) for name in FILES}
    return DayResult(date, folder, counts, status, size_on(config, date))


def date_range(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every date from ``start`` to ``end`` inclusive."""
    if end < start:
        raise UsageError(f"--to {end} is before --from {start}")
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
