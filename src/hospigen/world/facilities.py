"""Facilities: a deterministic national catalogue in the record shape of seed 004.

The catalogue depends only on the run seed and its size, never on how many patients are drawn,
so patient ``k`` gets the same home facility in a run of 10 or of 10 million. Facilities are
placed at real ZIPs, in proportion to state population.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hospigen.model import schema, uuids
from hospigen.rng import KeyedRandom
from hospigen.world.geography import phones, places, sample_zip_rows, street_addresses
from hospigen.world.identifiers import npis

DEFAULT_FACILITY_COUNT = 2000

# type, share, name suffixes, employees (lognormal median, sigma), beds (median or 0)
FACILITY_TYPES = (
    ("hospital", 0.22, ("General Hospital", "Medical Center", "Regional Hospital",
                        "Community Hospital"), 900, 0.8, 180),
    ("clinic", 0.46, ("Family Clinic", "Primary Care", "Health Center", "Medical Group"),
     45, 0.6, 0),
    ("urgent_care", 0.12, ("Urgent Care",), 25, 0.4, 0),
    ("laboratory", 0.10, ("Diagnostic Laboratory", "Clinical Lab"), 40, 0.5, 0),
    ("nursing_facility", 0.10, ("Care Center", "Nursing and Rehabilitation"), 120, 0.4, 110),
)  # fmt: skip

SERVICES = {
    "hospital": ("Emergency Care", "Inpatient Care", "Surgery", "Radiology", "Cardiology",
                 "Oncology", "Obstetrics", "Pediatrics", "Intensive Care", "Nephrology",
                 "Pulmonology", "Behavioral Health", "Laboratory", "Pharmacy", "Dialysis"),
    "clinic": ("Primary Care", "Pediatrics", "Womens Health", "Immunizations", "Behavioral Health",
               "Chronic Disease Management", "Laboratory", "Telehealth"),
    "urgent_care": ("Urgent Care", "X-Ray", "Laboratory", "Immunizations", "Occupational Health"),
    "laboratory": ("Clinical Chemistry", "Hematology", "Microbiology", "Molecular Diagnostics",
                   "Pathology"),
    "nursing_facility": ("Skilled Nursing", "Rehabilitation", "Long-Term Care", "Hospice",
                         "Respiratory Therapy"),
}  # fmt: skip
LAB_NAMES = ("Core Laboratory", "Hematology Lab", "Microbiology Lab", "Pathology Lab",
             "Point-of-Care Lab")  # fmt: skip
LAB_CERTIFICATIONS = ("CLIA", "CAP", "ISO 15189", "COLA")
ACCREDITATION_BODIES = (("Joint Commission", "JC"), ("NCQA", "NCQA"), ("DNV", "DNV"),
                        ("AAAHC", "AAAHC"), ("CARF", "CARF"))  # fmt: skip
_LAB_HEAVY = ("hospital", "laboratory")


_RANK_BITS = 16  # each 64-bit draw ranks four items


def _ranked_subsets(
    rnd: KeyedRandom, keys: np.ndarray, draw: str, allowed: np.ndarray, n: np.ndarray
) -> np.ndarray:
    """Pick ``n[i]`` of the allowed items of row ``i`` uniformly without replacement.

    ``allowed`` is a (rows × items) mask; the result is a mask of the same shape whose row ``i``
    has ``min(n[i], allowed[i].sum())`` chosen items. Each item gets a random 16-bit score from
    the row's keyed stream (four scores per 64-bit draw) and the lowest scores win; ties go to
    the lower item, so the pick is a pure function of the key. Vectorised: no per-row loop.
    """
    rows, items = allowed.shape
    score = np.empty((rows, items), dtype=np.uint32)
    mask16 = np.uint64((1 << _RANK_BITS) - 1)
    for j in range(0, items, 4):
        word = rnd.bits(keys, f"{draw}/{j // 4}")
        for k in range(j, min(items, j + 4)):
            score[:, k] = (word >> np.uint64(_RANK_BITS * (k - j))) & mask16
    # unique scores per row (item index in the low bits); disallowed items sort last
    score = (score << np.uint32(5)) | np.arange(items, dtype=np.uint32)
    score[~allowed] = np.uint32(0xFFFFFFFF)
    ordered = np.sort(score, axis=1)
    take = np.clip(n, 0, items) - 1
    threshold = np.where(take >= 0, ordered[np.arange(rows), np.maximum(take, 0)], 0)
    return (score <= threshold[:, None]) & (take >= 0)[:, None] & allowed


def _list_array(mask: np.ndarray, values: pa.Array) -> pa.ListArray:
    """A list per row of ``mask`` holding the chosen ``values`` rows, in flattened order."""
    counts = mask.sum(axis=1)
    offsets = np.zeros(len(counts) + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def _type_items(table: dict[str, tuple[str, ...]]) -> tuple[list[str], np.ndarray]:
    """The union of per-type item lists, and a (types × items) mask of which type offers what."""
    names = sorted({item for items in table.values() for item in items})
    allowed = np.zeros((len(FACILITY_TYPES), len(names)), dtype=bool)
    for t, spec in enumerate(FACILITY_TYPES):
        allowed[t, [names.index(i) for i in table[spec[0]]]] = True
    return names, allowed


def _services(rnd: KeyedRandom, keys: np.ndarray, types: np.ndarray) -> pa.ListArray:
    """2–8 services of the facility's type (fewer when its type offers fewer), sorted by name."""
    names, offered = _type_items(SERVICES)
    allowed = offered[types]
    high = np.minimum(8, allowed.sum(axis=1)) + 1
    n = 2 + np.floor(rnd.uniform(keys, "services/n") * (high - 2)).astype(np.int64)
    chosen = _ranked_subsets(rnd, keys, "services", allowed, n)
    flat = pa.array(names).take(pa.array(np.nonzero(chosen)[1]))
    return _list_array(chosen, flat)


def _labs(rnd: KeyedRandom, keys: np.ndarray, types: np.ndarray) -> pa.ListArray:
    """Hospitals and laboratories run 1–3 labs, others 0–1; each lab holds 1–3 certifications."""
    big = np.isin(types, [i for i, t in enumerate(FACILITY_TYPES) if t[0] in _LAB_HEAVY])
    u = rnd.uniform(keys, "labs/n")
    n = np.where(big, 1 + np.floor(u * 3), np.floor(u * 2)).astype(np.int64)
    allowed = np.ones((len(keys), len(LAB_NAMES)), dtype=bool)
    chosen = _ranked_subsets(rnd, keys, "labs", allowed, n)
    fac_row, lab_idx = np.nonzero(chosen)
    # one stream per (facility, lab): still a pure function of the facility key
    lab_rnd = rnd.child("lab")
    lab_keys = keys[fac_row] * len(LAB_NAMES) + lab_idx
    n_cert = 1 + np.floor(lab_rnd.uniform(lab_keys, "certs/n") * 3).astype(np.int64)
    cert_allowed = np.ones((len(lab_keys), len(LAB_CERTIFICATIONS)), dtype=bool)
    certs = _ranked_subsets(lab_rnd, lab_keys, "certs", cert_allowed, n_cert)
    cert_list = _list_array(
        certs, pa.array(LAB_CERTIFICATIONS).take(pa.array(np.nonzero(certs)[1]))
    )
    labs = pa.StructArray.from_arrays(
        [pa.array(LAB_NAMES).take(pa.array(lab_idx)), cert_list],
        names=["lab_name", "certifications"],
    )
    return _list_array(chosen, labs)


def _accreditations(rnd: KeyedRandom, keys: np.ndarray, as_of: dt.date) -> pa.ListArray:
    """0–2 accreditations from distinct bodies; some lapsed, most valid for up to three years."""
    n = np.floor(rnd.uniform(keys, "accreditations/n") * 3).astype(np.int64)
    allowed = np.ones((len(keys), len(ACCREDITATION_BODIES)), dtype=bool)
    chosen = _ranked_subsets(rnd, keys, "accreditations", allowed, n)
    fac_row, body = np.nonzero(chosen)
    acc_rnd = rnd.child("accreditation")
    acc_keys = keys[fac_row] * len(ACCREDITATION_BODIES) + body
    days = acc_rnd.integers(acc_keys, "days", -400, 1100)
    number = pa.array(acc_rnd.integers(acc_keys, "number", 1000, 99999))
    prefix = pa.array([b[1] for b in ACCREDITATION_BODIES]).take(pa.array(body))
    epoch_day = (as_of - dt.date(1970, 1, 1)).days
    accreditations = pa.StructArray.from_arrays(
        [
            pa.array([b[0] for b in ACCREDITATION_BODIES]).take(pa.array(body)),
            pc.binary_join_element_wise(prefix, pc.cast(number, pa.string()), ""),
            pa.array((epoch_day + days).astype(np.int32), type=pa.date32()),
        ],
        names=["accreditation_body", "accreditation_id", "valid_until"],
    )
    return _list_array(chosen, accreditations)


def facilities_table(
    seed: int, as_of: dt.date, count: int = DEFAULT_FACILITY_COUNT, states: list[str] | None = None
) -> pa.Table:
    """The facility catalogue of a run: ``count`` facilities, by state population."""
    rnd = KeyedRandom(seed, "facility")
    keys = np.arange(count, dtype=np.int64)
    p = places()
    rows = sample_zip_rows(rnd, keys, states)
    shares = np.array([t[1] for t in FACILITY_TYPES])
    types = rnd.choice(keys, "type", shares)
    n_suffix = np.array([len(t[2]) for t in FACILITY_TYPES])
    suffix_idx = np.floor(rnd.uniform(keys, "suffix") * n_suffix[types]).astype(int)
    all_suffixes = [s for t in FACILITY_TYPES for s in t[2]]
    first_suffix = np.cumsum([0] + [len(t[2]) for t in FACILITY_TYPES])[:-1]
    suffixes = pa.array(all_suffixes).take(pa.array(first_suffix[types] + suffix_idx))
    city = p.city.take(pa.array(rows))
    name = pc.binary_join_element_wise(city, suffixes, " ")
    median = np.array([t[3] for t in FACILITY_TYPES])[types]
    sigma = np.array([t[4] for t in FACILITY_TYPES])[types]
    employees = np.maximum(3, np.round(median * np.exp(sigma * rnd.normal(keys, "staff"))))
    beds_median = np.array([t[5] for t in FACILITY_TYPES])[types]
    beds = np.round(beds_median * np.exp(0.6 * rnd.normal(keys, "beds")))
    return pa.table(
        {
            "facility_id": uuids(seed, "facility", keys),
            "facility_name": name,
            "facility_type": pa.array([t[0] for t in FACILITY_TYPES]).take(pa.array(types)),
            "npi": npis(rnd, keys, organisation=True),
            "address": street_addresses(rnd, keys),
            "city": city,
            "state": p.state.take(pa.array(rows)),
            "zip": p.zip.take(pa.array(rows)),
            "county": p.county.take(pa.array(rows)),
            "lat": p.lat[rows],
            "lon": p.lon[rows],
            "phone": phones(rnd, keys, p.area_code.take(pa.array(rows))),
            "employee_count": employees.astype(np.int32),
            "bed_count": pa.array(beds.astype(np.int32), mask=beds_median == 0),
            "services": _services(rnd, keys, types),
            "labs": _labs(rnd, keys, types),
            "accreditations": _accreditations(rnd, keys, as_of),
        },
        schema=schema("facilities"),
    )
