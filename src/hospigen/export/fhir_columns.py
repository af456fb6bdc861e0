"""FHIR R4 resources rendered a whole table at a time (the fast path of every FHIR exporter).

The high-volume resources (Encounter, Observation, blood-pressure panels, DiagnosticReport,
Condition, Procedure, DocumentReference) are built as JSON text with Arrow string kernels:
each row's text is a join of constant fragments, ids, times and fragments rendered once per
distinct code (``meta`` + ``category`` + ``code`` of an Observation, a CodeableConcept of an
Encounter type…). The low-volume ones (Patient, Coverage, MedicationRequest, Immunization,
AllergyIntolerance, CarePlan, Claim, ExplanationOfBenefit) reuse the dict builders of
:mod:`hospigen.export.fhir_resources` and orjson. Key order and values match those builders, so
both paths produce the same resources (tests compare them).

:func:`render_recipes` returns, for one :class:`ShardView`, a list of
:class:`~hospigen.export.fhir_layouts.Recipe` (one per kind, the parts of every row's JSON with
the patient's own references left open) in the order a patient's resources are written:
Patient, Coverage, Encounter, Condition, Observation, blood pressure, DiagnosticReport,
MedicationRequest, Procedure, Immunization, AllergyIntolerance, CarePlan, DocumentReference,
Claim + ExplanationOfBenefit. Each layout (NDJSON line, bundle entry…) is one join of those
parts, so the FHIR formats share everything but the final join.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from hospigen.export import fhir_resources as fr
from hospigen.export.fhir_layouts import Recipe, Ref, Styled, localized
from hospigen.export.labpanels import effective_panel
from hospigen.export.shardview import Columns, ShardView
from hospigen.export.textcols import (
    Rendered,
    base64_text,
    flat,
    join,
    json_string,
    key,
    number,
    per_distinct,
    uuid5_text,
    when,
)
from hospigen.export.timetext import iso_seconds

TERM = fr.TERMINOLOGY


def _dumps(value: object) -> str:
    return orjson.dumps(value).decode()


def _inner(value: dict) -> str:
    """A dict's members as JSON text without the braces (to splice into a template)."""
    return _dumps(value)[1:-1]


class ColumnRenderer:
    """Renders every FHIR resource of one :class:`ShardView`, table by table."""

    def __init__(self, view: ShardView, last_updated: str) -> None:
        self.view = view
        self.last_updated = last_updated
        # relative references; the bundle layout swaps them for urn:uuid: (fhir_layouts)
        self.dicts = fr.ResourceBuilder(view, last_updated, local_refs=False, times=False)
        self._patient_index = {
            name: np.repeat(np.arange(view.count), np.diff(cols.starts))
            for name, cols in view.children.items()
        }

    # --- small fragments ----------------------------------------------------------------
    def meta(self, profile: str | None) -> str:
        """``"meta":{…}`` for a profile (constant per resource type)."""
        return '"meta":' + _dumps(self.dicts.meta(profile))

    @staticmethod
    def ref(kind: str, ids: pa.Array | pa.ChunkedArray) -> Ref:
        """A reference per row to the patient's own ``kind``, styled by the layout."""
        return Ref(kind, ids)

    @staticmethod
    def shared_ref(kind: str, ids: pa.Array | pa.ChunkedArray) -> pa.Array:
        """A reference to a shared resource (null where the id is null)."""
        return join(f'{{"reference":"{kind}/', ids, '"}')

    @staticmethod
    def concepts(system: pa.Array | str, code, display=None) -> pa.Array:
        """``concept(system, code, display)`` JSON per row, rendered once per distinct triple."""
        n = len(code)
        system = pa.array([system] * n, pa.string()) if isinstance(system, str) else system
        display = pa.nulls(n, pa.string()) if display is None else display

        def render(k: str) -> str:
            s, c, d = k.split("\x1f")
            return _dumps(fr.concept(s, c, d or None))

        return per_distinct(key(system, code, display), render)

    def _block(self, kind: str, ids, parts: list, patient_of_row: np.ndarray) -> Recipe:
        starts = np.searchsorted(patient_of_row, np.arange(self.view.count + 1), side="left")
        return Recipe(kind, ids, parts, starts)

    def _dicts(self, kind: str, resources: list[dict], patient_of_row: np.ndarray) -> Recipe:
        texts = pa.array([_dumps(r) for r in resources], pa.string())
        ids = pa.array([r["id"] for r in resources], pa.string())
        return self._block(kind, ids, [localized(texts)], patient_of_row)

    def _dict_block(self, kind: str, cols: Columns, build: Callable[[Columns, int], dict]):
        patient = np.repeat(np.arange(self.view.count), np.diff(cols.starts))
        return self._dicts(kind, [build(cols, r) for r in range(len(cols))], patient)

    # --- the blocks ---------------------------------------------------------------------
    def blocks(self) -> list[Recipe]:
        """Every resource of the view, one block per kind, in per-patient writing order."""
        v, d = self.view, self.dicts
        out = self._patients()
        renderers = [
            ("encounters", self.encounters),
            ("conditions", self.conditions),
            ("observations", self.observations),
            ("medications", lambda c: [self._dict_block("MedicationRequest", c,
                                                        d.medication_request)]),
            ("procedures", self.procedures),
            ("immunizations", lambda c: [self._dict_block("Immunization", c, d.immunization)]),
            ("allergies", lambda c: [self._dict_block("AllergyIntolerance", c, d.allergy)]),
            ("careplans", lambda c: [self._dict_block("CarePlan", c, d.careplan)]),
            ("notes", self.documents),
            ("claims", lambda c: [self._dict_block("Claim", c, d.claim), self._dict_block(
                "ExplanationOfBenefit", c, d.explanation_of_benefit)]),
        ]  # fmt: skip
        for name, render in renderers:
            cols = v.child(name)
            if cols is not None:
                if name in ("medications", "immunizations", "allergies", "careplans", "claims"):
                    d.add_times(cols)
                out.extend(
                    render(cols)
                    if name not in ("encounters", "conditions", "procedures", "notes")
                    else [render(cols)]
                )
        return out

    def _patients(self) -> list[Recipe]:
        p, d, n = self.view.patients, self.dicts, self.view.count
        d.add_patient_times()
        patients = [d.patient(i) for i in range(n)]
        coverage = [d.coverage(p["patient_id"][i], p["payer_id"][i]) for i in range(n)]
        return [self._dicts("Patient", patients, np.arange(n)),
                self._dicts("Coverage", coverage, np.arange(n))]  # fmt: skip

    def encounters(self, c: Columns) -> Recipe:
        """US Core Encounter per row."""
        t = c.table
        start, stop = iso_seconds(t["start"]), iso_seconds(t["stop"])
        finished = pc.fill_null(pc.less_equal(stop, self.last_updated), False)
        classes = per_distinct(
            t["encounter_class"],
            lambda k: _dumps(
                dict(
                    zip(
                        ("system", "code", "display"),
                        (
                            "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                            *fr.ENCOUNTER_CLASS.get(k, ("AMB", "ambulatory")),
                        ),
                        strict=True,
                    )
                )
            ),
        )
        has_reason = pc.fill_null(pc.not_equal(t["reason_code"], ""), False)
        ids = t["encounter_id"]
        parts = [
            '{"resourceType":"Encounter","id":"', ids, '",', self.meta("us-core-encounter"),
            f',"identifier":[{{"system":"{fr.HOSPIGEN_SID}/encounter","value":"', ids,
            '"}],"status":', pc.if_else(finished, '"finished"', '"in-progress"'),
            ',"class":', classes,
            ',"type":[', self.concepts(t["code_system"], t["code"], t["description"]),
            '],"subject":', self.ref("Patient", t["patient_id"]),
            when(pc.is_valid(t["provider_id"]), ',"participant":[{"individual":',
                 self.shared_ref("Practitioner", t["provider_id"]), "}]"),
            ',"period":{"start":"', start, '"', when(pc.is_valid(stop), ',"end":"', stop, '"'),
            "}",
            when(has_reason, ',"reasonCode":[',
                 self.concepts("icd10cm", t["reason_code"], t["reason_description"]), "]"),
            ',"location":[{"location":', self.shared_ref("Location", t["facility_id"]),
            '}],"serviceProvider":', self.shared_ref("Organization", t["facility_id"]), "}",
        ]  # fmt: skip
        return self._block("Encounter", ids, parts, self._patient_index["encounters"])

    def conditions(self, c: Columns) -> Recipe:
        """US Core encounter-diagnosis Condition per row."""
        t = c.table
        onset, abatement = iso_seconds(t["onset"]), iso_seconds(t["abatement"])
        resolved = pc.is_valid(t["abatement"])
        status = pc.if_else(resolved, '"resolved"', '"active"')
        parts = [
            '{"resourceType":"Condition","id":"', t["condition_id"], '",',
            self.meta("us-core-condition-encounter-diagnosis"),
            f',"clinicalStatus":{{"coding":[{{"system":"{TERM}condition-clinical","code":',
            status, "}]}",
            ',"verificationStatus":' + _dumps(fr._simple(TERM + "condition-ver-status",
                                                         "confirmed")),
            ',"category":[' + _dumps(fr._simple(TERM + "condition-category",
                                                "encounter-diagnosis", "Encounter Diagnosis")),
            '],"code":', self.concepts(t["code_system"], t["code"], t["description"]),
            ',"subject":', self.ref("Patient", t["patient_id"]),
            ',"encounter":', self.ref("Encounter", t["encounter_id"]),
            ',"onsetDateTime":"', onset, '"',
            when(resolved, ',"abatementDateTime":"', abatement, '"'),
            ',"recordedDate":"', onset, '"}',
        ]  # fmt: skip
        ids = t["condition_id"]
        return self._block("Condition", ids, parts, self._patient_index["conditions"])

    def procedures(self, c: Columns) -> Recipe:
        """US Core Procedure per row (CPT codes without display)."""
        t = c.table
        has_reason = pc.fill_null(pc.not_equal(t["reason_code"], ""), False)
        parts = [
            '{"resourceType":"Procedure","id":"', t["procedure_id"], '",',
            self.meta("us-core-procedure"), ',"status":"completed","code":',
            self.concepts(t["code_system"], t["code"], t["description"]),
            ',"subject":', self.ref("Patient", t["patient_id"]),
            ',"encounter":', self.ref("Encounter", t["encounter_id"]),
            ',"performedDateTime":"', iso_seconds(t["performed"]), '"',
            when(has_reason, ',"reasonCode":[', self.concepts("icd10cm", t["reason_code"]), "]"),
            "}",
        ]  # fmt: skip
        ids = t["procedure_id"]
        return self._block("Procedure", ids, parts, self._patient_index["procedures"])

    def documents(self, c: Columns) -> Recipe:
        """US Core clinical-note DocumentReference per row (text base64-encoded)."""
        t = c.table
        when_ = iso_seconds(t["note_time"])
        types = per_distinct(t["note_type"], lambda k: _dumps(self._note_type(k)))
        author = self._encounter_providers(t["encounter_id"])
        parts = [
            '{"resourceType":"DocumentReference","id":"', t["note_id"], '",',
            self.meta("us-core-documentreference"), ',"status":"current","type":', types,
            ',"category":[' + _dumps(fr._simple("http://hl7.org/fhir/us/core/CodeSystem/"
                                                "us-core-documentreference-category",
                                                "clinical-note", "Clinical Note")),
            '],"subject":', self.ref("Patient", t["patient_id"]),
            ',"date":"', pc.utf8_slice_codeunits(when_, 0, 19), '.000Z"',
            when(pc.is_valid(author), ',"author":[', self.shared_ref("Practitioner", author), "]"),
            ',"content":[{"attachment":{"contentType":"text/plain; charset=utf-8","data":"',
            base64_text(t["text"]),
            '"},"format":{"system":"http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/'
            'formatcode","code":"urn:ihe:iti:xds:2017:mimeTypeSufficient"}}]',
            ',"context":{"encounter":[', self.ref("Encounter", t["encounter_id"]),
            '],"period":{"start":"', when_, '"}}}',
        ]  # fmt: skip
        return self._block("DocumentReference", t["note_id"], parts, self._patient_index["notes"])

    @staticmethod
    def _note_type(note_type: str) -> dict:
        code, display = fr.NOTE_TYPES.get(note_type, fr.DEFAULT_NOTE_TYPE)
        return {"coding": [{"system": fr.LOINC, "code": code, "display": display}],
                "text": display}  # fmt: skip

    def _encounter_providers(self, encounter_ids: pa.ChunkedArray) -> pa.Array:
        enc = self.view.child("encounters")
        if enc is None:
            return pa.nulls(len(encounter_ids), pa.string())
        at = pc.index_in(encounter_ids, value_set=flat(enc.table["encounter_id"]))
        return flat(enc.table["provider_id"]).take(at)

    # --- observations ---------------------------------------------------------------------
    def observations(self, c: Columns) -> list[Recipe]:
        """Observations (BP components folded into panels) and lab DiagnosticReports."""
        t = c.table
        panel = effective_panel(t)
        effective = iso_seconds(t["effective"])
        is_bp = pc.fill_null(pc.equal(panel, fr.BP_PANEL), False)
        single = pc.invert(is_bp)
        rows = np.flatnonzero(single.to_numpy(zero_copy_only=False))
        out = [self._single_observations(t.take(rows), effective.take(rows),
                                         self._patient_index["observations"][rows])]  # fmt: skip
        out.append(self._blood_pressure(t, effective, is_bp))
        is_lab = pc.and_(pc.is_valid(panel), pc.equal(t["category"], "laboratory"))
        out.append(self._reports(t, effective, panel, pc.and_(is_lab, single)))
        return out

    def _head(self, t: pa.Table, profile_and_code: pa.Array, effective: pa.Array) -> list:
        return [
            '{"resourceType":"Observation","id":"', t["observation_id"], '",', profile_and_code,
            ',"subject":', self.ref("Patient", t["patient_id"]),
            ',"encounter":', self.ref("Encounter", t["encounter_id"]),
            ',"effectiveDateTime":"', effective,
            '","issued":"', pc.utf8_slice_codeunits(effective, 0, 19), '.000Z"',
        ]  # fmt: skip

    def _observation_kind(self, k: str) -> str:
        """``"meta":…,"status":"final","category":…,"code":…`` of (category, code, text)."""
        category, code, description = k.split("\x1f")
        profile = (fr.VITAL_PROFILES.get(code, "us-core-vital-signs") if category == "vital-signs"
                   else fr.CATEGORY_PROFILES.get(category))  # fmt: skip
        if code in fr.SPO2_CODES:
            both = [fr.coding("loinc", fr.SPO2_CODES[0]), fr.coding("loinc", fr.SPO2_CODES[1])]
            concept = {"coding": both, "text": description}
        else:
            concept = fr.concept("loinc", code, description or None)
        return _inner({
            "meta": self.dicts.meta(profile), "status": "final",
            "category": [{"coding": [{"system": TERM + "observation-category",
                                      "code": category}]}],
            "code": concept,
        })  # fmt: skip

    def _single_observations(self, t: pa.Table, effective: pa.Array, patient: np.ndarray):
        kinds = per_distinct(key(t["category"], t["code"], t["description"]),
                             self._observation_kind)  # fmt: skip
        unit = t["unit"]
        has_unit = pc.fill_null(pc.not_equal(unit, ""), False)
        unit_json = json_string(unit)
        unit_part = when(has_unit, ',"unit":', unit_json, f',"system":"{fr.UCUM}","code":',
                         unit_json)  # fmt: skip
        value_ok, text_ok = pc.is_valid(t["value"]), pc.is_valid(t["value_text"])
        absent = ',"dataAbsentReason":' + _dumps(fr._simple(TERM + "data-absent-reason",
                                                            "unknown"))  # fmt: skip
        value = pc.if_else(
            value_ok,
            join(',"valueQuantity":{"value":', number(t["value"]), unit_part, "}"),
            pc.if_else(text_ok, join(',"valueString":', json_string(t["value_text"])), absent),
        )
        has_flag = pc.fill_null(pc.not_equal(t["interpretation"], ""), False)
        flag = when(has_flag, ',"interpretation":[{"coding":[{"system":"'
                    f'{TERM}v3-ObservationInterpretation","code":',
                    json_string(t["interpretation"]), "}]}]")  # fmt: skip
        low_ok, high_ok = pc.is_valid(t["ref_low"]), pc.is_valid(t["ref_high"])
        ranges = when(
            pc.or_(low_ok, high_ok),
            ',"referenceRange":[{',
            when(low_ok, '"low":{"value":', number(t["ref_low"]), unit_part, "}"),
            when(pc.and_(low_ok, high_ok), ","),
            when(high_ok, '"high":{"value":', number(t["ref_high"]), unit_part, "}"),
            "}]",
        )
        parts = [*self._head(t, kinds, effective), value, flag, ranges, "}"]
        return self._block("Observation", t["observation_id"], parts, patient)

    def _grouped(self, t: pa.Table, effective: pa.Array, mask, extra: dict) -> pa.Table:
        """Rows under ``mask`` grouped by (patient, encounter, time[, panel]).

        Groups come in (patient, time, encounter id) order and, between panels of the same
        draw, in the order of their first row; members stay in row order. Both orders are
        built here from the sorted rows, so they never depend on the window or shard the
        rows arrived in (Acero's ``group_by`` emitted tied panels in an order that did).
        """
        rows = np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False))
        patient = self._patient_index["observations"][rows]
        enc, eff = flat(t["encounter_id"]).take(rows), effective.take(rows)
        keys = [patient, _dense_rank(eff), _dense_rank(enc)]
        if "panel" in extra:
            keys.append(_dense_rank(flat(extra["panel"]).take(rows)))
        # np.lexsort: the last key is the primary one; the row number breaks every tie
        order = np.lexsort([np.arange(len(rows)), *keys[::-1]])
        changed = np.zeros(len(rows), bool)
        for k in keys:
            changed[1:] |= k[order][1:] != k[order][:-1]
        changed[:1] = True
        starts = np.flatnonzero(changed)
        sizes = np.diff(np.append(starts, len(rows)))
        first = order[starts]  # the smallest row of each group
        ranked = np.lexsort([first, keys[2][first], keys[1][first], keys[0][first]])
        offsets = np.concatenate([[0], np.cumsum(sizes[ranked])]).astype(np.int32)
        shift = np.repeat(starts[ranked] - offsets[:-1], sizes[ranked])
        members = rows[order[np.arange(len(rows)) + shift]]
        lead = rows[first[ranked]]
        cols = {"_patient": patient[first[ranked]], "encounter_id": enc.take(first[ranked]),
                "_eff": eff.take(first[ranked])}  # fmt: skip
        if "panel" in extra:
            cols["panel"] = flat(extra["panel"]).take(lead)
        listed = {"patient_id": t["patient_id"], "observation_id": t["observation_id"]}
        listed.update({name: col for name, col in extra.items() if name != "panel"})
        for name, col in listed.items():
            values = flat(col).take(members)
            cols[f"{name}_list"] = pa.ListArray.from_arrays(pa.array(offsets), values)
        return pa.table(cols)

    def _blood_pressure(self, t: pa.Table, effective: pa.Array, mask) -> Recipe:
        component = pc.if_else(
            pc.is_valid(t["value"]),
            join('{"code":', self.concepts("loinc", t["code"], t["description"]),
                 ',"valueQuantity":{"value":', number(t["value"]), ',"unit":',
                 json_string(pc.fill_null(t["unit"], "mm[Hg]")), f',"system":"{fr.UCUM}",'
                 '"code":', json_string(pc.fill_null(t["unit"], "mm[Hg]")), "}}"),
            join('{"code":', self.concepts("loinc", t["code"], t["description"]),
                 ',"dataAbsentReason":', _dumps(fr._simple(TERM + "data-absent-reason",
                                                           "unknown")), "}"))  # fmt: skip
        ident = join(
            f'{{"system":"{fr.HOSPIGEN_SID}/observation","value":"', t["observation_id"], '"}'
        )
        g = self._grouped(t, effective, mask, {"_component": component, "_ident": ident})
        first = pc.list_element(g["observation_id_list"], 0)
        kind = _inner({"meta": self.dicts.meta(fr.VITAL_PROFILES[fr.BP_PANEL]), "status": "final",
                       "category": [{"coding": [{"system": TERM + "observation-category",
                                                 "code": "vital-signs"}]}]})  # fmt: skip
        code = _dumps(
            fr.concept("loinc", fr.BP_PANEL, "Blood pressure panel with all children optional")
        )
        gt = pa.table({"observation_id": first, "_kind": pa.array([kind] * g.num_rows),
                       "patient_id": pc.list_element(g["patient_id_list"], 0),
                       "encounter_id": g["encounter_id"]})  # fmt: skip
        parts = [
            *self._head(gt, gt["_kind"], g["_eff"]),
            ',"identifier":[',
            pc.binary_join(g["_ident_list"], ","),
            '],"code":',
            code,
            ',"component":[',
            pc.binary_join(g["_component_list"], ","),
            "]}",
        ]
        return self._block("Observation", first, parts, g["_patient"].to_numpy())

    def _reports(self, t: pa.Table, effective: pa.Array, panel: pa.Array, mask) -> Recipe:
        g = self._grouped(t, effective, mask, {"panel": panel})
        names = join("report|", pc.binary_join(g["observation_id_list"], "|"))
        report_ids = uuid5_text(fr.DERIVED_NS, names)  # = fr.derived_id("report", *results)

        def results(prefix: str) -> Callable[[], pa.Array]:
            sep = f'"}},{{"reference":"{prefix}'
            return lambda: join(f',"result":[{{"reference":"{prefix}',
                                pc.binary_join(g["observation_id_list"], sep), '"}]}')  # fmt: skip

        parts = [
            '{"resourceType":"DiagnosticReport","id":"', report_ids, '",',
            self.meta("us-core-diagnosticreport-lab"), ',"status":"final","category":[',
            _dumps(fr._simple(TERM + "v2-0074", "LAB", "Laboratory")), '],"code":',
            self.concepts("loinc", g["panel"]),
            ',"subject":', self.ref("Patient", pc.list_element(g["patient_id_list"], 0)),
            ',"encounter":', self.ref("Encounter", g["encounter_id"]),
            ',"effectiveDateTime":"', g["_eff"],
            '","issued":"', pc.utf8_slice_codeunits(g["_eff"], 0, 19), '.000Z"',
            Styled(results("urn:uuid:"), results("Observation/")),
        ]  # fmt: skip
        return self._block("DiagnosticReport", report_ids, parts, g["_patient"].to_numpy())


def _dense_rank(values: pa.Array) -> np.ndarray:
    """Each value's rank among the distinct values (equal values share it), as integers."""
    return pc.rank(values, sort_keys="ascending", tiebreaker="dense").to_numpy()


def render_recipes(view: ShardView, last_updated: str) -> list[Recipe]:
    """Every FHIR resource of ``view``, one recipe per kind (see the module docstring)."""
    return ColumnRenderer(view, last_updated).blocks()


def render_blocks(view: ShardView, last_updated: str, *, local_refs: bool) -> list[Rendered]:
    """Every FHIR resource of ``view`` as bare JSON text blocks, in writing order."""
    layout = "local" if local_refs else "relative"
    return [recipe.rendered(layout) for recipe in render_recipes(view, last_updated)]


WINDOW = 250  # patients rendered at a time


def shard_recipes(tables: dict[str, pa.Table], last_updated: str, *, size: int = WINDOW):
    """(window view, its recipes) for ``size``-patient windows of a shard.

    Small windows keep every text buffer small (a few tens of MB), so the allocator hands the
    same memory back window after window instead of mapping fresh pages for each join.
    """
    for view in ShardView(tables).windows(size):
        yield view, render_recipes(view, last_updated)


def shard_windows(
    tables: dict[str, pa.Table], last_updated: str, layouts: list[str], *, size: int = WINDOW
):
    """(window view, {layout: its blocks}) for ``size``-patient windows of a shard."""
    for view, recipes in shard_recipes(tables, last_updated, size=size):
        yield view, {name: [r.rendered(name) for r in recipes] for name in layouts}
