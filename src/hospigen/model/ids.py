"""Identifier scheme: stable, unique, deterministic identifiers for every entity.

An entity's id is an RFC 9562 UUIDv8 whose 122 free bits are a keyed hash of
(run seed, entity kind, entity key). The same entity has the same id in every output format
(CSV ``Id``, FHIR ``Patient.id``, HL7 ``PID-3``, VistA ``^DPT``); two runs with different seeds
never share ids, so landing both in one warehouse cannot overwrite records. No ``uuid4``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hospigen.rng import KeyedRandom

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# positions of the 32 hex digits inside the 36-character canonical form
_DIGIT_POS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])


def _hex_digits(words: np.ndarray) -> np.ndarray:
    """(n,) uint64 → (n, 16) hex digit codes, most significant first."""
    shifts = np.arange(60, -4, -4, dtype=np.uint64)
    nibbles = (words[:, None] >> shifts[None, :]) & np.uint64(0xF)
    return _HEX[nibbles.astype(np.intp)]


def uuids(seed: int, kind: str, keys: Sequence[int] | np.ndarray) -> np.ndarray:
    """Deterministic UUIDv8 strings (numpy ``str`` array) for ``keys`` of ``kind``.

    >>> uuids(1, "patient", [0])[0] == uuids(1, "patient", [5, 0])[1]
    True
    >>> uuids(1, "patient", [0])[0][14]  # version nibble
    '8'
    """
    rnd = KeyedRandom(seed, f"id/{kind}")
    hi = rnd.bits(keys, "hi")
    lo = rnd.bits(keys, "lo")
    # version 8 in bits 48..51 of hi; variant 0b10 in the top bits of lo
    hi = (hi & np.uint64(0xFFFFFFFFFFFF0FFF)) | np.uint64(0x8000)
    lo = (lo & np.uint64(0x3FFFFFFFFFFFFFFF)) | np.uint64(0x8000000000000000)
    out = np.full((len(hi), 36), ord("-"), dtype=np.uint8)
    out[:, _DIGIT_POS] = np.concatenate([_hex_digits(hi), _hex_digits(lo)], axis=1)
    return out.view("S36").ravel().astype("U36")


def uuid(seed: int, kind: str, key: int) -> str:
    """One deterministic UUID (see :func:`uuids`)."""
    return str(uuids(seed, kind, [key])[0])


def numbered(prefix: str, keys: Sequence[int] | np.ndarray, width: int = 8) -> np.ndarray:
    """Human-facing numbers such as MRNs: ``prefix`` + zero-padded key + 1."""
    k = np.asarray(keys, dtype=np.int64) + 1
    return np.char.add(prefix, np.char.zfill(k.astype("U20"), width))
