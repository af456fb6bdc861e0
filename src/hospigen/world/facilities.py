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


def _pick_subset(g: np.random.Generator, items: tuple[str, ...], low: int, high: int) -> list[str]:
    n = int(g.integers(low, min(high, len(items)) + 1))
    return [items[i] for i in sorted(g.choice(len(items), n, replace=False))]


def _nested_columns(
    rnd: KeyedRandom, keys: np.ndarray, types: np.ndarray, as_of: dt.date
) -> tuple[list, list, list]:
    """Services, labs and accreditations: small ragged lists, drawn per facility.

    The catalogue has a few thousand rows, so a per-facility loop here costs milliseconds;
    bulk facility exports (1M rows) use :func:`hospigen.world.facilities.facility_records`.
    """
    services, labs, accreditations = [], [], []
    for key, t in zip(keys.tolist(), types.tolist(), strict=True):
        g = rnd.generator(key, "nested")
        kind = FACILITY_TYPES[t][0]
        services.append(_pick_subset(g, SERVICES[kind], 2, 8))
        n_labs = (
            int(g.integers(1, 4)) if kind in ("hospital", "laboratory") else int(g.integers(0, 2))
        )
        labs.append(
            [
                {
                    "lab_name": LAB_NAMES[i],
                    "certifications": _pick_subset(g, LAB_CERTIFICATIONS, 1, 3),
                }
                for i in sorted(g.choice(len(LAB_NAMES), n_labs, replace=False))
            ]
        )
        acc = []
        for i in sorted(g.choice(len(ACCREDITATION_BODIES), int(g.integers(0, 3)), replace=False)):
            body, prefix = ACCREDITATION_BODIES[i]
            days = int(g.integers(-400, 1100))  # some lapsed, most valid for up to three years
            acc.append(
                {
                    "accreditation_body": body,
                    "accreditation_id": f"{prefix}{int(g.integers(1000, 99999))}",
                    "valid_until": as_of + dt.timedelta(days=days),
                }
            )
        accreditations.append(acc)
    return services, labs, accreditations


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
    suffixes = pa.array([FACILITY_TYPES[t][2][s] for t, s in zip(types, suffix_idx, strict=True)])
    city = p.city.take(pa.array(rows))
    name = pc.binary_join_element_wise(city, suffixes, " ")
    median = np.array([t[3] for t in FACILITY_TYPES])[types]
    sigma = np.array([t[4] for t in FACILITY_TYPES])[types]
    employees = np.maximum(3, np.round(median * np.exp(sigma * rnd.normal(keys, "staff"))))
    beds_median = np.array([t[5] for t in FACILITY_TYPES])[types]
    beds = np.round(beds_median * np.exp(0.6 * rnd.normal(keys, "beds")))
    services, labs, accreditations = _nested_columns(rnd, keys, types, as_of)
    return pa.table(
        {
            "facility_id": uuids(seed, "facility", keys),
            "facility_name": name,
            "facility_type": pa.array([FACILITY_TYPES[t][0] for t in types]),
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
            "services": services,
            "labs": labs,
            "accreditations": accreditations,
        },
        schema=schema("facilities"),
    )
