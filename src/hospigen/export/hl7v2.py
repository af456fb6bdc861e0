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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hospigen.export.fhir_resources import BP_PANEL, DERIVED_NS, _display
from hospigen.export.labpanels import effective_panel
from hospigen.export.options import bool_option
from hospigen.export.registry import ExportContext, register
from hospigen.export.shardview import ShardView
from hospigen.export.tabular import atomic_path
from hospigen.export.textcols import (
    Rendered,
    contains_any,
    flat,
    join,
    key,
    per_distinct,
    uuid5_text,
    when,
)
from hospigen.export.timetext import date_text, seconds_text

PATIENT_CLASS = {"inpatient": "I", "emergency": "E", "snf": "I", "hospice": "I"}  # table 0004
SEX = {"F": "F", "M": "M"}  # table 0001; anything else → U
SENDER = "HOSPIGEN"
_ESCAPES = [("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\"),
            ("\r", "\\X0D\\"), ("\n", "\\X0A\\")]  # fmt: skip
_SPECIAL_BYTES = "".join(raw for raw, _ in _ESCAPES).encode()
_SPECIAL = re.compile(f"[{re.escape(_SPECIAL_BYTES.decode())}]")
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


def _hl7_time(column: pa.ChunkedArray) -> pa.Array:
    return seconds_text(column, "", "", "", "+0000")


def hl7_text(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """:func:`esc` of every value (nulls → empty), once per distinct value when needed."""
    column = flat(column)
    if not contains_any(column, _SPECIAL_BYTES):
        return flat(pc.fill_null(column, ""))
    return flat(pc.fill_null(per_distinct(column, esc), ""))


def _ordinal(group_starts: np.ndarray, n: int) -> np.ndarray:
    """1-based position of each of ``n`` rows inside its group (groups are contiguous)."""
    first = np.repeat(group_starts[:-1], np.diff(group_starts))
    return np.arange(n) - first + 1


def _starts(owner: np.ndarray, groups: int) -> np.ndarray:
    return np.searchsorted(owner, np.arange(groups + 1), side="left")


class _Hl7Renderer:
    """Renders the ADT and ORU messages of one shard a table at a time."""

    def __init__(self, view: ShardView, mllp: bool) -> None:
        self.view = view
        self.mllp = mllp
        p = view.patients
        keys = p.table["patient_key"].to_numpy()
        self.key_text = pc.utf8_lpad(pa.array(keys).cast(pa.string()), 9, "0")
        self.pids = pa.array([self._pid(i) for i in range(view.count)], pa.string())
        self.adt_count = np.zeros(view.count, np.int64)

    def _pid(self, i: int) -> str:
        p = self.view.patients
        if "_dob" not in p:
            p.add("_dob", date_text(p.table["birth_date"], ""))
            p.add("_dod", date_text(p.table["death_date"], ""))
        c = p
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
        return "|".join(fields).rstrip("|") + "\r"

    def _control(self, patient: np.ndarray, n: np.ndarray) -> pa.Array:
        number = pc.utf8_lpad(pa.array(n).cast(pa.string()), 5, "0")
        return join("HG", self.key_text.take(pa.array(patient)), number)

    def _msh(self, facility, time, msg_type, control) -> pa.Array:
        return join("\x0b" if self.mllp else "", f"MSH|^~\\&|{SENDER}|^", facility,
                    "^GUID|RECEIVER|RECEIVER|", time, "||", msg_type, "|", control,
                    "|P|2.5.1\r")  # fmt: skip

    @staticmethod
    def _pv1(e: pa.Table, start: pa.Array, stop: pa.Array | None) -> pa.Array:
        cls = per_distinct(e["encounter_class"], lambda k: PATIENT_CLASS.get(k, "O"))
        tail = [start, "\r"] if stop is None else [start, "|", stop, "\r"]
        return join("PV1|1|", cls, "|^^^&", hl7_text(e["facility_id"]), "&GUID||||",
                    hl7_text(e["provider_id"]), "|" * 12, e["encounter_id"], "|" * 25,
                    *tail)  # fmt: skip

    def adt(self) -> Rendered | None:
        """ADT^A01/A04 per encounter (+ A03 at discharge), patient by patient."""
        enc = self.view.child("encounters")
        if enc is None:
            return None
        t = enc.table
        patient = np.repeat(np.arange(self.view.count), np.diff(enc.starts))
        cls = flat(t["encounter_class"])
        inpatient = pc.equal(cls, "inpatient").to_numpy(zero_copy_only=False)
        emergency = pc.equal(cls, "emergency").to_numpy(zero_copy_only=False)
        events = 1 + (inpatient | emergency)
        row = np.repeat(np.arange(t.num_rows), events)
        second = np.zeros(len(row), bool)
        second[np.cumsum(events)[events == 2] - 1] = True  # the A03 of a two-event stay
        event = np.where(second, "A03", np.where(inpatient[row], "A01", "A04"))
        event = pa.array(event.astype(object), pa.string())
        e = t.take(pa.array(row))
        start, stop = _hl7_time(e["start"]), _hl7_time(e["stop"])
        discharge = pa.array(second)
        time = pc.if_else(discharge, stop, start)
        owner = patient[row]
        n = _ordinal(_starts(owner, self.view.count), len(row))
        self.adt_count = np.diff(_starts(owner, self.view.count))
        msg_type = join("ADT^", event, "^", pc.if_else(discharge, "ADT_A03", "ADT_A01"))
        has_reason = pc.fill_null(pc.not_equal(e["reason_code"], ""), False)
        pv1 = pc.if_else(discharge, self._pv1(e, start, stop), self._pv1(e, start, None))
        text = join(
            self._msh(hl7_text(e["facility_id"]), time, msg_type, self._control(owner, n)),
            "EVN|", event, "|", time, "\r", self.pids.take(pa.array(owner)), pv1,
            when(has_reason, "DG1|1||", hl7_text(e["reason_code"]), "^",
                 hl7_text(e["reason_description"]), "^I10||", start, "|A\r"),
            MLLP_END.decode() if self.mllp else "",
        )  # fmt: skip
        return Rendered("adt", text, _starts(owner, self.view.count))

    def oru(self) -> Rendered | None:
        """ORU^R01 per result set: OBR per panel (or stand-alone result), OBX per result."""
        obs = self.view.child("observations")
        if obs is None:
            return None
        t = obs.table
        patient = np.repeat(np.arange(self.view.count), np.diff(obs.starts))
        when_ = _hl7_time(t["effective"])
        panel = effective_panel(t)
        set_key = key(pa.array(patient).cast(pa.string()), t["encounter_id"], when_)
        set_of = pc.dictionary_encode(set_key).indices.to_numpy()  # first-seen order
        group_key = key(set_key, pc.coalesce(panel, t["observation_id"]))
        group_of = pc.dictionary_encode(group_key).indices.to_numpy()
        # rows in message order: set, then group (first seen), then row
        order = np.lexsort((np.arange(t.num_rows), group_of, set_of))
        sets, groups = set_of[order], group_of[order]
        o = t.take(pa.array(order))
        eff, pnl, owner = when_.take(pa.array(order)), panel.take(pa.array(order)), patient[order]
        set_starts = np.flatnonzero(np.r_[True, sets[1:] != sets[:-1], True])
        group_starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1], True])
        k = _ordinal(group_starts, len(order))
        obx = self._obx(o, eff, k)
        # one OBR per group, one header per set
        g_first = group_starts[:-1]
        g_set = np.searchsorted(set_starts, g_first, side="right") - 1
        n_in_set = _ordinal(np.searchsorted(g_set, np.arange(len(set_starts))), len(g_first))
        obr = self._obr(o, eff, pnl, g_first, group_starts, n_in_set)
        s_first = set_starts[:-1]
        header = self._oru_header(o, eff, owner, s_first)
        # interleave: header of a set, then for each group its OBR and OBXs
        texts = pa.chunked_array([header, obr, obx]).combine_chunks()
        rank_set = np.concatenate([np.arange(len(s_first)), g_set, sets_index(set_starts)])
        kind = np.concatenate([np.zeros(len(s_first)), np.ones(len(g_first)),
                               np.ones(len(order))])  # fmt: skip
        grp = np.concatenate(
            [
                np.zeros(len(s_first)),
                np.arange(len(g_first)),
                np.repeat(np.arange(len(g_first)), np.diff(group_starts)),
            ]
        )
        sub = np.concatenate([np.zeros(len(s_first)), np.zeros(len(g_first)), k])
        seq = np.lexsort((sub, grp, kind, rank_set))
        if self.mllp:  # close each message after its last segment
            last = np.r_[set_starts[1:] - 1]
            ends = np.zeros(len(texts), bool)
            ends[len(s_first) + len(g_first) + last] = True
            texts = pc.if_else(pa.array(ends), join(texts, MLLP_END.decode()), texts)
        texts = flat(texts).take(pa.array(seq))
        seg_owner = np.concatenate([owner[s_first], owner[g_first], owner])[seq]
        return Rendered("oru", texts, _starts(seg_owner, self.view.count))

    def _oru_header(self, o: pa.Table, eff: pa.Array, owner: np.ndarray, first: np.ndarray):
        enc = self.view.child("encounters")
        o1, owner1 = o.take(pa.array(first)), owner[first]
        n = _ordinal(_starts(owner1, self.view.count), len(first)) + self.adt_count[owner1]
        control = self._control(owner1, n)
        if enc is not None:
            at = pc.index_in(o1["encounter_id"], value_set=flat(enc.table["encounter_id"]))
            e = enc.table.take(pc.fill_null(at, 0))
            found = pc.is_valid(at)
            facility = pc.if_else(found, hl7_text(e["facility_id"]), "")
            pv1 = when(found, self._pv1(e, _hl7_time(e["start"]), _hl7_time(e["stop"])))
        else:
            facility = pv1 = pa.array([""] * len(first))
        return join(self._msh(facility, eff.take(pa.array(first)), "ORU^R01^ORU_R01", control),
                    self.pids.take(pa.array(owner1)), pv1)  # fmt: skip

    @staticmethod
    def _obr(o, eff, panel, first, group_starts, n) -> pa.Array:
        ids = pa.ListArray.from_arrays(pa.array(group_starts, pa.int32()),
                                       flat(o["observation_id"]))  # fmt: skip
        p1 = panel.take(pa.array(first))
        o1 = o.take(pa.array(first))
        has_panel = pc.is_valid(p1)
        # the FHIR DiagnosticReport id, needed only for the groups of a lab panel
        needs = pc.fill_null(pc.not_equal(p1, BP_PANEL), False).to_numpy(zero_copy_only=False)
        rows = np.flatnonzero(needs)
        names = join("report|", pc.binary_join(ids, "|").take(pa.array(rows)))
        at = np.zeros(len(needs), np.int64)
        at[rows] = np.arange(len(rows))
        # = derived_id("report", *results) where needed, null elsewhere
        reports = uuid5_text(DERIVED_NS, names).take(pa.array(at, mask=~needs))
        filler = pc.if_else(has_panel, pc.if_else(pc.equal(p1, BP_PANEL), o1["observation_id"],
                                                  reports), o1["observation_id"])  # fmt: skip
        panel_code = per_distinct(p1, lambda c: f"{c}^{esc(_display('loinc', c))}^LN")
        code = pc.if_else(has_panel, panel_code, _code(o1))
        section = pc.if_else(pc.equal(o1["category"], "laboratory"), "LAB", "")
        at = eff.take(pa.array(first))
        return join("OBR|", pa.array(n).cast(pa.string()), "||", filler, "|", code, "|||", at,
                    "|" * 15, at, "||", section, "|F\r")  # fmt: skip

    @staticmethod
    def _obx(o: pa.Table, eff: pa.Array, k: np.ndarray) -> pa.Array:
        has_value = pc.is_valid(o["value"])
        kind = pc.if_else(has_value, "NM", "ST")
        shown = pc.if_else(has_value, _numbers(o["value"]), hl7_text(o["value_text"]))
        has_unit = pc.fill_null(pc.not_equal(o["unit"], ""), False)
        unit = when(has_unit, hl7_text(o["unit"]), "^^UCUM")
        low, high = _numbers(o["ref_low"]), _numbers(o["ref_high"])
        low_ok, high_ok = pc.is_valid(low), pc.is_valid(high)
        ref = pc.if_else(pc.and_(low_ok, high_ok), join(low, "-", high),
                         pc.if_else(low_ok, join(">", low),
                                    pc.if_else(high_ok, join("<", high), "")))  # fmt: skip
        return join("OBX|", pa.array(k).cast(pa.string()), "|", kind, "|", _code(o), "||",
                    shown, "|", unit, "|", flat(pc.fill_null(ref, "")), "|",
                    hl7_text(o["interpretation"]), "|||F|||", eff, "\r")  # fmt: skip


def sets_index(set_starts: np.ndarray) -> np.ndarray:
    """The set index of every row, from the rows where each set starts."""
    return np.repeat(np.arange(len(set_starts) - 1), np.diff(set_starts))


def _code(o: pa.Table) -> pa.Array:
    return join(o["code"], "^", hl7_text(o["description"]), "^LN")


def _numbers(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    return per_distinct(column, number)


# Patients rendered at a time: the text of 250 is ~30 MB, small enough for the allocator to
# reuse the same memory window after window (2,000 at once mapped fresh pages for every join;
# 250 instead of 500 took the writer's peak from 321 to 231 MB above the shard, same CPU).
WINDOW = 250


class Hl7Writer:
    """Appends each shard's messages to ``adt`` and ``oru`` files."""

    def __init__(self, out_dir: Path, context: ExportContext) -> None:
        self.mllp = bool_option(context, "hl7v2", "mllp", False)
        self.folder = out_dir / "hl7v2"
        self.folder.mkdir(parents=True, exist_ok=True)
        ext = "mllp" if self.mllp else "hl7"
        self.paths = [self.folder / f"adt.{ext}", self.folder / f"oru.{ext}"]
        self._files: list[BinaryIO] = [open(atomic_path(p), "wb") for p in self.paths]  # noqa: SIM115

    def write(self, tables: dict[str, pa.Table]) -> None:
        if "patients" not in tables:
            return
        for view in ShardView(tables, ("encounters", "observations")).windows(WINDOW):
            renderer = _Hl7Renderer(view, self.mllp)
            for handle, block in zip(self._files, (renderer.adt(), renderer.oru()), strict=True):
                if block is not None:
                    handle.write(block.all_bytes())

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
