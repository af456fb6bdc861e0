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

from hospigen.export.fhir_resources import BP_PANEL
from hospigen.export.registry import ExportContext, register
from hospigen.export.shardview import Columns, ShardView, epoch_seconds
from hospigen.export.tabular import atomic_path

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
    text = unicodedata.normalize("NFKD", "" if value is None else str(value))
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
    out = []
    days = seconds.astype("datetime64[s]")
    parts = days.astype(object)
    for when in parts:
        date = f"{when.year - 1700:03d}{when.month:02d}{when.day:02d}"
        if with_time:
            tail = f"{when.hour:02d}{when.minute:02d}{when.second:02d}".rstrip("0")
            date = f"{date}.{tail}" if tail else date
        out.append(date)
    return out


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
        view = ShardView(tables)
        p = view.patients
        p.add("_dob", _fm_column(p, p.table, "birth_date", False))
        p.add("_dod", _fm_column(p, p.table, "death_date", False))
        for name, col in (("encounters", "start"), ("observations", "effective"),
                          ("conditions", "onset"), ("conditions", "abatement")):  # fmt: skip
            cols = view.child(name)
            if cols is not None:
                cols.add("_fm_" + col, _fm_column(cols, cols.table, col))
        lines: list[str] = []
        for i in range(view.count):
            dfn = p["patient_key"][i] + 1
            lines += self._patient(p, i, dfn)
            lines += self._visits(view.child("encounters"), i, dfn)
            lines += self._vitals(view.child("observations"), i, dfn)
            lines += self._problems(view.child("conditions"), i, dfn)
        self._file.write("".join(lines).encode("ascii"))

    def _bump(self, glob: str, ien: int | None = None) -> int:
        ien = ien if ien is not None else self.last[glob] + 1
        self.last[glob] = max(self.last[glob], ien)
        self.count[glob] += 1
        return ien

    def _patient(self, p: Columns, i: int, dfn: int) -> list[str]:
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
        return out

    def _visits(self, e: Columns | None, i: int, dfn: int) -> list[str]:
        out: list[str] = []
        for r in e.rows(i) if e is not None else ():
            ien = self._bump("AUPNVSIT")
            when = e["_fm_start"][r]
            cat = SERVICE_CATEGORY.get(e["encounter_class"][r], "A")
            out += [
                node("AUPNVSIT", ien, 0, value=f"{when}^{self.created}^O^^{dfn}^^{cat}"),
                node("AUPNVSIT", "B", float(when), ien),
                node("AUPNVSIT", "C", dfn, ien),
                node("AUPNVSIT", "AA", dfn, FM_MAX - int(float(when)), ien),
            ]
        return out

    def _vital(self, dfn: int, when: str, vtype: tuple[int, str, str], rate: str) -> list[str]:
        ien = self._bump("GMR")
        self.types_used.add(vtype)
        inverse = m_number(round(FM_MAX - float(when), 6))
        return [
            node("GMR", 120.5, ien, 0, value=f"{when}^{dfn}^{vtype[0]}^{self.created}^^^^{rate}"),
            node("GMR", 120.5, "AA", dfn, vtype[0], float(inverse), ien),
            node("GMR", 120.5, "B", float(when), ien),
        ]

    def _vitals(self, o: Columns | None, i: int, dfn: int) -> list[str]:
        out: list[str] = []
        bp: dict[tuple[str, str], dict[str, float]] = {}
        for r in o.rows(i) if o is not None else ():
            code, value, when = o["code"][r], o["value"][r], o["_fm_effective"][r]
            if value is None or o["category"][r] != "vital-signs":
                continue
            if o["panel_code"][r] == BP_PANEL:
                bp.setdefault((o["encounter_id"][r], when), {})[code] = value
            elif code in VITAL_TYPES:
                out += self._vital(dfn, when, VITAL_TYPES[code], _vista_rate(code, value))
        for (_, when), parts in bp.items():
            if "8480-6" in parts and "8462-4" in parts:
                rate = f"{round(parts['8480-6'])}/{round(parts['8462-4'])}"
                out += self._vital(dfn, when, BP_TYPE, rate)
        return out

    def _problems(self, c: Columns | None, i: int, dfn: int) -> list[str]:
        out: list[str] = []
        for r in c.rows(i) if c is not None else ():
            ien = self._bump("AUPNPROB")
            onset = c["_fm_onset"][r].split(".")[0]
            status = "I" if c["abatement"][r] is not None else "A"
            changed = (c["_fm_abatement"][r] or c["_fm_onset"][r]).split(".")[0]
            zero = f"{piece(c['code'][r])}^{dfn}^{changed}^^^^^{onset}^^^^{status}^{onset}"
            out += [node("AUPNPROB", ien, 0, value=zero),
                    node("AUPNPROB", "B", c["code"][r], ien),
                    node("AUPNPROB", "AC", dfn, ien)]  # fmt: skip
        return out

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
