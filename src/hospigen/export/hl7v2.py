"""HL7 v2.5.1: ADT per encounter and ORU^R01 per result set, CR segment separators.

Files (under ``hl7v2/``): ``adt.hl7`` — per encounter an ADT^A01 (inpatient admit) or ADT^A04
(registration of every other class), and an ADT^A03 (discharge) for inpatient and emergency
stays; ``oru.hl7`` — one ORU^R01 per result set (the observations of one encounter at one
time), an OBR per panel (or per stand-alone result) and one OBX per result with its LOINC code,
UCUM unit, reference range, abnormal flag and its own observation time.

Segments end with CR; messages follow each other. Option ``hl7v2.mllp=true`` wraps every
message in MLLP framing (``0x0B`` … ``0x1C 0x0D``) and names the files ``*.mllp``.
MSH-10 control ids are ``HG`` + patient key + message number: deterministic and unique.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

from hospigen.export.fhir_resources import BP_PANEL, _display, derived_id
from hospigen.export.labpanels import effective_panel
from hospigen.export.options import bool_option
from hospigen.export.registry import ExportContext, register
from hospigen.export.shardview import Columns, ShardView
from hospigen.export.tabular import atomic_path

PATIENT_CLASS = {"inpatient": "I", "emergency": "E", "snf": "I", "hospice": "I"}  # table 0004
SEX = {"F": "F", "M": "M"}  # table 0001; anything else → U
SENDER = "HOSPIGEN"
_ESCAPES = [("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\"),
            ("\r", "\\X0D\\"), ("\n", "\\X0A\\")]  # fmt: skip
_SPECIAL = re.compile(r"[\\|^&~\r\n]")
MLLP_START, MLLP_END = b"\x0b", b"\x1c\r"


def esc(value: object) -> str:
    """A value escaped for an HL7 field (``\\ | ^ & ~`` and line breaks); None → empty."""
    if value is None:
        return ""
    text = str(value)
    if _SPECIAL.search(text):
        for raw, escaped in _ESCAPES:
            text = text.replace(raw, escaped)
    return text


def number(value: float) -> str:
    """A decimal for NM fields: no exponent, no trailing zeros (``72.0`` → ``72``)."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _hl7_time(column: pa.ChunkedArray) -> pa.ChunkedArray:
    secs = column.cast(pa.timestamp("s", tz="UTC"), safe=False)
    return pc.binary_join_element_wise(pc.strftime(secs, format="%Y%m%d%H%M%S"), "+0000", "")


class _Hl7Renderer:
    """Renders the messages of one shard, patient by patient."""

    def __init__(self, view: ShardView) -> None:
        self.view = view
        self._pid: dict[int, str] = {}
        p = view.patients
        p.add("_dob", pc.strftime(p.table["birth_date"], format="%Y%m%d"))
        p.add("_dod", pc.strftime(p.table["death_date"], format="%Y%m%d"))
        for name, cols in view.children.items():
            for field in cols.table.schema:
                if pa.types.is_timestamp(field.type):
                    cols.add("_h" + field.name, _hl7_time(cols.table[field.name]))
            _ = name
        obs = view.child("observations")
        if obs is not None:  # labs of one draw are reported under their order panel
            obs.add("_panel", effective_panel(obs.table))

    def msh(self, structure: str, time: str, control: str, facility: str) -> str:
        event = structure.split("_")[1] if structure.startswith("ADT") else "R01"
        kind = structure.split("_")[0]
        msg_type = f"{kind}^{event}^{'ADT_A01' if event == 'A04' else structure}"
        return (f"MSH|^~\\&|{SENDER}|^{esc(facility)}^GUID|RECEIVER|RECEIVER|{time}||{msg_type}|"
                f"{control}|P|2.5.1")  # fmt: skip

    def pid(self, i: int) -> str:
        """The PID segment of patient ``i`` (rendered once per patient)."""
        cached = self._pid.get(i)
        if cached is None:
            cached = self._pid[i] = self._render_pid(i)
        return cached

    def _render_pid(self, i: int) -> str:
        c = self.view.patients
        name = f"{esc(c['last_name'][i])}^{esc(c['first_name'][i])}^{esc(c['middle_name'][i])}"
        address = (f"{esc(c['address'][i])}^^{esc(c['city'][i])}^{esc(c['state'][i])}^"
                   f"{esc(c['zip'][i])}^USA")  # fmt: skip
        race = f"{c['race_code'][i]}^{esc(c['race_display'][i])}^CDCREC"
        ethnic = f"{c['ethnicity_code'][i]}^{esc(c['ethnicity_display'][i])}^CDCREC"
        ids = f"{c['patient_id'][i]}^^^{SENDER}^PI~{esc(c['mrn'][i])}^^^{SENDER}^MR"
        fields = ["PID", "1", "", ids, "", name, "", c["_dob"][i],
                  SEX.get(c["gender"][i], "U"), "", race, address, "", esc(c["phone"][i]), "",
                  "", esc(c["marital_status"][i]), "", "", esc(c["ssn"][i]), "", "", ethnic,
                  "", "", "", "", "", "", c["_dod"][i] or "",
                  "Y" if c["_dod"][i] else ""]  # fmt: skip
        return "|".join(fields).rstrip("|")

    def pv1(self, e: Columns, r: int, discharged: bool) -> str:
        cls = PATIENT_CLASS.get(e["encounter_class"][r], "O")
        fields = ["PV1", "1", cls, f"^^^&{esc(e['facility_id'][r])}&GUID", "", "", "",
                  f"{esc(e['provider_id'][r])}", "", "", "", "", "", "", "", "", "", "", "",
                  f"{e['encounter_id'][r]}"] + [""] * 24 + [e["_hstart"][r],
                  e["_hstop"][r] if discharged else ""]  # fmt: skip
        return "|".join(fields).rstrip("|")

    def adt(self, i: int, r: int, event: str, control: str) -> str:
        e = self.view.children["encounters"]
        time = e["_hstop"][r] if event == "A03" else e["_hstart"][r]
        segs = [self.msh(f"ADT_{event}", time, control, e["facility_id"][r]),
                f"EVN|{event}|{time}", self.pid(i), self.pv1(e, r, event == "A03")]  # fmt: skip
        if e["reason_code"][r]:
            segs.append(f"DG1|1||{esc(e['reason_code'][r])}^{esc(e['reason_description'][r])}"
                        f"^I10||{e['_hstart'][r]}|A")  # fmt: skip
        return "\r".join(segs) + "\r"

    def oru(self, i: int, rows: list[int], control: str, enc_row: int | None) -> str:
        o = self.view.children["observations"]
        first = rows[0]
        facility = ""
        segs = []
        if enc_row is not None:
            e = self.view.children["encounters"]
            facility = e["facility_id"][enc_row]
            segs.append(self.pv1(e, enc_row, True))
        head = [self.msh("ORU_R01", o["_heffective"][first], control, facility), self.pid(i)]
        segs = head + segs
        groups: dict[str, list[int]] = {}
        for r in rows:
            groups.setdefault(o["_panel"][r] or o["observation_id"][r], []).append(r)
        for n, (group, members) in enumerate(groups.items(), 1):
            segs.append(self._obr(o, n, group, members))
            segs += [self._obx(o, k, m) for k, m in enumerate(members, 1)]
        return "\r".join(segs) + "\r"

    @staticmethod
    def _obr(o: Columns, n: int, group: str, members: list[int]) -> str:
        m0 = members[0]
        if o["_panel"][m0]:
            code = f"{group}^{esc(_display('loinc', group))}^LN"
            ids = [o["observation_id"][m] for m in members]
            filler = ids[0] if group == BP_PANEL else derived_id("report", *ids)
        else:
            code, filler = f"{o['code'][m0]}^{esc(o['description'][m0])}^LN", group
        when = o["_heffective"][m0]
        section = "LAB" if o["category"][m0] == "laboratory" else ""  # table 0074
        fields = ["OBR", str(n), "", filler, code, "", "", when] + [""] * 14 + [
            when, "", section, "F"]  # fmt: skip
        return "|".join(fields)

    @staticmethod
    def _obx(o: Columns, k: int, m: int) -> str:
        value, text = o["value"][m], o["value_text"][m]
        kind, shown = ("NM", number(value)) if value is not None else ("ST", esc(text))
        unit = f"{esc(o['unit'][m])}^^UCUM" if o["unit"][m] else ""
        low, high = o["ref_low"][m], o["ref_high"][m]
        ref = ""
        if low is not None and high is not None:
            ref = f"{number(low)}-{number(high)}"
        elif low is not None:
            ref = f">{number(low)}"
        elif high is not None:
            ref = f"<{number(high)}"
        code = f"{o['code'][m]}^{esc(o['description'][m])}^LN"
        fields = ["OBX", str(k), kind, code, "", shown, unit, ref, esc(o["interpretation"][m]),
                  "", "", "F", "", "", o["_heffective"][m]]  # fmt: skip
        return "|".join(fields)

    def patient_messages(self, i: int, key: int) -> tuple[list[str], list[str]]:
        """(ADT messages, ORU messages) of the ``i``-th patient, in time order."""
        adt, oru, n = [], [], 0
        enc = self.view.child("encounters")
        enc_rows: dict[str, int] = {}
        if enc is not None:
            for r in enc.rows(i):
                enc_rows[enc["encounter_id"][r]] = r
                cls = enc["encounter_class"][r]
                events = ["A01", "A03"] if cls == "inpatient" else ["A04"]
                if cls == "emergency":
                    events.append("A03")
                for event in events:
                    n += 1
                    adt.append(self.adt(i, r, event, f"HG{key:09d}{n:05d}"))
        obs = self.view.child("observations")
        if obs is not None:
            sets: dict[tuple[str, str], list[int]] = {}
            for r in obs.rows(i):
                sets.setdefault((obs["encounter_id"][r], obs["_heffective"][r]), []).append(r)
            for (enc_id, _), rows in sets.items():
                n += 1
                oru.append(self.oru(i, rows, f"HG{key:09d}{n:05d}", enc_rows.get(enc_id)))
        return adt, oru


class Hl7Writer:
    """Appends each shard's messages to ``adt`` and ``oru`` files."""

    def __init__(self, out_dir: Path, context: ExportContext) -> None:
        self.mllp = bool_option(context, "hl7v2", "mllp", False)
        self.folder = out_dir / "hl7v2"
        self.folder.mkdir(parents=True, exist_ok=True)
        ext = "mllp" if self.mllp else "hl7"
        self.paths = [self.folder / f"adt.{ext}", self.folder / f"oru.{ext}"]
        self._files: list[BinaryIO] = [open(atomic_path(p), "wb") for p in self.paths]  # noqa: SIM115

    def _put(self, handle: BinaryIO, message: str) -> None:
        data = message.encode("utf-8")
        handle.write(MLLP_START + data + MLLP_END if self.mllp else data)

    def write(self, tables: dict[str, pa.Table]) -> None:
        if "patients" not in tables:
            return
        view = ShardView(tables)
        renderer = _Hl7Renderer(view)
        keys = view.patients["patient_key"]
        for i in range(view.count):
            adt, oru = renderer.patient_messages(i, keys[i])
            for message in adt:
                self._put(self._files[0], message)
            for message in oru:
                self._put(self._files[1], message)

    def close(self) -> list[Path]:
        for handle, path in zip(self._files, self.paths, strict=True):
            handle.close()
            atomic_path(path).replace(path)
        return list(self.paths)


def split_messages(data: bytes) -> list[str]:
    """The messages of an ``adt``/``oru`` file (plain or MLLP-framed)."""
    if data.startswith(MLLP_START):
        return [chunk.removesuffix(MLLP_END).decode() for chunk in data.split(MLLP_START)[1:]]
    text = data.decode()
    parts = text.split("\rMSH|")
    return [parts[0] + "\r"] + ["MSH|" + p + ("" if p.endswith("\r") else "\r")
                                 for p in parts[1:]] if text else []  # fmt: skip


@register
class Hl7v2Exporter:
    """HL7 v2.5.1 ADT and ORU messages."""

    name = "hl7v2"
    description = "HL7 v2.5.1 ADT^A01/A03/A04 per encounter + ORU^R01 per result set (CR; MLLP)"

    def open(self, out_dir: Path, context: ExportContext) -> Hl7Writer:
        return Hl7Writer(out_dir, context)
