"""Guard conditions (``when:``) evaluated for a whole group of patients at once.

Grammar (YAML mappings)::

    {age: {gte: 18, lt: 65}}             age in years at the current time
    {sex: F}
    {attribute: name, gt: 0}             numeric attribute set by set_attribute / add
    {active_condition: {system: icd10cm, code: E11.9}}
    {observation: 4548-4, gt: 8.0}       latest value of a LOINC code (nan never matches)
    {all: [...]}, {any: [...]}, {not: {...}}
    true / false
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import numpy as np

from hospigen.engine.cohort import Cohort

_OPS = {
    "lt": np.less,
    "lte": np.less_equal,
    "gt": np.greater,
    "gte": np.greater_equal,
    "eq": np.equal,
    "ne": np.not_equal,
}
CONDITION_KEYS = ("age", "sex", "attribute", "active_condition", "observation", "all", "any", "not")


def _compare(values: np.ndarray, spec: Mapping) -> np.ndarray:
    out = np.ones(len(values), dtype=bool)
    for op, fn in _OPS.items():
        if op in spec:
            out &= fn(values, float(spec[op]))
    return out


def condition_problems(cond: Any) -> list[str]:
    """Problems in a condition (for the linter); empty when it is well formed."""
    if isinstance(cond, bool):
        return []
    if not isinstance(cond, Mapping) or not cond:
        return [f"condition {cond!r} must be a mapping"]
    unknown = [k for k in cond if k not in (*CONDITION_KEYS, *_OPS)]
    if unknown:
        return [f"unknown condition keys {unknown}"]
    out: list[str] = []
    for key in ("all", "any"):
        for sub in cond.get(key, ()):
            out += condition_problems(sub)
    if "not" in cond:
        out += condition_problems(cond["not"])
    if "sex" in cond and cond["sex"] not in ("F", "M"):
        out.append("sex must be F or M")
    return out


def evaluate(cond: Any, cohort: Cohort, idx: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Boolean mask over ``idx``: which patients satisfy ``cond`` at days ``t``."""
    n = len(idx)
    if isinstance(cond, bool):
        return np.full(n, cond)
    out = np.ones(n, dtype=bool)
    if "age" in cond:
        out &= _compare(cohort.age(idx, t), cond["age"])
    if "sex" in cond:
        out &= cohort.female[idx] == (cond["sex"] == "F")
    if "attribute" in cond:
        out &= _compare(cohort.attribute(cond["attribute"])[idx], cond)
    if "active_condition" in cond:
        ref = cond["active_condition"]
        code = cohort.codes.add(*_code_key(str(ref.get("system", "icd10cm")), str(ref["code"])))
        onset = cohort.onset(code)[idx]
        out &= ~np.isnan(onset) & (onset <= t)
    if "observation" in cond:
        values = cohort.last_value.get(str(cond["observation"]))
        out &= _compare(values[idx], cond) if values is not None else False
    for sub in cond.get("all", ()):
        out &= evaluate(sub, cohort, idx, t)
    if "any" in cond:
        anyof = np.zeros(n, dtype=bool)
        for sub in cond["any"]:
            anyof |= evaluate(sub, cohort, idx, t)
        out &= anyof
    if "not" in cond:
        out &= ~evaluate(cond["not"], cohort, idx, t)
    return out


@cache
def _code_key(system: str, code: str) -> tuple[str, str, str]:
    """The codebook key of a condition reference (display from the terminology; cached, as
    guards are evaluated at every sweep)."""
    from hospigen.terminology import default_terminology

    return system, code, default_terminology().lookup(system, code).display
