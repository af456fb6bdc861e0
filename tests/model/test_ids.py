import uuid as std_uuid

import numpy as np

from hospigen.model import uuids


def test_ids_are_valid_uuid_v8_and_deterministic():
    ids = uuids(7, "patient", np.arange(1000))
    for text in ids[:50]:
        parsed = std_uuid.UUID(text)
        assert parsed.version == 8 and parsed.variant == std_uuid.RFC_4122
        assert str(parsed) == text
    assert np.array_equal(ids, uuids(7, "patient", np.arange(1000)))


def test_ids_do_not_depend_on_batch():
    assert uuids(7, "patient", [41])[0] == uuids(7, "patient", np.arange(100))[41]


def test_ids_unique_at_one_million_patients_and_across_kinds_and_seeds():
    keys = np.arange(1_000_000)
    patients = uuids(7, "patient", keys)
    assert len(np.unique(patients)) == len(keys)
    encounters = uuids(7, "encounter", keys[:100_000])
    other_seed = uuids(8, "patient", keys[:100_000])
    assert len(np.intersect1d(patients, encounters)) == 0
    assert len(np.intersect1d(patients, other_seed)) == 0
