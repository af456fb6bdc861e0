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

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_TO_UNIT = 1.0 / float(1 << 53)


def _splitmix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a bijective avalanche mix of each uint64."""
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> _S30)) * _M1
        z = (z ^ (z >> _S27)) * _M2
        return z ^ (z >> _S31)


def stable_hash(text: str) -> int:
    """A 64-bit hash of ``text`` that is the same in every process (unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def as_keys(keys: int | Sequence[int] | np.ndarray) -> np.ndarray:
    """Entity keys as a 1-d ``uint64`` array (non-negative integers)."""
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

    def bits(self, keys: int | Sequence[int] | np.ndarray, draw: int | str = 0) -> np.ndarray:
        """64 random bits per key."""
        d = stable_hash(draw) if isinstance(draw, str) else int(draw)
        k = _splitmix(as_keys(keys) ^ self._base)
        return _splitmix(k ^ np.uint64(d & 0xFFFFFFFFFFFFFFFF))

    def uniform(self, keys: int | Sequence[int] | np.ndarray, draw: int | str = 0) -> np.ndarray:
        """Uniform floats in [0, 1), one per key."""
        return (self.bits(keys, draw) >> np.uint64(11)).astype(np.float64) * _TO_UNIT

    def integers(
        self, keys: int | Sequence[int] | np.ndarray, draw: int | str, low: int, high: int
    ) -> np.ndarray:
        """Integers in [low, high), one per key."""
        span = high - low
        return (low + np.floor(self.uniform(keys, draw) * span)).astype(np.int64)

    def normal(
        self,
        keys: int | Sequence[int] | np.ndarray,
        draw: int | str = 0,
        loc: float | np.ndarray = 0.0,
        scale: float | np.ndarray = 1.0,
    ) -> np.ndarray:
        """Normal draws (Box–Muller on two independent uniforms)."""
        name = draw if isinstance(draw, str) else f"#{draw}"
        u1 = 1.0 - self.uniform(keys, name + "/u1")  # (0, 1]: log is finite
        u2 = self.uniform(keys, name + "/u2")
        z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
        return loc + scale * z

    def choice(
        self,
        keys: int | Sequence[int] | np.ndarray,
        draw: int | str,
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
        self, keys: int | Sequence[int] | np.ndarray, draw: int | str, probabilities: np.ndarray
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
