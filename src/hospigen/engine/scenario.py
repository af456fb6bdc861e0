"""Scenarios: which people (age, sex, race, smoking, social needs) and which modules.

A scenario never invents demographics: every patient still comes from the world. To reshape the
population, patient ``i`` draws a target (age band, sex, race) from the scenario's distributions
and takes the first of its candidate world keys ``OFFSET + i * CANDIDATES + j`` whose world person
fits — deterministic per patient index, so patient ``i`` is the same in a run of any size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hospigen.engine.catalog import load_scenario_data
from hospigen.engine.spec import ModuleError
from hospigen.rng import KeyedRandom
from hospigen.world.population import draw_age_sex, draw_race

CANDIDATES = 256
KEY_OFFSET = 1 << 40  # conditioned populations never share keys with the plain world
# A narrow target (girls aged 2-5 are ~2.4 % of the world) misses all 256 candidates for about
# one patient in 700, so those patients search on, for age and sex only, among further
# candidates ``MORE_OFFSET + i * MORE_CANDIDATES + j``: a key range of their own, so every
# patient found among the first 256 keeps its key.
MORE_CANDIDATES = 1 << 16
MORE_OFFSET = 1 << 41  # above every first-round key (i < 2**32)
# record ids multiply a patient key by 2**20 in 64 bits, so keys must stay below 2**44: the
# further candidates of patient i reach MORE_OFFSET + (i + 1) * 2**16, below 2**42 for i < 2**24
MAX_SCENARIO_PATIENTS = 1 << 24


@dataclass(frozen=True)
class ModuleUse:
    """A module a scenario runs, and the share of eligible patients enrolled."""

    name: str
    probability: float = 1.0


@dataclass(frozen=True)
class Scenario:
    """A parsed scenario."""

    name: str
    description: str = ""
    age_dist: dict[str, float] = field(default_factory=dict)
    gender_dist: dict[str, float] = field(default_factory=dict)
    race_dist: dict[str, float] = field(default_factory=dict)
    smoking: dict[str, float] = field(default_factory=dict)
    sdoh: dict[str, float] = field(default_factory=dict)
    modules: tuple[ModuleUse, ...] = ()

    @property
    def constrained(self) -> bool:
        """True when the scenario reshapes the world's population."""
        return bool(self.age_dist or self.gender_dist or self.race_dist)


def _bands(age_dist: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    lows, highs, probs = [], [], []
    for band, p in age_dist.items():
        lo, _, hi = str(band).partition("-")
        lows.append(float(lo))
        highs.append(float(hi) + 1)  # "19-40" includes age 40
        probs.append(float(p))
    return np.array([lows, highs]).T, np.array(probs)


def _check_dist(name: str, key: str, dist: dict) -> None:
    total = sum(float(v) for v in dist.values())
    if dist and abs(total - 1.0) > 0.05:
        raise ModuleError(f"scenario {name}: {key} sums to {total:.3f}, not 1")


def load_scenario(name: str, user_dir: str | None = None) -> Scenario:
    """Scenario ``name`` from the built-ins or ``user_dir/scenarios``."""
    data = load_scenario_data(name, user_dir)
    for key in ("age_dist", "gender_dist", "race_dist"):
        _check_dist(name, key, data.get(key) or {})
    if data.get("age_dist") or {}:
        _bands(data["age_dist"])  # raises on a malformed band
    uses = []
    for item in data.get("modules") or []:
        if isinstance(item, str):
            uses.append(ModuleUse(item))
        else:
            uses.append(ModuleUse(str(item["name"]), float(item.get("probability", 1.0))))
    return Scenario(
        name=name,
        description=str(data.get("description", "")),
        age_dist=dict(data.get("age_dist") or {}),
        gender_dist=dict(data.get("gender_dist") or {}),
        race_dist=dict(data.get("race_dist") or {}),
        smoking=dict(data.get("smoking_dist") or {}),
        sdoh=dict(data.get("sdoh") or {}),
        modules=tuple(uses),
    )


def world_keys(seed: int, scenario: Scenario, index: np.ndarray) -> np.ndarray:
    """World patient keys for patient numbers ``index`` of this scenario."""
    index = np.asarray(index, dtype=np.int64)
    if not scenario.constrained:
        return index
    rnd = KeyedRandom(seed, f"scenario/{scenario.name}")
    n = len(index)
    lo = np.zeros(n)
    hi = np.full(n, 200.0)
    if scenario.age_dist:
        bands, probs = _bands(scenario.age_dist)
        pick = rnd.choice(index, "age_band", probs)
        lo, hi = bands[pick, 0], bands[pick, 1]
    want_f = None
    if scenario.gender_dist:
        sexes = list(scenario.gender_dist)
        want_f = np.array([s in ("F", "female") for s in sexes])[
            rnd.choice(index, "sex", list(scenario.gender_dist.values()))
        ]
    want_race = None
    if scenario.race_dist:
        races = np.array(list(scenario.race_dist))
        want_race = races[rnd.choice(index, "race", list(scenario.race_dist.values()))]
    chosen = np.full(n, -1, dtype=np.int64)
    fallback = np.full(n, -1, dtype=np.int64)
    for j in range(CANDIDATES):
        todo = np.flatnonzero(chosen < 0)
        if len(todo) == 0:
            break
        cand = KEY_OFFSET + index[todo] * CANDIDATES + j
        age, female = draw_age_sex(seed, cand)
        ok = _fits(age, female, lo[todo], hi[todo], None if want_f is None else want_f[todo])
        fallback[todo[ok & (fallback[todo] < 0)]] = cand[ok & (fallback[todo] < 0)]
        if want_race is not None:
            race = draw_race(seed, cand)
            ok &= race == want_race[todo]
        chosen[todo[ok]] = cand[ok]
    # a rare race/age combination: keep age and sex, relax race; never relax age or sex silently
    chosen = np.where(chosen < 0, fallback, chosen)
    missing = np.flatnonzero(chosen < 0)
    if len(missing):
        chosen[missing] = _more_candidates(
            seed, scenario.name, index[missing], lo[missing], hi[missing],
            None if want_f is None else want_f[missing],
        )  # fmt: skip
    return chosen


def _fits(age: np.ndarray, female: np.ndarray, lo, hi, want_f) -> np.ndarray:
    """Whether each candidate is in the age band ``[lo, hi)`` and, unless ``want_f`` is None, of
    the wanted sex (arguments broadcast as numpy does)."""
    ok = (age >= lo) & (age < hi)
    if want_f is not None:
        ok &= female == want_f
    return ok


def _more_candidates(
    seed: int, name: str, index: np.ndarray, lo: np.ndarray, hi: np.ndarray, want_f
) -> np.ndarray:
    """World keys in the age band ``[lo, hi)`` (and of the wanted sex) for the patients whose
    first candidates all missed, searched in blocks of 256 further candidates."""
    if int(index.max()) >= MAX_SCENARIO_PATIENTS:
        limit = f"{MAX_SCENARIO_PATIENTS:,}"
        raise ModuleError(f"scenario {name}: at most {limit} patients for a mix this narrow")
    _fail_fast_if_empty(seed, name, lo, hi, want_f)
    chosen = np.full(len(index), -1, dtype=np.int64)
    for block in range(0, MORE_CANDIDATES, CANDIDATES):
        todo = np.flatnonzero(chosen < 0)
        if len(todo) == 0:
            return chosen
        j = np.arange(block, block + CANDIDATES)
        cand = MORE_OFFSET + index[todo, None] * MORE_CANDIDATES + j  # (patients, 256)
        age, female = draw_age_sex(seed, cand.ravel())
        age, female = age.reshape(cand.shape), female.reshape(cand.shape)
        wanted = None if want_f is None else want_f[todo, None]
        ok = _fits(age, female, lo[todo, None], hi[todo, None], wanted)
        found = ok.any(axis=1)
        first = ok.argmax(axis=1)
        chosen[todo[found]] = cand[found, first[found]]
    raise ModuleError(f"scenario {name}: cannot find people for its age/sex mix")


def _fail_fast_if_empty(seed: int, name: str, lo: np.ndarray, hi: np.ndarray, want_f) -> None:
    """Raise at once when nobody in a sample of 65,536 world people fits one of the targets
    (an age band beyond any lifespan, say), instead of after 65,536 candidates per patient."""
    age, female = draw_age_sex(seed, np.arange(MORE_CANDIDATES, dtype=np.int64))
    sexes = [None] * len(lo) if want_f is None else want_f.tolist()
    for low, high, wants_female in set(zip(lo.tolist(), hi.tolist(), sexes, strict=True)):
        if not _fits(age, female, low, high, wants_female).any():
            raise ModuleError(f"scenario {name}: cannot find people for its age/sex mix")
