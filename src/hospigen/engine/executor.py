"""The vectorised module executor.

All enrolled patients of a shard walk the module together, in sweeps over the states in file
order: each state takes every active patient sitting in it, applies its action to the whole group
in one numpy call and draws the group's transitions as an array. A patient moved to a later state
is handled again in the same sweep; one moved back (a loop) waits for the next sweep. So the
number of numpy calls grows with the number of states and loop turns, not with the number of
patients or with how far apart their paths drift.

Every patient counts its own steps; every random draw is keyed by (patient key, module, the
patient's step, state, purpose), so a patient's path never depends on who else is in the shard
or in which sweep it was handled.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from hospigen.engine.cohort import Cohort
from hospigen.engine.conditions import evaluate
from hospigen.engine.spec import MAX_STEPS, Module, State
from hospigen.rng import Draw, KeyedRandom, derive, draw_codes

# class → (hours open from, hours span, duration min minutes, max minutes, site: 0 home, 1 hospital)
ENCOUNTER_TIMING = {
    "wellness": (8, 9, 30, 45, 0),
    "ambulatory": (8, 9, 15, 40, 0),
    "outpatient": (7, 10, 30, 120, 1),
    "urgentcare": (9, 11, 30, 90, 0),
    "emergency": (0, 24, 120, 360, 1),
    "inpatient": (0, 24, 2 * 1440, 5 * 1440, 1),
    "home": (9, 8, 45, 90, 0),
    "virtual": (8, 10, 15, 30, 0),
}
BASE_COST = {
    "wellness": 150.0,
    "ambulatory": 125.0,
    "outpatient": 350.0,
    "urgentcare": 180.0,
    "emergency": 1400.0,
    "inpatient": 12000.0,
    "home": 140.0,
    "virtual": 90.0,
}
EVENT_COST = {"medications": 255.0, "procedures": 500.0, "immunizations": 136.0}
IMPLICIT_ENCOUNTER = ("hcpcs", "99213", "Office visit, established patient")


def add_encounters(
    cohort: Cohort,
    rnd: KeyedRandom,
    idx: np.ndarray,
    t: np.ndarray,
    klass: str,
    code: int,
    reason: np.ndarray | int,
    module: int,
    draw: Draw,
    draw_keys: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Create one encounter of ``klass`` per patient at day ``t``; (rows, start, stop) in days.

    ``module`` is the label index of the module name (``cohort.labels``). ``draw_keys``
    (default: the patients' keys) key the hour and duration draws, so several encounters of one
    patient created in one call still differ.
    """
    open_h, span_h, lo_min, hi_min, site = ENCOUNTER_TIMING[klass]
    keys = cohort.keys[idx] if draw_keys is None else draw_keys
    start = np.floor(t) + (open_h + span_h * rnd.uniform(keys, derive(draw, "/hour"))) / 24.0
    start = np.maximum(start, t)  # never before the moment the state was entered
    minutes = lo_min + (hi_min - lo_min) * rnd.uniform(keys, derive(draw, "/duration"))
    stop = np.minimum(start + minutes / 1440.0, cohort.end[idx] - 1e-6)
    start = np.minimum(start, stop)
    n = len(idx)
    rows = cohort.log.add(
        "encounters",
        pidx=idx,
        start=start,
        stop=stop,
        klass=np.full(n, cohort.labels.add(klass), dtype=np.int32),
        code=np.full(n, code, dtype=np.int64),
        reason=np.full(n, reason, dtype=np.int64)
        if np.ndim(reason) == 0
        else np.array(reason, dtype=np.int64),
        site=np.full(n, site, dtype=np.int8),
        module=np.full(n, module, dtype=np.int32),
        cost=np.full(n, BASE_COST[klass]),
    )
    return rows, start, stop


class ModuleRunner:
    """Runs one parsed :class:`Module` over a shard (codes interned into the cohort's codebook)."""

    def __init__(self, module: Module, cohort: Cohort) -> None:
        self.module = module
        self.cohort = cohort
        self.rnd = KeyedRandom(cohort.seed, f"module/{module.name}")
        book = cohort.codes
        self.code = [book.add(*_triple(s.code)) if s.code else -1 for s in module.states]
        self.reason = [
            book.add(*_triple(_reason_code(s))) if _reason_code(s) else -1 for s in module.states
        ]
        self.implicit = book.add(*IMPLICIT_ENCOUNTER)
        self.label = cohort.labels.add(module.name)
        self.terminal = np.array([s.type == "terminal" for s in module.states])
        n = cohort.size
        self.enc = np.full(n, -1, dtype=np.int64)
        self.enc_start = np.full(n, np.nan)
        self.enc_stop = np.full(n, -np.inf)
        self.entry = np.full(n, np.nan)
        self._splits: dict[int, tuple] = {}  # state index → see _split

    # ----------------------------------------------------------------------------- enrolment
    def eligible_entry(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(patients, entry day) of ``idx`` that fit the module's eligibility."""
        c, el = self.cohort, self.module.eligibility
        lo, hi = float(el.get("min_age", 0)), float(el.get("max_age", 120))
        base = np.maximum(c.window_start, c.birth[idx] + lo * 365.2425)
        spread = self.module.entry_spread_days * self.rnd.uniform(c.keys[idx], "entry")
        entry = base + spread
        ok = (entry < c.end[idx]) & (c.age(idx, entry) <= hi)
        if el.get("sex", "any") != "any":
            ok &= c.female[idx] == (el["sex"] == "F")
        return idx[ok], entry[ok]

    def run(self, idx: np.ndarray, entry: np.ndarray) -> None:
        """Walk patients ``idx`` (entering at days ``entry``) through the module."""
        self.entry[idx] = entry
        state = np.full(len(idx), self.module.start, dtype=np.int64)
        t = entry.astype(np.float64).copy()
        steps = np.zeros(len(idx), dtype=np.int64)
        end = self.cohort.end[idx]
        active = t < end
        while active.any():
            self._sweep(idx, state, t, steps, end, active)

    def _sweep(self, idx, state, t, steps, end, active) -> None:
        """One pass over the states in file order (see the module docstring)."""
        current = -1
        while True:
            ahead = active & (state > current)
            if not ahead.any():
                return
            current = int(state[ahead].min())
            group = np.flatnonzero(ahead & (state == current))
            st = self.module.states[current]
            draw = draw_codes(st.name, steps[group])
            moved = self._act(st, idx[group], t, group, draw)
            nxt = self._choose(st, idx[group], t[group], draw)
            stuck = moved & (nxt < 0)  # no option matched and no fallback: stop here
            now_in = np.where(moved & ~stuck, nxt, current)
            state[group] = now_in
            counted = steps[group] + 1
            steps[group] = counted
            # one update of ``active`` (numpy calls, not rows, are this loop's cost)
            active[group] &= (
                ~stuck & (t[group] < end[group]) & ~self.terminal[now_in] & (counted < MAX_STEPS)
            )

    # --------------------------------------------------------------------------- actions
    def _act(self, st: State, pidx: np.ndarray, t: np.ndarray, group: np.ndarray, draw):
        """Apply ``st`` to the group; returns a mask of patients allowed to transition."""
        c = self.cohort
        moved = np.ones(len(group), dtype=bool)
        now = t[group]
        kind = st.type
        if kind == "delay":
            t[group] = now + self._days(st, pidx, draw)
        elif kind == "guard":
            moved = evaluate(st.get("when"), c, pidx, now)
            t[group] = np.where(moved, now, now + float(st.get("poll_days", 30)))
        elif kind == "encounter":
            klass = st.get("encounter_class", "ambulatory")
            rows, start, stop = add_encounters(
                c,
                self.rnd,
                pidx,
                now,
                klass,
                self.code[st.index],
                self.reason[st.index],
                self.label,
                draw,
            )
            self.enc[pidx], self.enc_start[pidx], self.enc_stop[pidx] = rows, start, stop
            t[group] = stop if klass in ("inpatient", "emergency") else start
        elif kind in (
            "condition_onset",
            "condition_end",
            "medication_start",
            "medication_end",
            "observation",
            "procedure",
            "immunization",
            "care_plan",
            "care_plan_end",
        ):
            self._clinical(st, pidx, now, draw)
        self._set_attributes(st, pidx)
        if "advance_days" in st.spec:
            t[group] = t[group] + float(st.get("advance_days"))
        return moved

    def _days(self, st: State, pidx: np.ndarray, draw: Draw) -> np.ndarray:
        if "range" in st.spec:
            lo, hi = (float(x) for x in st.get("range"))
            return lo + (hi - lo) * self.rnd.uniform(self.cohort.keys[pidx], draw)
        return np.full(len(pidx), float(st.get("days")))

    def _set_attributes(self, st: State, pidx: np.ndarray) -> None:
        for name, value in (st.get("set") or {}).items():
            self.cohort.attribute(name)[pidx] = float(value)
        for name, value in (st.get("add") or {}).items():
            self.cohort.attribute(name)[pidx] += float(value)

    def _encounter_for(self, st: State, pidx: np.ndarray, now: np.ndarray, draw: np.ndarray):
        """(encounter rows, event time): the current encounter, or a new implicit one."""
        attach = st.get("attach_to_last_encounter", True)
        has = attach & (self.enc[pidx] >= 0) & (self.enc_stop[pidx] >= now)
        if not has.all():
            need = pidx[~has]
            rows, start, stop = add_encounters(
                self.cohort,
                self.rnd,
                need,
                now[~has],
                st.get("encounter_class", "ambulatory"),
                self.implicit,
                self.reason[st.index],
                self.label,
                derive(draw[~has], "/implicit"),
            )
            self.enc[need], self.enc_start[need], self.enc_stop[need] = rows, start, stop
        return self.enc[pidx], self.enc_start[pidx]

    def _clinical(self, st: State, pidx: np.ndarray, now: np.ndarray, draw: np.ndarray) -> None:
        c, code = self.cohort, self.code[st.index]
        kind = st.type
        if kind in ("condition_end", "medication_end", "care_plan_end"):
            self._end(st, pidx, now)
            return
        if kind == "condition_onset":
            onset = c.onset(code)
            fresh = np.isnan(onset[pidx])  # never a duplicate of an active condition
            pidx, now, draw = pidx[fresh], now[fresh], draw[fresh]
        elif kind in ("medication_start", "care_plan"):
            registry = c.medication_row if kind == "medication_start" else c.careplan_row
            fresh = c.open_rows(registry, code)[pidx] < 0
            pidx, now, draw = pidx[fresh], now[fresh], draw[fresh]
        if len(pidx) == 0:
            return
        enc, when = self._encounter_for(st, pidx, now, draw)
        base = {
            "pidx": pidx,
            "enc": enc,
            "time": when,
            "code": np.full(len(pidx), code),
            "module": np.full(len(pidx), self.label, dtype=np.int32),
        }
        if kind == "condition_onset":
            rows = c.log.add("conditions", **base)
            c.condition_onset[code][pidx] = when
            c.condition_row[code][pidx] = rows
        elif kind == "medication_start":
            cost = np.full(len(pidx), float(st.get("cost", 255.0)))
            reason = np.full(len(pidx), self.reason[st.index])
            rows = c.log.add("medications", **base, cost=cost, reason=reason)
            c.medication_row[code][pidx] = rows
        elif kind == "care_plan":
            acts = c.labels.add("|".join(str(a) for a in st.get("activities", ())))
            rows = c.log.add(
                "careplans",
                **base,
                reason=np.full(len(pidx), self.reason[st.index]),
                activities=np.full(len(pidx), acts, dtype=np.int32),
            )
            c.careplan_row[code][pidx] = rows
        elif kind == "procedure":
            cost = np.full(len(pidx), float(st.get("cost", 500.0)))
            c.log.add(
                "procedures", **base, cost=cost, reason=np.full(len(pidx), self.reason[st.index])
            )
        elif kind == "immunization":
            c.log.add("immunizations", **base, cost=np.full(len(pidx), 136.0))
        elif kind == "observation":
            self._observe(st, pidx, base, when, draw)

    def _end(self, st: State, pidx: np.ndarray, now: np.ndarray) -> None:
        c = self.cohort
        target = st.get("state")
        code = self.code[self.module.state(target).index] if target else self.code[st.index]
        if st.type == "condition_end":
            rows = c.condition_row.get(code)
            if rows is None:
                return
            has = rows[pidx] >= 0
            c.log.end("conditions", rows[pidx[has]], now[has])
            c.condition_onset[code][pidx[has]] = np.nan
            rows[pidx[has]] = -1
            return
        table = "medications" if st.type == "medication_end" else "careplans"
        registry = c.medication_row if table == "medications" else c.careplan_row
        rows = c.open_rows(registry, code)
        has = rows[pidx] >= 0
        c.log.end(table, rows[pidx[has]], now[has])
        rows[pidx[has]] = -1

    def _observe(self, st: State, pidx, base, when, draw) -> None:
        c = self.cohort
        keys = c.keys[pidx]
        loinc = st.code.code
        value = np.full(len(pidx), np.nan)
        text = None
        if "value_range" in st.spec:
            lo, hi = (float(x) for x in st.get("value_range"))
            value = lo + (hi - lo) * self.rnd.uniform(keys, derive(draw, "/value"))
        elif "trajectory" in st.spec:
            value = self._trajectory(st.get("trajectory"), loinc, pidx, when, draw)
        else:
            options = np.array([c.labels.add(str(o)) for o in st.get("value_text")], np.int32)
            text = options[self.rnd.integers(keys, draw, 0, len(options))]
        if text is None:
            value = np.round(value, int(st.get("decimals", 1)))
            c.last_value.setdefault(loinc, np.full(c.size, np.nan))[pidx] = value
        ref = st.get("reference")
        c.log.add(
            "observations",
            **base,
            value=value,
            text=text if text is not None else np.full(len(pidx), -1, dtype=np.int32),
            ref_low=np.full(len(pidx), float(ref[0]) if ref else np.nan),
            ref_high=np.full(len(pidx), float(ref[1]) if ref else np.nan),
        )

    def _trajectory(self, tr: Mapping, loinc: str, pidx, when, draw) -> np.ndarray:
        """Baseline (persistent per patient) + drift × years in module + effects + noise."""
        keys = self.cohort.keys[pidx]
        base = self.rnd.normal(keys, f"baseline/{loinc}", float(tr["mean"]), float(tr["sd"]))
        years = (when - self.entry[pidx]) / 365.2425
        value = base + float(tr.get("drift_per_year", 0.0)) * years
        for attr, coef in (tr.get("effects") or {}).items():
            value = value + float(coef) * self.cohort.attribute(attr)[pidx]
        noise_sd = float(tr.get("noise_sd", 0))
        value = value + self.rnd.normal(keys, derive(draw, "/noise"), 0.0, noise_sd)
        lo, hi = tr.get("bounds", (-np.inf, np.inf))
        return np.clip(value, float(lo), float(hi))

    # ----------------------------------------------------------------------- transitions
    def _choose(self, st: State, pidx: np.ndarray, now: np.ndarray, draw) -> np.ndarray:
        trs = st.transitions
        if not trs:
            return np.full(len(pidx), st.index)
        conditional, rest, probs, targets = self._split(st)
        if not conditional and probs is None:  # one plain transition: everybody takes it
            return np.full(len(pidx), rest[0].to, dtype=np.int64)
        out = np.full(len(pidx), -1, dtype=np.int64)
        for tr in conditional:
            todo = out < 0
            if todo.any():
                hit = np.zeros(len(pidx), dtype=bool)
                hit[todo] = evaluate(tr.when, self.cohort, pidx[todo], now[todo])
                out[hit] = tr.to
        todo = out < 0
        if rest and todo.any():
            if probs is None:
                out[todo] = rest[0].to
            else:
                tr_draw = derive(draw[todo], "/tr")
                pick = self.rnd.choice(self.cohort.keys[pidx[todo]], tr_draw, probs)
                out[todo] = targets[pick]
        return out  # -1: no option matched (the linter asks for a fallback)

    def _split(self, st: State) -> tuple[list, list, list | None, np.ndarray | None]:
        """(conditional transitions, the others, their probabilities or None, their targets)
        of ``st``, worked out once per state rather than at every visit."""
        split = self._splits.get(st.index)
        if split is None:
            conditional = [tr for tr in st.transitions if tr.when is not None]
            rest = [tr for tr in st.transitions if tr.when is None]
            first = rest[0].probability if rest else None
            probs = [tr.probability for tr in rest] if first is not None else None
            targets = np.array([tr.to for tr in rest]) if probs is not None else None
            split = self._splits[st.index] = (conditional, rest, probs, targets)
        return split


def _triple(code) -> tuple[str, str, str]:
    return code.system, code.code, code.display


def _reason_code(st: State):
    from hospigen.engine.spec import Code
    from hospigen.terminology import default_terminology

    raw = st.get("reason")
    if not raw:
        return None
    concept = default_terminology().lookup(str(raw["system"]), str(raw["code"]))
    return Code(concept.system, concept.code, concept.display)
