"""VistA globals in ZWR format: PATIENT (#2), VISIT (#9000010), vitals (#120.5), problems.

File: ``vista/vista_globals.zwr`` (GT.M/YottaDB ``mupip load -format=zwr``). Nodes written:

- ``^DPT(DFN,0)="LAST,FIRST MIDDLE^SEX^DOB^^^^^^SSN"``, ``.11`` address (state = file #5
  pointer, the FIPS code), ``.13`` phone, ``.35`` date of death; ``"B"`` and ``"SSN"`` indexes;
  header ``^DPT(0)="PATIENT^2I^<last DFN>^<count>"``. DFN = patient key + 1.
- ``^AUPNVSIT(IEN,0)`` visit date/time, date created, type, DFN, service category (A/H/E…)
  with ``"B"`` (date), ``"C"`` (patient) and ``"AA"`` (patient, inverse date) indexes.
- ``^GMR(120.5,IEN,0)`` vitals with #120.51 type pointers and VistA units (°F, in, lb,
  ``120/80``), ``"AA"`` and ``"B"`` indexes; the used #120.51 types in ``^GMRD(120.51)``.
- ``^AUPNPROB(IEN,0)`` problems (ICD-10-CM code, DFN, dates, status A/I, onset), ``"B"`` and
  ``"AC"`` indexes.

Dates are FileMan dates (year − 1700, ``YYYMMDD.HHMMSS`` without trailing zeros); numbers are
M canonical; strings are quoted with embedded quotes doubled and limited to printable ASCII.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hospigen.export.fhir_resources import BP_PANEL
from hospigen.export.registry import ExportContext, register
from hospigen.export.shardview import Columns, ShardView
from hospigen.export.tabular import atomic_path
from hospigen.export.textcols import Rendered, flat, join, per_distinct
from hospigen.export.timetext import epoch_seconds, whole_seconds
from hospigen.model.calendar import civil_dates

# GMRV VITAL TYPE (#120.51) IENs and names, by LOINC code
VITAL_TYPES = {
    "8310-5": (2, "TEMPERATURE", "T"), "9279-1": (3, "RESPIRATION", "R"),
    "8867-4": (5, "PULSE", "P"), "8302-2": (8, "HEIGHT", "HT"), "29463-7": (9, "WEIGHT", "WT"),
    "59408-5": (21, "PULSE OXIMETRY", "PO2"), "2708-6": (21, "PULSE OXIMETRY", "PO2"),
    "72514-3": (22, "PAIN", "PN"),
}  # fmt: skip
BP_TYPE = (1, "BLOOD PRESSURE", "BP")
SERVICE_CATEGORY = {"inpatient": "H", "emergency": "A", "snf": "R", "hospice": "R",
                    "virtual": "T"}  # everything else: A (ambulatory)  # fmt: skip
STATE_FIPS = {
    "AL": 1, "AK": 2, "AZ": 4, "AR": 5, "CA": 6, "CO": 8, "CT": 9, "DE": 10, "DC": 11, "FL": 12,
    "GA": 13, "HI": 15, "ID": 16, "IL": 17, "IN": 18, "IA": 19, "KS": 20, "KY": 21, "LA": 22,
    "ME": 23, "MD": 24, "MA": 25, "MI": 26, "MN": 27, "MS": 28, "MO": 29, "MT": 30, "NE": 31,
    "NV": 32, "NH": 33, "NJ": 34, "NM": 35, "NY": 36, "NC": 37, "ND": 38, "OH": 39, "OK": 40,
    "OR": 41, "PA": 42, "RI": 44, "SC": 45, "SD": 46, "TN": 47, "TX": 48, "UT": 49, "VT": 50,
    "VA": 51, "WA": 53, "WV": 54, "WI": 55, "WY": 56, "PR": 72,
}  # fmt: skip
FM_MAX = 9999999  # inverse date = 9999999 - FileMan date


def m_string(value: object) -> str:
    """An M string literal: printable ASCII, quotes doubled (``a"b`` → ``"a""b"``)."""
    text = "" if value is None else str(value)
    if not (text.isascii() and text.isprintable()):  # the slow path only for the rare others
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch if " " <= ch <= "~" else ("" if unicodedata.combining(ch) else " ")
                       for ch in text)  # fmt: skip
    return '"' + text.replace('"', '""') + '"'


def m_number(value: float | int) -> str:
    """M canonical number: no leading zero before the point, no trailing zeros (``.11``)."""
    if float(value).is_integer():
        return str(int(value))
    text = f"{value:.6f}".rstrip("0")
    sign = "-" if text.startswith("-") else ""
    text = text.lstrip("-")
    return sign + (text[1:] if text.startswith("0.") else text)


def subscript(value: object) -> str:
    """A ZWR subscript: numbers unquoted in canonical form, strings quoted."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return m_number(value)
    return m_string(value)


def node(glob: str, *subs: object, value: object = "") -> str:
    """One ZWR line ``^GLOBAL(sub,…)="value"`` (value is quoted as an M string)."""
    return f"^{glob}({','.join(subscript(s) for s in subs)})={m_string(value)}\n"


def fileman(seconds: np.ndarray, with_time: bool = True) -> list[str]:
    """Epoch seconds → FileMan dates ``YYYMMDD[.HHMMSS]`` (canonical: trailing zeros dropped)."""
    day, hms = _fm_numbers(np.asarray(seconds, dtype=np.int64))
    return _decimal(day, hms if with_time else np.zeros_like(hms)).to_pylist()


def piece(value: object) -> str:
    """A value safe inside a ``^``-delimited FileMan node (``^`` would split the piece)."""
    return "" if value is None else str(value).replace("^", " ")


def vista_name(last: str, first: str, middle: str | None) -> str:
    """``LAST,FIRST MIDDLE`` in upper case, FileMan-safe characters, 3–30 characters."""

    def clean(text: str | None) -> str:
        text = unicodedata.normalize("NFKD", text or "").upper()
        return "".join(ch for ch in text if (ch.isalpha() and ch.isascii()) or ch in " -'")

    name = f"{clean(last)},{clean(first)}" + (f" {clean(middle)}" if middle else "")
    return name[:30]


def _fm_column(cols: Columns, table: pa.Table, name: str, with_time: bool = True) -> list[str]:
    secs = epoch_seconds(table[name])
    valid = secs != np.iinfo(np.int64).min
    out = fileman(np.where(valid, secs, 0), with_time)
    return [v if ok else "" for v, ok in zip(out, valid.tolist(), strict=True)]


# the child tables the globals are built from (the others are not sorted for this writer)
_CHILDREN = ("encounters", "observations", "conditions")
# Patients rendered at a time (1,000 instead of a whole shard of 5,000: the writer's peak for the
# seed cohort's 2,000 patients fell from 196 to 168 MB above the shard, at the same CPU)
WINDOW = 1000


class VistaWriter:
    """Streams ZWR nodes shard by shard; file headers (counts, last IENs) at close."""

    def __init__(self, out_dir: Path, context: ExportContext) -> None:
        self.path = out_dir / "vista" / "vista_globals.zwr"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: BinaryIO = open(atomic_path(self.path), "wb")  # noqa: SIM115
        stamp = context.generated_at.strftime("%d-%b-%Y %H:%M:%S").upper()
        self._file.write(f"hospigen VistA globals (seed {context.seed})\n{stamp} ZWR\n".encode())
        self.created = fileman(np.array([int(context.generated_at.timestamp())]), False)[0]
        self.last = {"DPT": 0, "AUPNVSIT": 0, "GMR": 0, "AUPNPROB": 0}
        self.count = {"DPT": 0, "AUPNVSIT": 0, "GMR": 0, "AUPNPROB": 0}
        self.types_used: set[tuple[int, str, str]] = set()

    def write(self, tables: dict[str, pa.Table]) -> None:
        if "patients" not in tables:
            return
        for view in ShardView(tables, _CHILDREN).windows(WINDOW):
            self._write_window(view)

    def _write_window(self, view: ShardView) -> None:
        p = view.patients
        p.add("_dob", _fm_column(p, p.table, "birth_date", False))
        p.add("_dod", _fm_column(p, p.table, "death_date", False))
        dfn = pc.add(p.table["patient_key"], 1).to_numpy()
        lines = [self._patient(p, i, int(dfn[i])) for i in range(view.count)]
        blocks = [Rendered("DPT", pa.array(lines, pa.string()), np.arange(view.count + 1))]
        enc, obs, cond = (view.child(n) for n in _CHILDREN)
        if enc is not None:
            blocks.append(self._visits(enc, dfn))
        if obs is not None:
            blocks.append(self._vitals(obs, dfn))
        if cond is not None:
            blocks.append(self._problems(cond, dfn))
        # patient by patient, as FileMan files are usually browsed (and shard-independent)
        parts = [block.patient_bytes(i) for i in range(view.count) for block in blocks]
        self._file.write(b"".join(parts))

    def _bump(self, glob: str, ien: int) -> int:
        self.last[glob] = max(self.last[glob], ien)
        self.count[glob] += 1
        return ien

    def _iens(self, glob: str, n: int) -> pa.Array:
        first = self.last[glob] + 1
        self.last[glob] += n
        self.count[glob] += n
        return pa.array(np.arange(first, first + n)).cast(pa.string())

    def _patient(self, p: Columns, i: int, dfn: int) -> str:
        self._bump("DPT", dfn)
        name = vista_name(p["last_name"][i], p["first_name"][i], p["middle_name"][i])
        ssn = p["ssn"][i].replace("-", "")
        zero = f"{name}^{p['gender'][i]}^{p['_dob'][i]}^^^^^^{ssn}"
        address = (f"{piece(p['address'][i])}^^^{piece(p['city'][i])}^"
                   f"{STATE_FIPS.get(p['state'][i], '')}^{piece(p['zip'][i])}")  # fmt: skip
        out = [node("DPT", dfn, 0, value=zero), node("DPT", dfn, 0.11, value=address),
               node("DPT", dfn, 0.13, value=piece(p["phone"][i]))]  # fmt: skip
        if p["_dod"][i]:
            out.append(node("DPT", dfn, 0.35, value=p["_dod"][i]))
        out += [node("DPT", "B", name, dfn), node("DPT", "SSN", ssn, dfn)]
        return "".join(out)

    def _visits(self, e: Columns, dfn: np.ndarray) -> Rendered:
        t = e.table
        patient = _patient_of_rows(e.starts)
        ien = self._iens("AUPNVSIT", t.num_rows)
        pid = pa.array(dfn[patient]).cast(pa.string())
        when = fm_dates(t["start"])
        day = pc.utf8_slice_codeunits(when, 0, 7)
        inverse = pc.subtract(FM_MAX, day.cast(pa.int64())).cast(pa.string())
        cat = per_distinct(t["encounter_class"], lambda k: SERVICE_CATEGORY.get(k, "A"))
        text = join(
            "^AUPNVSIT(", ien, ',0)="', when, f"^{self.created}^O^^", pid, "^^", cat, '"\n',
            '^AUPNVSIT("B",', when, ",", ien, ')=""\n',
            '^AUPNVSIT("C",', pid, ",", ien, ')=""\n',
            '^AUPNVSIT("AA",', pid, ",", inverse, ",", ien, ')=""\n',
        )  # fmt: skip
        return Rendered("AUPNVSIT", text, e.starts)

    def _vitals(self, o: Columns, dfn: np.ndarray) -> Rendered:
        t = o.table
        patient = _patient_of_rows(o.starts)
        vital = pc.and_(pc.equal(t["category"], "vital-signs"), pc.is_valid(t["value"]))
        is_bp = pc.fill_null(pc.equal(t["panel_code"], BP_PANEL), False)
        typed = pc.is_in(t["code"], value_set=pa.array(list(VITAL_TYPES), pa.string()))
        single = _rows(pc.and_(pc.and_(vital, pc.invert(is_bp)), typed))
        rate = _vista_rates(t["code"].take(single), t["value"].take(single))
        codes = t["code"].take(single).to_pylist()
        self.types_used.update(VITAL_TYPES[c] for c in set(codes))
        type_ien = pa.array([VITAL_TYPES[c][0] for c in codes], pa.int64())
        singles = pa.table({"_patient": patient[single], "_block": np.zeros(len(single), np.int8),
                            "when": flat(t["effective"].take(single)), "type": type_ien,
                            "rate": rate})  # fmt: skip
        bp = _blood_pressures(t, patient, _rows(pc.and_(vital, is_bp)))
        if bp.num_rows:
            self.types_used.add(BP_TYPE)
        rows = pa.concat_tables([singles, bp])
        rows = rows.take(pc.sort_indices(rows, [("_patient", "ascending"),
                                                ("_block", "ascending")]))  # fmt: skip
        ien = self._iens("GMR", rows.num_rows)
        order = rows["_patient"].to_numpy()
        pid = pa.array(dfn[order]).cast(pa.string())
        when = fm_dates(rows["when"])
        vtype = rows["type"].cast(pa.string())
        text = join(
            "^GMR(120.5,", ien, ',0)="', when, "^", pid, "^", vtype, f"^{self.created}^^^^",
            rows["rate"], '"\n',
            '^GMR(120.5,"AA",', pid, ",", vtype, ",", fm_inverse(rows["when"]), ",", ien,
            ')=""\n',
            '^GMR(120.5,"B",', when, ",", ien, ')=""\n',
        )  # fmt: skip
        starts = np.searchsorted(order, np.arange(len(o.starts)), side="left")
        return Rendered("GMR", text, starts)

    def _problems(self, c: Columns, dfn: np.ndarray) -> Rendered:
        t = c.table
        ien = self._iens("AUPNPROB", t.num_rows)
        pid = pa.array(dfn[_patient_of_rows(c.starts)]).cast(pa.string())
        onset = pc.utf8_slice_codeunits(fm_dates(t["onset"]), 0, 7)
        resolved = pc.is_valid(t["abatement"])
        changed = pc.if_else(resolved, pc.utf8_slice_codeunits(fm_dates(t["abatement"]), 0, 7),
                             onset)  # fmt: skip
        status = pc.if_else(resolved, "I", "A")
        code = per_distinct(t["code"], piece)
        text = join(
            "^AUPNPROB(", ien, ',0)=', per_distinct(code, lambda v: m_string(v)[:-1]), "^", pid,
            "^", changed, "^^^^^", onset, "^^^^", status, "^", onset, '"\n',
            '^AUPNPROB("B",', per_distinct(t["code"], subscript), ",", ien, ')=""\n',
            '^AUPNPROB("AC",', pid, ",", ien, ')=""\n',
        )  # fmt: skip
        return Rendered("AUPNPROB", text, c.starts)

    def close(self) -> list[Path]:
        headers = [
            node("DPT", 0, value=f"PATIENT^2I^{self.last['DPT']}^{self.count['DPT']}"),
            node("AUPNVSIT", 0,
                 value=f"VISIT^9000010D^{self.last['AUPNVSIT']}^{self.count['AUPNVSIT']}"),
            node("GMR", 120.5, 0,
                 value=f"GMRV VITAL MEASUREMENT^120.5DI^{self.last['GMR']}^{self.count['GMR']}"),
            node("AUPNPROB", 0,
                 value=f"PROBLEM^9000011P^{self.last['AUPNPROB']}^{self.count['AUPNPROB']}"),
        ]  # fmt: skip
        for ien, name, abbr in sorted(self.types_used):
            headers.append(node("GMRD", 120.51, ien, 0, value=f"{name}^{abbr}"))
        self._file.write("".join(headers).encode("ascii"))
        self._file.close()
        atomic_path(self.path).replace(self.path)
        return [self.path]


def _patient_of_rows(starts: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(starts) - 1), np.diff(starts))


def _rows(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False))


def _fm_numbers(secs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(FileMan day YYYMMDD, HHMMSS) integers of whole UTC seconds since 1970."""
    days, sod = np.divmod(secs, 86400)
    year, month, day = civil_dates(days)
    fm_day = (year - 1700) * 10000 + month * 100 + day
    return fm_day, sod // 3600 * 10000 + sod // 60 % 60 * 100 + sod % 60


def _parts(column: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(FileMan day YYYMMDD, HHMMSS) integers of UTC timestamps (nulls: 0, see fm_dates)."""
    ticks, secs = whole_seconds(column)
    fm_day, hms = _fm_numbers(secs)
    if ticks.null_count:
        valid = ticks.is_valid().to_numpy(zero_copy_only=False)
        fm_day, hms = np.where(valid, fm_day, 0), np.where(valid, hms, 0)
    return fm_day, hms


def _decimal(whole: np.ndarray, micro: np.ndarray) -> pa.Array:
    """``whole.micro`` as M canonical numbers (six fraction digits, trailing zeros dropped)."""
    frac = pc.utf8_rtrim(pc.utf8_lpad(pa.array(micro).cast(pa.string()), 6, "0"), "0")
    dot = pc.if_else(pc.equal(frac, ""), "", ".")
    return join(pa.array(whole).cast(pa.string()), dot, frac)


def fm_dates(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """UTC timestamps as FileMan date-times ``YYYMMDD[.HHMMSS]`` (canonical), vectorised."""
    day, hms = _parts(column)
    return flat(pc.if_else(pc.is_valid(column), _decimal(day, hms), pa.scalar(None, pa.string())))


def fm_inverse(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``9999999 - FileMan date-time`` (the inverse-date index subscript), exact."""
    day, hms = _parts(column)
    inverse = FM_MAX * 1_000_000 - (day * 1_000_000 + hms)
    return _decimal(inverse // 1_000_000, inverse % 1_000_000)


def _vista_rates(codes: pa.Array, values: pa.Array) -> pa.Array:
    """Values in VistA's units, one decimal, M canonical (see :func:`_vista_rate`)."""
    out = [_vista_rate(c, v) for c, v in zip(codes.to_pylist(), values.to_pylist(), strict=True)]
    return pa.array(out, pa.string())


def _blood_pressures(t: pa.Table, patient: np.ndarray, rows: np.ndarray) -> pa.Table:
    """One row per (encounter, time) reading having both systolic and diastolic values."""
    sub = pa.table({"_patient": patient[rows], "encounter_id": t["encounter_id"].take(rows),
                    "when": t["effective"].take(rows), "code": t["code"].take(rows),
                    "value": t["value"].take(rows), "_row": rows})  # fmt: skip
    sys_, dia = (
        sub.filter(pc.equal(sub["code"], "8480-6")),
        sub.filter(pc.equal(sub["code"], "8462-4")),
    )
    keys = ["_patient", "encounter_id", "when"]
    first = sub.group_by(keys, use_threads=False).aggregate([("_row", "min")])
    both = first.join(sys_.select([*keys, "value"]).rename_columns([*keys, "sys"]), keys)
    both = both.join(dia.select([*keys, "value"]).rename_columns([*keys, "dia"]), keys)
    both = both.filter(pc.and_(pc.is_valid(both["sys"]), pc.is_valid(both["dia"])))
    both = both.take(pc.sort_indices(both, [("_row_min", "ascending")]))
    rate = join(pc.round(both["sys"]).cast(pa.int64()).cast(pa.string()), "/",
                pc.round(both["dia"]).cast(pa.int64()).cast(pa.string()))  # fmt: skip
    return pa.table({"_patient": flat(both["_patient"]),
                     "_block": pa.array(np.ones(both.num_rows, np.int8)),
                     "when": flat(both["when"]),
                     "type": pa.array(np.full(both.num_rows, BP_TYPE[0], np.int64)),
                     "rate": rate})  # fmt: skip


def _vista_rate(code: str, value: float) -> str:
    """A canonical value in VistA's unit: °C → °F, cm → in, kg → lb; others unchanged."""
    if code == "8310-5":
        value = value * 9 / 5 + 32
    elif code == "8302-2":
        value = value / 2.54
    elif code == "29463-7":
        value = value * 2.2046226218
    return m_number(round(value, 1))


@register
class VistaExporter:
    """VistA FileMan globals (ZWR)."""

    name = "vista"
    description = "VistA globals in ZWR: ^DPT patients, ^AUPNVSIT visits, ^GMR(120.5), ^AUPNPROB"

    def open(self, out_dir: Path, context: ExportContext) -> VistaWriter:
        return VistaWriter(out_dir, context)
