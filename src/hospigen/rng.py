"""Keyed, counter-based deterministic random numbers.

Every draw is a pure function of (run seed, entity kind, entity key, draw index). Nothing depends
on how many entities are generated together, in which order, or in how many processes: patient
``k`` gets the same values in a run of 10 as in a run of 10 million. That is what makes shards,
worker counts and incremental runs produce identical bytes.

The mixer is SplitMix64 (Steele, Lea & Flood, 2014), applied element-wise with numpy ``uint64``
arithmetic, so a whole shard of keys is drawn in one vectorised call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_TO_UNIT = 1.0 / float(1 << 53)
_MASK = 0xFFFFFFFFFFFFFFFF
Draw = int | str | np.ndarray  # a draw name, or per-key draw codes (see draw_codes)


def _splitmix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a bijective avalanche mix of each uint64."""
    if type(x) is not np.ndarray:  # not np.ndim: a dispatched call, costly for small groups
        x = np.asarray(x)
    if x.ndim == 0:  # numpy warns about wrap-around for scalars only, not for arrays
        with np.errstate(over="ignore"):
            return _splitmix(np.atleast_1d(x))[0]
    # no errstate context for arrays: entering it costs about as much as the mix itself for
    # the small groups the module executor draws for
    z = x + _GOLDEN  # a new array; the rest works in place (half the memory traffic)
    z ^= z >> _S30
    z *= _M1
    z ^= z >> _S27
    z *= _M2
    z ^= z >> _S31
    return z


def _unit(bits: np.ndarray) -> np.ndarray:
    """Uniform floats in [0, 1) from 64 random bits each (the top 53 bits)."""
    return (bits >> np.uint64(11)).astype(np.float64) * _TO_UNIT


@lru_cache(maxsize=65_536)  # the executor hashes the same few hundred draw names per group
def stable_hash(text: str) -> int:
    """A 64-bit hash of ``text`` that is the same in every process (unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def derive(draw: Draw, suffix: str) -> str | np.ndarray:
    """The draw name of a sub-variable: ``"x"`` → ``"x/suffix"``.

    ``draw`` may also be an array of per-key draw codes (from :func:`draw_codes`); the result is
    then a new array of codes, so per-key draws can be split into sub-variables too.
    """
    if isinstance(draw, np.ndarray):
        return _splitmix(draw ^ np.uint64(stable_hash(suffix)))
    if isinstance(draw, str):
        return draw + suffix
    return f"#{draw}{suffix}"


def draw_codes(name: str, index: np.ndarray) -> np.ndarray:
    """Per-key draw codes for variable ``name`` at a per-key counter ``index`` (e.g. a step).

    Lets one vectorised call draw for keys that sit at different counters; pass the result as
    ``draw`` to any :class:`KeyedRandom` method.
    """
    return _splitmix(np.asarray(index).astype(np.uint64) ^ np.uint64(stable_hash(name)))


def as_keys(keys: int | Sequence[int] | np.ndarray) -> np.ndarray:
    """Entity keys as a 1-d ``uint64`` array (non-negative integers)."""
    if type(keys) is np.ndarray and keys.dtype == np.uint64 and keys.ndim == 1:
        return keys  # already keys (the common case): skip the conversions
    arr = np.atleast_1d(np.asarray(keys))
    if arr.dtype.kind not in "ui":
        raise TypeError(f"entity keys must be integers, got {arr.dtype}")
    return arr.astype(np.uint64, copy=False)


class KeyedRandom:
    """Random draws for one (seed, kind) namespace, addressed by entity key and draw index.

    ``draw`` names the variable being drawn (an int or a short string such as ``"sex"``), so two
    variables of the same entity never share a stream and adding a new variable later does not
    shift existing ones.

    >>> r = KeyedRandom(7, "patient")
    >>> bool((r.uniform([1, 2, 3], "age") == r.uniform([1, 2, 3], "age")).all())
    True
    >>> float(r.uniform([5], "age")[0]) == float(r.uniform([9, 5], "age")[1])
    True
    """

    def __init__(self, seed: int, kind: str) -> None:
        self.seed = int(seed)
        self.kind = kind
        base = _splitmix(np.array([self.seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))
        self._base = _splitmix(base ^ np.uint64(stable_hash(kind)))[0]

    def child(self, kind: str) -> KeyedRandom:
        """A namespace derived from this one (``patient`` → ``patient/vitals``)."""
        return KeyedRandom(self.seed, f"{self.kind}/{kind}")

    def bits(self, keys: int | Sequence[int] | np.ndarray, draw: Draw = 0) -> np.ndarray:
        """64 random bits per key (``draw`` may be an array of per-key codes, see
        :func:`draw_codes`)."""
        k = _splitmix(as_keys(keys) ^ self._base)
        return _splitmix(k ^ self._code(draw))

    @staticmethod
    def _code(draw: Draw) -> np.ndarray | np.uint64:
        """The 64-bit code of a draw name, or per-key codes as ``uint64``."""
        if isinstance(draw, np.ndarray):
            return draw.astype(np.uint64, copy=False)
        return np.uint64((stable_hash(draw) if isinstance(draw, str) else int(draw)) & _MASK)

    def bits_many(
        self, keys: int | Sequence[int] | np.ndarray, draws: Sequence[int | str]
    ) -> list[np.ndarray]:
        """``[bits(keys, d) for d in draws]``, hashing the keys once (row ids draw two words)."""
        k = _splitmix(as_keys(keys) ^ self._base)
        return [
            _splitmix(k ^ np.uint64((stable_hash(d) if isinstance(d, str) else int(d)) & _MASK))
            for d in draws
        ]

    def uniform(self, keys: int | Sequence[int] | np.ndarray, draw: Draw = 0) -> np.ndarray:
        """Uniform floats in [0, 1), one per key."""
        return _unit(self.bits(keys, draw))

    def integers(
        self, keys: int | Sequence[int] | np.ndarray, draw: Draw, low: int, high: int
    ) -> np.ndarray:
        """Integers in [low, high), one per key."""
        span = high - low
        return (low + np.floor(self.uniform(keys, draw) * span)).astype(np.int64)

    def normal(
        self,
        keys: int | Sequence[int] | np.ndarray,
        draw: Draw = 0,
        loc: float | np.ndarray = 0.0,
        scale: float | np.ndarray = 1.0,
    ) -> np.ndarray:
        """Normal draws (Box–Muller on two independent uniforms)."""
        # the two uniforms of uniform(keys, derive(draw, "/u1")) and (…, "/u2"), hashing the
        # keys once
        k = _splitmix(as_keys(keys) ^ self._base)
        u1 = 1.0 - _unit(_splitmix(k ^ self._code(derive(draw, "/u1"))))  # (0, 1]: log finite
        u2 = _unit(_splitmix(k ^ self._code(derive(draw, "/u2"))))
        z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
        return loc + scale * z

    def choice(
        self,
        keys: int | Sequence[int] | np.ndarray,
        draw: Draw,
        probabilities: Sequence[float] | np.ndarray,
    ) -> np.ndarray:
        """Index of the category drawn from ``probabilities`` (normalised), one per key."""
        p = np.asarray(probabilities, dtype=np.float64)
        if p.ndim != 1 or len(p) == 0 or (p < 0).any() or p.sum() <= 0:
            raise ValueError("probabilities must be a non-empty 1-d array of non-negatives")
        cdf = np.cumsum(p / p.sum())
        idx = np.searchsorted(cdf, self.uniform(keys, draw), side="right")
        return np.minimum(idx, len(p) - 1)

    def choice_rows(
        self, keys: int | Sequence[int] | np.ndarray, draw: Draw, probabilities: np.ndarray
    ) -> np.ndarray:
        """Like :meth:`choice`, but each key has its own probability row (shape keys × k)."""
        p = np.asarray(probabilities, dtype=np.float64)
        cdf = np.cumsum(p, axis=1)
        cdf /= cdf[:, -1:]
        u = self.uniform(keys, draw)[:, None]
        return np.minimum((u >= cdf).sum(axis=1), p.shape[1] - 1)

    def generator(self, key: int, draw: int | str = 0) -> np.random.Generator:
        """A numpy Generator seeded from one entity's stream, for sequential per-entity work."""
        return np.random.Generator(np.random.Philox(int(self.bits([key], draw)[0])))
