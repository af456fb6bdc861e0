"""Labelled fraud patterns injected into generated claims at known rates.

Each claim is drawn into at most one pattern (keyed by the claim, so the choice does not depend
on the shard). Edits touch only the few selected claims; patterns that add claims
(duplicate resubmission, phantom encounter) append new rows with their own ids.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from hospigen.model import uuids
from hospigen.pipelines.claims.rules import CHARGE_MULTIPLIER, fee_schedule, ncci_pairs
from hospigen.rng import KeyedRandom

_TOP = {"9921": "99215", "9920": "99205", "9928": "99285", "9922": "99223"}


def _amount(codes: list[str], spread: float) -> float:
    fees = fee_schedule()
    fee = sum(float(fees[c]["fee"]) for c in codes if c in fees)
    return round(max(fee, 20.0) * CHARGE_MULTIPLIER * spread, 2)


def _upcode(row: dict, u: float) -> None:
    codes = [
        _TOP.get(c[:4], c) if c[:4] in _TOP and c != "99238" else c for c in row["procedure_codes"]
    ]
    if codes == row["procedure_codes"]:  # no E/M to bump: bill a top office visit instead
        codes = ["99215", *codes]
    spread = row["claim_amount"] / max(_amount(row["procedure_codes"], 1.0), 0.01)
    row["procedure_codes"] = codes
    row["claim_amount"] = _amount(codes, spread)


def _unbundle(row: dict, u: float) -> None:
    codes = list(row["procedure_codes"])
    pairs = ncci_pairs()
    present = [b for a, b in pairs if a in codes and b not in codes]
    if present:
        codes.append(present[int(u * len(present))])
    else:
        a, b = pairs[int(u * len(pairs))]
        codes += [a, b]
    spread = row["claim_amount"] / max(_amount(row["procedure_codes"], 1.0), 0.01)
    row["procedure_codes"] = codes
    row["claim_amount"] = _amount(codes, spread)


def _after_death(row: dict, u: float) -> None:
    row["patient_death_date"] = row["service_date"] - dt.timedelta(days=5 + int(u * 300))


def _outlier(row: dict, u: float) -> None:
    row["claim_amount"] = round(row["claim_amount"] * (7 + 8 * u), 2)


def _impossible_dates(row: dict, u: float) -> None:
    lag = row["submission_date"] - row["service_date"]
    row["service_date"] = row["patient_birth_date"] - dt.timedelta(days=30 + int(u * 3000))
    row["submission_date"] = row["service_date"] + lag


def _age_sex(row: dict, u: float) -> None:
    male = row["patient_gender"] == "M"
    options = ["59400", "76805"] if male else ["84153", "G0103"]
    row["procedure_codes"] = [*row["procedure_codes"], options[int(u * 2)]]
    row["claim_amount"] = round(row["claim_amount"] + _amount(row["procedure_codes"][-1:], 1.0), 2)


def _phantom(row: dict, u: float) -> None:
    day = row["service_date"] + dt.timedelta(days=1 + int(u * 30))
    day += dt.timedelta(days=(5 - day.weekday()) % 7 + (1 if u > 0.5 else 0))  # Sat or Sun
    lag = row["submission_date"] - row["service_date"]
    row.update(service_date=day, submission_date=day + lag, place_of_service="Office")
    row["procedure_codes"] = ["99214" if u > 0.3 else "99213"]
    row["claim_amount"] = _amount(row["procedure_codes"], 0.9 + 0.2 * u)


def _resubmit(row: dict, u: float) -> None:
    row["submission_date"] = row["submission_date"] + dt.timedelta(days=10 + int(u * 30))


EDITS = {
    "upcoding": _upcode,
    "unbundling": _unbundle,
    "services_after_death": _after_death,
    "outlier_amount": _outlier,
    "impossible_dates": _impossible_dates,
    "age_sex_inconsistent": _age_sex,
}
ADDS = {"phantom_encounter": _phantom, "duplicate_resubmission": _resubmit}


def inject(claims: pa.Table, seed: int, rates: dict[str, float]) -> pa.Table:
    """``claims`` with labelled fraud edits and additions (``synthetic_*`` columns added)."""
    rnd = KeyedRandom(seed, "claim/fraud")
    keys = claims.column("_key").to_numpy()
    names = list(rates)
    probs = np.array([rates[p] for p in names])
    total = probs.sum()
    if total > 1:
        raise ValueError("fraud rates add up to more than 1")
    picked = rnd.uniform(keys, "pick") < total
    which = rnd.choice(keys, "pattern", probs if total > 0 else np.ones(len(names)))
    u = rnd.uniform(keys, "detail")
    rows = np.flatnonzero(picked)
    selected = claims.take(pa.array(rows, pa.int64())).to_pylist() if len(rows) else []
    edited, added = [], []
    keep = np.ones(claims.num_rows, dtype=bool)
    for i, row in zip(rows, selected, strict=True):
        name = names[which[i]]
        if name in EDITS:
            EDITS[name](row, float(u[i]))
            keep[i] = False
            edited.append(row)
        else:
            row = dict(row)
            ADDS[name](row, float(u[i]))
            row["_key"] = int(keys[i]) | (1 << 61)  # a new claim, ordered after its source
            row["claim_id"] = str(uuids(seed, f"claim/{name}", [int(keys[i])])[0])
            added.append(row)
        row.update(synthetic_label_is_fraud=1, synthetic_fraud_pattern=name)
    full = claims.schema.append(pa.field("synthetic_label_is_fraud", pa.int64()))
    full = full.append(pa.field("synthetic_fraud_pattern", pa.string()))
    clean = claims.filter(pa.array(keep))
    clean = clean.append_column(
        "synthetic_label_is_fraud", pa.array(np.zeros(clean.num_rows, np.int64))
    )
    clean = clean.append_column("synthetic_fraud_pattern", pa.nulls(clean.num_rows, pa.string()))
    parts = [clean.cast(full)] + [
        pa.Table.from_pylist(x, schema=full) for x in (edited, added) if x
    ]
    return pa.concat_tables(parts).sort_by([("_key", "ascending")])
