"""Claims from the world's encounters, with labelled fraud patterns (vectorised).

One professional claim per billable encounter: the real patient (age, sex, birth and death
dates from the payer's member file), the encounter's provider and NPI, the facility's state,
place of service from the encounter class, ICD-10-CM diagnoses from the encounter's conditions,
bare CPT/HCPCS codes by encounter type (E/M levels by complexity, ED levels, labs, imaging,
the encounter's own procedures), amounts from the fee schedule with a log-normal spread,
service date = encounter date, submission after a log-normal lag. All draws come from
:class:`~hospigen.rng.KeyedRandom` keyed by the encounter, so a claim does not depend on which
other encounters are in the shard. Codes are built in long format (claim index, code) with numpy
and folded into Arrow list arrays; no per-claim Python loop.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hospigen.model import schema, uuids
from hospigen.pipelines.claims.rules import CHARGE_MULTIPLIER, fee_schedule
from hospigen.rng import KeyedRandom

FRAUD_PATTERNS = (
    "upcoding",
    "duplicate_resubmission",
    "services_after_death",
    "phantom_encounter",
    "unbundling",
    "outlier_amount",
    "impossible_dates",
    "age_sex_inconsistent",
)
DEFAULT_FRAUD_RATE = 0.04  # all patterns together; split evenly unless rates are given

_POS = {
    "wellness": "Office",
    "ambulatory": "Office",
    "outpatient": "Outpatient",
    "urgentcare": "Urgent Care",
    "emergency": "ER",
    "inpatient": "Inpatient",
}
_HEX_POS = np.array([0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 19, 20, 21, 22])


@dataclass
class _Long:
    """Codes in long format: one row per (claim index, code)."""

    idx: np.ndarray
    code: np.ndarray

    def add(self, idx: np.ndarray, code: np.ndarray | str) -> None:
        code = np.broadcast_to(np.asarray(code, dtype=object), idx.shape)
        self.idx = np.concatenate([self.idx, idx])
        self.code = np.concatenate([self.code, code])

    def distinct(self) -> _Long:
        """The same codes with repeats within a claim dropped (first occurrence kept)."""
        pair = np.char.add(np.char.add(self.idx.astype(str), "|"), self.code.astype(str))
        _, first = np.unique(pair, return_index=True)
        first.sort()
        return _Long(self.idx[first], self.code[first])

    def lists(self, n: int) -> pa.ListArray:
        order = np.argsort(self.idx, kind="stable")
        counts = np.bincount(self.idx, minlength=n)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        return pa.ListArray.from_arrays(pa.array(offsets), pa.array(self.code[order], pa.string()))


def keys_of(ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """64-bit integer keys from UUID strings (their first 16 hex digits), vectorised."""
    raw = np.array(pc.cast(ids, pa.string()).to_numpy(zero_copy_only=False), dtype="S36")
    digits = raw.view(np.uint8).reshape(-1, 36)[:, _HEX_POS].astype(np.uint64)
    nibbles = np.where(digits >= ord("a"), digits - ord("a") + 10, digits - ord("0"))
    shifts = np.arange(60, -4, -4, dtype=np.uint64)
    return np.bitwise_or.reduce(nibbles << shifts, axis=1).astype(np.int64) & np.int64(2**62 - 1)


def _lookup(values: pa.Array, table: pa.Table, key: str, column: str) -> pa.Array:
    idx = pc.index_in(values, value_set=table.column(key))
    return table.column(column).take(idx)


def _fees(codes: np.ndarray) -> np.ndarray:
    fees = fee_schedule()
    return np.array([float(fees[c]["fee"]) if c in fees else 0.0 for c in codes])


def _years(birth: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Whole years between numpy datetime64[D] dates (age at ``on``)."""
    b = birth.astype("datetime64[D]").astype(object)
    o = on.astype("datetime64[D]").astype(object)
    return np.array(
        [x.year - y.year - ((x.month, x.day) < (y.month, y.day)) for x, y in zip(o, b, strict=True)]
    )


def _em_codes(rnd, keys, enc_class, n_dx, age, los) -> _Long:
    """Evaluation & management (and preventive) codes, levels by documented complexity."""
    n = len(keys)
    idx = np.arange(n)
    long = _Long(np.empty(0, np.int64), np.empty(0, object))
    noise = rnd.integers(keys, "em_noise", 0, 2)
    office = np.isin(enc_class, ["ambulatory", "outpatient", "urgentcare"])
    level = np.clip(2 + np.minimum(n_dx, 3) - 1 + noise, 2, 5)
    level = np.where((level == 5) & (n_dx < 3), 4, level)  # level 5 needs documented complexity
    long.add(idx[office], np.char.add("9921", level[office].astype(str)).astype(object))
    ed = enc_class == "emergency"
    ed_level = np.clip(3 + (n_dx >= 2) + ((n_dx >= 3) & (noise == 1)), 3, 5)
    long.add(idx[ed], np.char.add("9928", ed_level[ed].astype(str)).astype(object))
    inp = enc_class == "inpatient"
    long.add(idx[inp], np.where(n_dx[inp] >= 2, "99223", "99222").astype(object))
    extra = np.clip(los - 1, 0, 5)
    rep = np.repeat(idx[inp], extra[inp])
    long.add(rep, "99232")
    long.add(idx[inp], "99238")
    well = enc_class == "wellness"
    bands = [(0, "99460"), (1, "99392"), (5, "99393"), (12, "99394"), (18, "99395")]
    bands += [(40, "99396"), (65, "99397")]
    prev = np.full(n, "99460", dtype=object)
    for lo, code in bands:
        prev = np.where(age >= lo, code, prev)
    long.add(idx[well], prev[well])
    return long


def _ancillary(rnd, keys, enc_class, dx_first, age, long: _Long) -> None:
    """Labs, imaging and ECGs with realistic frequencies, never an NCCI-conflicting pair."""
    idx = np.arange(len(keys))
    u = lambda name: rnd.uniform(keys, name)  # noqa: E731
    ed, inp = enc_class == "emergency", enc_class == "inpatient"
    office = np.isin(enc_class, ["ambulatory", "outpatient", "urgentcare"])
    well = enc_class == "wellness"
    acute = ed | inp
    long.add(idx[acute & (u("cmp") < 0.7)], "80053")
    long.add(idx[acute & (u("cbc") < 0.7)], "85025")
    long.add(idx[acute & (u("draw") < 0.8)], "36415")
    long.add(idx[acute & (u("cxr") < 0.3)], "71046")
    long.add(idx[ed & (u("cth") < 0.1)], "70450")
    long.add(idx[ed & (u("ctap") < 0.1)], "74177")
    cardiac = np.char.startswith(dx_first.astype(str), "I")
    long.add(idx[(acute | office) & cardiac & (u("ecg") < 0.3)], "93000")
    long.add(idx[office & (u("bmp") < 0.2)], "80048")
    long.add(
        idx[office & (u("a1c") < 0.3) & np.char.startswith(dx_first.astype(str), "E11")], "83036"
    )
    long.add(idx[well & (age >= 20) & (u("lipid") < 0.5)], "80061")
    long.add(idx[(office | well) & (u("cbc2") < 0.1)], "85027")


def claims_from_tables(
    tables: dict[str, pa.Table],
    world,
    seed: int,
    *,
    as_of: dt.date | None = None,
) -> pa.Table:
    """Legitimate claims (canonical CLAIMS columns + message facts) for ``tables``' encounters."""
    enc = tables["encounters"]
    patients, conditions = tables["patients"], tables["conditions"]
    procedures = tables.get("procedures", schema("procedures").empty_table())
    as_of = as_of or world.as_of
    rnd = KeyedRandom(seed, "claim")
    keys = keys_of(enc.column("encounter_id"))
    n = len(keys)
    idx = np.arange(n)
    start = pc.cast(enc.column("start"), pa.date32()).to_numpy(zero_copy_only=False)
    stop = pc.cast(enc.column("stop"), pa.date32()).to_numpy(zero_copy_only=False)
    los = np.maximum((stop - start).astype(np.int64), 1)
    birth = _lookup(enc.column("patient_id"), patients, "patient_id", "birth_date")
    birth_np = birth.to_numpy(zero_copy_only=False)
    age = _years(birth_np, start)
    enc_class = np.array(enc.column("encounter_class").to_pylist(), dtype=object)
    # diagnoses: the encounter's conditions, else its reason, else a routine-exam code
    cond_enc = pc.index_in(conditions.column("encounter_id"), value_set=enc.column("encounter_id"))
    dx = _Long(np.empty(0, np.int64), np.empty(0, object))
    valid = pc.is_valid(cond_enc).to_numpy(zero_copy_only=False)
    dx.add(
        cond_enc.to_numpy(zero_copy_only=False)[valid].astype(np.int64),
        np.array(conditions.column("code").to_pylist(), dtype=object)[valid],
    )
    has_dx = np.bincount(dx.idx, minlength=n) > 0
    reason = np.array(enc.column("reason_code").to_pylist(), dtype=object)
    need = ~has_dx & (reason != None)  # noqa: E711
    dx.add(idx[need], reason[need])
    none = ~has_dx & ~need
    dx.add(idx[none], np.where(age[none] < 18, "Z00.129", "Z00.00").astype(object))
    dx = dx.distinct()
    n_dx = np.bincount(dx.idx, minlength=n)
    dx_first = np.full(n, "", dtype=object)
    dx_first[dx.idx[::-1]] = dx.code[::-1]
    codes = _em_codes(rnd, keys, enc_class, n_dx, age, los)
    _ancillary(rnd, keys, enc_class, dx_first, age, codes)
    proc_enc = pc.index_in(procedures.column("encounter_id"), value_set=enc.column("encounter_id"))
    pvalid = pc.is_valid(proc_enc).to_numpy(zero_copy_only=False)
    codes.add(
        proc_enc.to_numpy(zero_copy_only=False)[pvalid].astype(np.int64),
        np.array(procedures.column("code").to_pylist(), dtype=object)[pvalid],
    )
    fee = np.bincount(codes.idx, weights=_fees(codes.code), minlength=n)
    spread = np.exp(rnd.normal(keys, "amount", 0.0, 0.25))
    amount = np.round(np.maximum(fee, 20.0) * CHARGE_MULTIPLIER * spread, 2)
    lag = np.round(1 + np.exp(rnd.normal(keys, "lag", np.log(7.0), 0.8))).astype(np.int64)
    as_of_np = np.datetime64(as_of, "D")
    submitted = np.maximum(np.minimum(start + lag.astype("timedelta64[D]"), as_of_np), start)
    recent = (as_of_np - submitted).astype(np.int64) < 14
    status = np.array(["PAID", "DENIED", "PENDING"], dtype=object)[
        rnd.choice(keys, "status", [0.85, 0.08, 0.07])
    ]
    status = np.where(recent, "SUBMITTED", status)
    providers, facilities = world.providers, world.facilities
    return pa.table(
        {
            "claim_id": uuids(seed, "claim", keys),
            "patient_id": enc.column("patient_id"),
            "encounter_id": enc.column("encounter_id"),
            "provider_id": enc.column("provider_id"),
            "billing_npi": _lookup(enc.column("provider_id"), providers, "provider_id", "npi"),
            "facility_id": enc.column("facility_id"),
            "payer_id": enc.column("payer_id"),
            "place_of_service": pa.array([_POS.get(c, "Outpatient") for c in enc_class]),
            "diagnosis_codes": dx.lists(n),
            "procedure_codes": codes.lists(n),
            "claim_amount": amount,
            "service_date": pa.array(start, pa.date32()),
            "submission_date": pa.array(submitted, pa.date32()),
            "claim_status": pa.array(status, pa.string()),
            "provider_region": _lookup(
                enc.column("facility_id"), facilities, "facility_id", "state"
            ),
            "patient_age": pa.array(age, pa.int64()),
            "patient_gender": _lookup(enc.column("patient_id"), patients, "patient_id", "gender"),
            "patient_birth_date": birth,
            "patient_death_date": _lookup(
                enc.column("patient_id"), patients, "patient_id", "death_date"
            ),
            "_key": pa.array(keys, pa.int64()),
        }
    )


def fraud_rates(total: float, rates: dict[str, float] | None = None) -> dict[str, float]:
    """Per-pattern injection rates: ``rates`` as given, else ``total`` split evenly."""
    if rates:
        unknown = set(rates) - set(FRAUD_PATTERNS)
        if unknown:
            raise ValueError(f"unknown fraud pattern(s): {', '.join(sorted(unknown))}")
        return {p: float(rates.get(p, 0.0)) for p in FRAUD_PATTERNS}
    return {p: total / len(FRAUD_PATTERNS) for p in FRAUD_PATTERNS}


def inject_fraud(claims: pa.Table, seed: int, rates: dict[str, float]) -> pa.Table:
    """Labelled copies/edits of claims for each fraud pattern at its rate (vectorised)."""
    from hospigen.pipelines.claims import fraud

    return fraud.inject(claims, seed, rates)


__all__ = ["FRAUD_PATTERNS", "claims_from_tables", "fraud_rates", "inject_fraud", "keys_of"]
