"""Clinicians: individual NPIs and NUCC taxonomy specialties, staffed by facility type."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from hospigen.model import schema, uuid_array
from hospigen.rng import KeyedRandom
from hospigen.world.identifiers import npis
from hospigen.world.reference import name_list

# specialty → NUCC Health Care Provider Taxonomy code (free to use, nucc.org)
SPECIALTIES = {
    "Family Medicine": "207Q00000X",
    "Internal Medicine": "207R00000X",
    "Pediatrics": "208000000X",
    "Obstetrics & Gynecology": "207V00000X",
    "Cardiovascular Disease": "207RC0000X",
    "Endocrinology, Diabetes & Metabolism": "207RE0101X",
    "Nephrology": "207RN0300X",
    "Pulmonary Disease": "207RP1001X",
    "Hematology & Oncology": "207RH0003X",
    "Psychiatry": "2084P0800X",
    "Emergency Medicine": "207P00000X",
    "General Surgery": "208600000X",
    "Diagnostic Radiology": "2085R0202X",
    "Anatomic & Clinical Pathology": "207ZP0102X",
    "Geriatric Medicine": "207RG0300X",
    "Nurse Practitioner, Family": "363LF0000X",
    "Clinical Psychologist": "103TC0700X",
}
_NAMES = tuple(SPECIALTIES)

# specialty mix by facility type (weights over _NAMES order)
_MIX = {
    "hospital": [2, 6, 3, 3, 3, 1, 2, 2, 2, 2, 6, 3, 2, 1, 1, 2, 1],
    "clinic": [10, 6, 5, 2, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 4, 2],
    "urgent_care": [4, 2, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 3, 0],
    "laboratory": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0],
    "nursing_facility": [1, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 4, 2, 1],
}


def providers_table(seed: int, facilities: pa.Table, only: np.ndarray | None = None) -> pa.Table:
    """Clinicians for every facility: about one per 15 employees (2 to 60 per facility).

    ``only`` (ascending facility rows) keeps the clinicians of those facilities: the same rows
    as filtering the whole table, at a fraction of the cost (a small run uses a few hundred of
    the catalogue's facilities). Provider ``k`` is the ``k``-th of the whole catalogue and all
    its values are drawn by ``k``, so a subset never changes a row.
    """
    rnd = KeyedRandom(seed, "provider")
    staff = facilities.column("employee_count").to_numpy()
    per_facility = np.clip(staff // 15, 2, 60)
    facility_rows = np.arange(len(staff)) if only is None else np.asarray(only, dtype=np.int64)
    first_key = np.cumsum(per_facility) - per_facility
    counts = per_facility[facility_rows]
    fac_index = np.repeat(facility_rows, counts)
    # each facility's consecutive run of provider keys
    within = np.arange(len(fac_index)) - np.repeat(np.cumsum(counts) - counts, counts)
    keys = (first_key[fac_index] + within).astype(np.int64)
    fac_types = np.array(facilities.column("facility_type").to_pylist())[fac_index]
    # specialties as indices into _NAMES, turned into strings by one Arrow take each (no
    # per-provider Python objects: this table is built at every start)
    specialty = np.zeros(len(keys), dtype=np.int64)
    for kind, weights in _MIX.items():
        sel = fac_types == kind
        if sel.any():
            specialty[sel] = rnd.choice(keys[sel], "specialty", weights)
    female = rnd.uniform(keys, "sex") < 0.45  # AAMC 2022: 37 % of physicians, more among NPs
    female_list, male_list = name_list("first_female"), name_list("first_male")
    u_first = rnd.uniform(keys, "first")
    first = np.where(
        female, female_list.index(u_first), len(female_list.names) + male_list.index(u_first)
    )
    taken = pa.array(specialty)
    return pa.table(
        {
            "provider_id": uuid_array(seed, "provider", keys),
            "npi": npis(rnd, keys),
            "first_name": pa.concat_arrays([female_list.names, male_list.names]).take(
                pa.array(first)
            ),
            "last_name": name_list("surname").sample(rnd.uniform(keys, "last")),
            "gender": pa.array(np.where(female, "F", "M")),
            "specialty": pa.array(_NAMES).take(taken),
            "taxonomy_code": pa.array([SPECIALTIES[n] for n in _NAMES]).take(taken),
            "facility_id": facilities.column("facility_id").take(pa.array(fac_index)),
            "state": facilities.column("state").take(pa.array(fac_index)),
        },
        schema=schema("providers"),
    )
