"""Baseline care for every patient: wellness visits with vital signs, immunizations, background
chronic disease (calibrated to published prevalence by age), smoking status and mortality.

Everything is vectorised over the visits of the whole shard. Draws are keyed by patient key (for
persistent traits) or by (patient key, visit ordinal) for per-visit values.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from hospigen.engine.cohort import Cohort
from hospigen.engine.executor import add_encounters
from hospigen.engine.physiology import vitals
from hospigen.rng import KeyedRandom
from hospigen.terminology import default_terminology
from hospigen.yamlcache import load_yaml

YEAR = 365.2425


@cache
def baseline_config() -> dict[str, Any]:
    """The shipped baseline care definition (modules/baseline.yaml)."""
    return load_yaml(resources.files("hospigen.modules") / "baseline.yaml")


def _code(cohort: Cohort, system: str, code: str, label: str = "") -> int:
    concept = default_terminology().lookup(system, str(code))
    return cohort.codes.add(system, concept.code, concept.display or label)


def _visit_keys(cohort: Cohort, pidx: np.ndarray, ordinal: np.ndarray) -> np.ndarray:
    """A key per (patient, visit ordinal) for per-visit draws."""
    return cohort.keys[pidx] * np.uint64(4096) + ordinal.astype(np.uint64)


class Baseline:
    """Baseline care for one shard; call :meth:`prepare` before modules and :meth:`run` after."""

    def __init__(self, cohort: Cohort, smoking: dict[str, float] | None = None) -> None:
        self.cohort = cohort
        self.cfg = baseline_config()
        self.rnd = KeyedRandom(cohort.seed, "baseline")
        self.smoking_dist = smoking or {}
        self.onsets: dict[str, np.ndarray] = {}  # background condition → onset day (nan: none)
        self.ckd_code = np.full(cohort.size, "", dtype=object)
        self.smoking = np.zeros(cohort.size, dtype=np.int8)  # 0 never, 1 former, 2 current
        self.module = cohort.labels.add("baseline")

    # ------------------------------------------------------------------ traits and disease
    def prepare(self, suppressed: dict[str, np.ndarray]) -> None:
        """Draw smoking, background conditions and death (before any module runs)."""
        self._draw_smoking()
        for name, spec in self.cfg["background"].items():
            onset = self._draw_condition(name, spec)
            mask = suppressed.get(spec["category"])
            if mask is not None:
                onset[mask] = np.nan
            self.onsets[name] = onset
        self._draw_death()

    def _draw_smoking(self) -> None:
        c, s = self.cohort, {**self.cfg["smoking"], **self.smoking_dist}
        u = self.rnd.uniform(c.keys, "smoking")
        adult = c.age(np.arange(c.size), c.as_of_end) >= s["from_age"]
        self.smoking = np.where(
            adult & (u < s["current"]), 2, np.where(adult & (u < s["current"] + s["former"]), 1, 0)
        )

    def _draw_condition(self, name: str, spec: dict) -> np.ndarray:
        c = self.cohort
        u = self.rnd.uniform(c.keys, f"background/{name}")
        if spec["kind"] == "episodic":
            age_now = c.age(np.arange(c.size), c.as_of_end)
            p = np.zeros(c.size)
            for lo, hi, share in spec["bands"]:
                p[(age_now >= lo) & (age_now < hi)] = share
            start = c.as_of_end - spec["episode_years"] * YEAR * self.rnd.uniform(c.keys, name)
            onset = np.where((u < p) & (c.death > c.as_of_end), start, np.nan)
            return np.where(onset >= c.birth, onset, np.nan)
        ages, prev = np.array(spec["curve"], dtype=np.float64).T
        scale = np.ones(c.size)
        if "smoker_risk" in spec:
            r = float(spec["smoker_risk"])
            # the population's ever-smoker share from the configuration, never from the shard
            s = {**self.cfg["smoking"], **self.smoking_dist}
            ever = float(s["current"]) + float(s["former"])
            scale = np.where(self.smoking > 0, r, 1.0) / (1 + (r - 1) * max(ever, 0.01))
        v = u / scale
        prev = prev + np.arange(len(prev)) * 1e-9  # strictly increasing for the inverse
        onset_age = np.interp(v, prev, ages)
        onset = np.where(v < prev[-1], c.birth + onset_age * YEAR, np.nan)
        if "codes" in spec:
            codes = np.array(list(spec["codes"]))
            pick = self.rnd.choice(c.keys, f"{name}/stage", list(spec["codes"].values()))
            self.ckd_code = np.where(np.isnan(onset), "", codes[pick]).astype(object)
        return onset

    def _draw_death(self) -> None:
        c = self.cohort
        table = np.array(self.cfg["life_table"], dtype=np.float64)
        sex = np.where(c.female, self.cfg["female_mortality"], self.cfg["male_mortality"])
        death = np.full(c.size, np.inf)
        years = int(np.ceil((c.as_of_end - c.window_start) / YEAR))
        for y in range(years):
            t = c.window_start + y * YEAR
            age = (t - c.birth) / YEAR
            q = np.exp(np.interp(age, table[:, 0], np.log(table[:, 1]))) * sex
            for name, spec in self.cfg["background"].items():
                onset = self.onsets[name]
                q = q * np.where(onset <= t, float(spec.get("mortality", 1.0)), 1.0)
            q = np.where(age >= 0, q, 0.0)
            u = self.rnd.uniform(c.keys, f"death/{y}")
            when = t + YEAR * self.rnd.uniform(c.keys, f"death/{y}/day")
            die = np.isinf(death) & (u < q) & (when < c.as_of_end) & (when > c.birth)
            death[die] = np.floor(when[die])
        c.death = death

    # --------------------------------------------------------------------------- care
    def run(self) -> None:
        """Emit wellness visits, vitals, immunizations, background diagnoses and treatment."""
        pidx, t, ordinal = self._schedule()
        enc = self._wellness_encounters(pidx, t, ordinal)
        self._vitals(pidx, t, ordinal, enc)
        self._immunizations(pidx, t, ordinal, enc)
        self._diagnoses()
        self._obesity(pidx, t, enc)

    def _schedule(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(patient index, day, ordinal) of every wellness visit inside the window."""
        c, cfg = self.cohort, self.cfg
        child = np.array(cfg["child_visit_ages"], dtype=np.float64)
        adult_ages, adult_ok = np.arange(19, 121, dtype=np.float64), []
        phase = self.rnd.integers(c.keys, "visit_phase", 0, 6)
        for band in cfg["adult_visits"]:
            inside = (adult_ages >= band["from_age"]) & (adult_ages < band["to_age"])
            hit = (
                (adult_ages[None, :] - band["from_age"] + phase[:, None]) % band["interval"]
            ) == 0
            adult_ok.append(inside[None, :] & hit)
        ages = np.concatenate([child, adult_ages])
        mask = np.concatenate([np.ones((c.size, len(child)), bool), np.any(adult_ok, axis=0)], 1)
        day = c.birth[:, None] + ages[None, :] * YEAR
        jitter = np.where(ages < 2, 3.0, np.where(ages < 19, 20.0, 30.0))
        # only visits that can land inside the window are drawn (draws are keyed per visit,
        # so skipping the others changes nothing but the work: a lifetime vs the window)
        mask &= (day + jitter[None, :] >= c.window_start) & (day - jitter[None, :] < c.end[:, None])
        pi, oi = np.nonzero(mask)
        vk = _visit_keys(c, pi, oi)
        when = day[pi, oi] + jitter[oi] * (2 * self.rnd.uniform(vk, "visit_jitter") - 1)
        when = np.maximum(when, c.birth[pi] + 1)
        keep = (when >= c.window_start) & (when < c.end[pi])
        keep &= self.rnd.uniform(vk, "attend") < cfg["visit_attendance"]
        keep |= (ages[oi] < 1) & (when >= c.window_start) & (when < c.end[pi])  # infants go
        return pi[keep], when[keep], oi[keep]

    def _wellness_encounters(self, pidx, t, ordinal) -> np.ndarray:
        c = self.cohort
        age = c.age(pidx, t)
        rows = np.empty(len(pidx), dtype=np.int64)
        lo = -1.0
        for spec in self.cfg["wellness_codes"]:
            sel = (age >= lo) & (age < spec["below_age"])
            lo = spec["below_age"]
            if not sel.any():
                continue
            code = _code(c, "hcpcs", spec["code"], spec["display"])
            reason = _code(c, "icd10cm", spec["reason"])
            vk = _visit_keys(c, pidx[sel], ordinal[sel])
            r, start, _ = add_encounters(
                c,
                self.rnd,
                pidx[sel],
                t[sel],
                "wellness",
                code,
                reason,
                self.module,
                "wellness",
                draw_keys=vk,
            )
            rows[sel] = r
            t[sel] = start
        return rows

    def _obs(self, name: str, pidx, t, enc, value, text=None, panel=None) -> None:
        code = _code(self.cohort, "loinc", self.cfg["vitals"][name])
        n = len(pidx)
        self.cohort.log.add(
            "observations",
            pidx=pidx,
            enc=enc,
            time=t,
            code=np.full(n, code),
            value=value,
            text=np.full(n, -1, dtype=np.int32) if text is None else text,
            module=np.full(n, self.module, dtype=np.int32),
            panel=np.full(n, self.cohort.labels.add(panel), dtype=np.int32),
        )

    def _vitals(self, pidx, t, ordinal, enc) -> None:
        c = self.cohort
        age = c.age(pidx, t)
        htn = (self.onsets["hypertension"][pidx] <= t).astype(float)
        copd = (self.onsets["copd"][pidx] <= t).astype(float)
        v = vitals(
            self.rnd, c.keys[pidx], _visit_keys(c, pidx, ordinal), age, c.female[pidx], htn, copd
        )
        self.bmi = (pidx, t, enc, v["bmi"], age)
        for name in ("height", "weight", "heart_rate", "resp_rate", "temperature"):
            self._obs(name, pidx, t, enc, v[name])
        older = age >= 2
        self._obs("bmi", pidx[older], t[older], enc[older], v["bmi"][older])
        bp = age >= 3
        panel = self.cfg["vitals"]["bp_panel"]
        for name in ("systolic", "diastolic"):
            self._obs(name, pidx[bp], t[bp], enc[bp], v[name][bp], panel=panel)
        self._obs("spo2", pidx[bp], t[bp], enc[bp], v["spo2"][bp])
        adult = age >= self.cfg["smoking"]["from_age"]
        words = self.cfg["smoking_text"]
        text = np.array(
            [self.cohort.labels.add(words[w]) for w in ("never", "former", "current")], np.int32
        )
        self._obs(
            "smoking",
            pidx[adult],
            t[adult],
            enc[adult],
            np.full(adult.sum(), np.nan),
            text=text[self.smoking[pidx[adult]]],
        )

    def _immunizations(self, pidx, t, ordinal, enc) -> None:
        c, cfg = self.cohort, self.cfg
        child_ages = np.array(cfg["child_visit_ages"], dtype=np.float64)
        nominal = np.where(
            ordinal < len(child_ages),
            child_ages[np.minimum(ordinal, len(child_ages) - 1)],
            19 + ordinal - len(child_ages),
        ).astype(np.float64)
        chosen: list[tuple[np.ndarray, int]] = []
        for spec in cfg["immunizations"]:
            if "ages" in spec:
                sel = np.isin(np.round(nominal, 3), np.round(spec["ages"], 3))
            else:
                sel = (nominal >= spec["from_age"]) & (
                    (nominal - spec["from_age"]) % spec["every"] == 0
                )
            chosen.append((sel, _code(c, "cvx", spec["cvx"])))
        flu = cfg["influenza"]
        age = c.age(pidx, t)
        uptake = np.where(age < 18, flu["child_uptake"], flu["adult_uptake"])
        vk = _visit_keys(c, pidx, ordinal)
        flu_sel = (age >= flu["from_age"]) & (self.rnd.uniform(vk, "flu") < uptake)
        chosen.append((flu_sel, _code(c, "cvx", flu["cvx"])))
        for sel, code in chosen:
            n = int(sel.sum())
            if n:
                c.log.add(
                    "immunizations",
                    pidx=pidx[sel],
                    enc=enc[sel],
                    time=t[sel],
                    code=np.full(n, code),
                    cost=np.full(n, 136.0),
                    module=np.full(n, self.module, dtype=np.int32),
                )

    def _diagnoses(self) -> None:
        """Record each background condition at a diagnosis visit, with treatment and labs."""
        c, cfg = self.cohort, self.cfg
        dx = cfg["diagnosis_encounter"]
        visit = _code(c, "hcpcs", dx["code"], dx["display"])
        for name, spec in cfg["background"].items():
            onset = self.onsets[name]
            recorded = np.maximum(
                onset, c.window_start + 90 * self.rnd.uniform(c.keys, f"{name}/rec")
            )
            pidx = np.flatnonzero(~np.isnan(onset) & (recorded < c.end))
            if len(pidx) == 0:
                continue
            codes = self.ckd_code[pidx] if "codes" in spec else np.full(len(pidx), spec["code"])
            for code_str in np.unique(codes.astype(str)):
                sel = pidx[codes == code_str]
                self._diagnose(name, spec, code_str, sel, recorded[sel], onset[sel], visit)

    def _diagnose(self, name, spec, code_str, pidx, when, onset, visit) -> None:
        c = self.cohort
        code = _code(c, "icd10cm", code_str)
        rows, start, _ = add_encounters(
            c, self.rnd, pidx, when, "ambulatory", visit, code, self.module, f"dx/{name}"
        )
        mod = np.full(len(pidx), self.module, dtype=np.int32)
        cond_rows = c.log.add(
            "conditions",
            pidx=pidx,
            enc=rows,
            time=start,
            code=np.full(len(pidx), code),
            module=mod,
            onset_time=np.minimum(onset, start),
        )
        c.onset(code)[pidx] = np.minimum(onset, start)
        c.condition_row[code][pidx] = cond_rows
        med = spec.get("medication")
        if med:
            treat = self.rnd.uniform(c.keys[pidx], f"{name}/treat") < med["share"]
            mcode = _code(c, "rxnorm", med["code"])
            n = int(treat.sum())
            mrows = c.log.add(
                "medications",
                pidx=pidx[treat],
                enc=rows[treat],
                time=start[treat],
                code=np.full(n, mcode),
                cost=np.full(n, 255.0),
                reason=np.full(n, code),
                module=mod[treat],
            )
            c.open_rows(c.medication_row, mcode)[pidx[treat]] = mrows
        lab = spec.get("lab") or (spec.get("lab_by_code") or {}).get(code_str)
        if lab:
            self._labs(name, lab, pidx, rows, start)

    def _labs(self, name, lab, pidx, dx_rows, dx_start) -> None:
        """The disease's monitoring lab at diagnosis (trajectory: baseline + drift + noise)."""
        c = self.cohort
        keys = c.keys[pidx]
        base = self.rnd.normal(keys, f"{name}/lab", float(lab["mean"]), float(lab["sd"]))
        value = base + self.rnd.normal(keys, f"{name}/lab/noise", 0, float(lab["sd"]) * 0.2)
        value = np.round(np.clip(value, *lab["bounds"]), 1)
        code = _code(c, "loinc", lab["loinc"])
        n = len(pidx)
        c.log.add(
            "observations",
            pidx=pidx,
            enc=dx_rows,
            time=dx_start,
            code=np.full(n, code),
            value=value,
            text=np.full(n, -1, dtype=np.int32),
            module=np.full(n, self.module, dtype=np.int32),
        )
        c.last_value.setdefault(str(lab["loinc"]), np.full(c.size, np.nan))[pidx] = value

    def _obesity(self, pidx, t, enc) -> None:
        c, spec = self.cohort, self.cfg["obesity"]
        vis_p, vis_t, vis_enc, bmi, age = self.bmi
        hit = (bmi >= spec["bmi"]) & (age >= spec["from_age"])
        if not hit.any():
            return
        idx = np.flatnonzero(hit)
        # the first qualifying visit of each patient (visits are grouped per patient, in time)
        order = idx[np.lexsort((vis_t[idx], vis_p[idx]))]
        first = order[np.r_[True, vis_p[order][1:] != vis_p[order][:-1]]]
        code = _code(c, "icd10cm", spec["code"])
        fresh = np.isnan(c.onset(code)[vis_p[first]])
        first = first[fresh]
        n = len(first)
        rows = c.log.add(
            "conditions",
            pidx=vis_p[first],
            enc=vis_enc[first],
            time=vis_t[first],
            code=np.full(n, code),
            module=np.full(n, self.module, dtype=np.int32),
        )
        c.onset(code)[vis_p[first]] = vis_t[first]
        c.condition_row[code][vis_p[first]] = rows
