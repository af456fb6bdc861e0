"""Module specifications: YAML state machines parsed into an immutable, validated form.

A module is data. :func:`parse_module` turns the YAML mapping into a :class:`Module` whose
states are numbered, whose transitions are resolved to state indices and whose codes are
checked against the terminology tables. Problems are collected as :class:`Finding` objects
(``file:state: message``) so the linter can report all of them at once; the runtime refuses a
module with any finding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from hospigen.errors import UsageError
from hospigen.terminology import Terminology, default_terminology
from hospigen.yamlcache import YamlError, load_yaml

# state type → the code system its `code` must use (None: no code)
STATE_TYPES: dict[str, tuple[str, ...] | None] = {
    "start": None,
    "terminal": None,
    "delay": None,
    "decision": None,
    "guard": None,
    "set_attribute": None,
    "encounter": ("hcpcs", "snomed"),
    "condition_onset": ("icd10cm",),
    "condition_end": ("icd10cm",),
    "medication_start": ("rxnorm",),
    "medication_end": ("rxnorm",),
    "observation": ("loinc",),
    "procedure": ("hcpcs", "snomed"),
    "immunization": ("cvx",),
    "care_plan": ("snomed",),
    "care_plan_end": ("snomed",),
}
ENCOUNTER_CLASSES = (
    "wellness",
    "ambulatory",
    "outpatient",
    "inpatient",
    "emergency",
    "urgentcare",
    "home",
    "virtual",
)
PROBABILITY_TOLERANCE = 0.05
MAX_STEPS = 5000


class ModuleError(UsageError):
    """A module or scenario file that cannot be used; the message lists every finding."""


@dataclass(frozen=True)
class Finding:
    """One problem in a module file, reported as ``file:state: message``."""

    file: str
    state: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.state}: {self.message}"


@dataclass(frozen=True)
class Code:
    """A resolved code: system, code and the display written to the tables."""

    system: str
    code: str
    display: str


@dataclass(frozen=True)
class Transition:
    """One option of a state's transition list."""

    to: int
    probability: float | None = None
    when: Mapping | None = None


@dataclass(frozen=True)
class State:
    """One state of a module (``spec`` keeps every option of the YAML mapping, read-only)."""

    name: str
    type: str
    index: int
    transitions: tuple[Transition, ...]
    code: Code | None
    spec: Mapping[str, Any]

    def get(self, key: str, default: Any = None) -> Any:
        """An option of the state's YAML mapping."""
        return self.spec.get(key, default)


@dataclass(frozen=True)
class Module:
    """A parsed clinical module: numbered states, eligibility, categories."""

    name: str
    description: str
    source: str
    states: tuple[State, ...]
    start: int
    categories: Mapping[str, str]
    eligibility: Mapping[str, Any]
    entry_spread_days: float
    codes: tuple[Code, ...] = field(default=())

    def state(self, name: str) -> State:
        """The state called ``name``."""
        return next(s for s in self.states if s.name == name)


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _resolve_code(raw: Any, allowed: tuple[str, ...], terms: Terminology) -> tuple[Code, str]:
    """(code, problem): the code as written to tables, or a message explaining why not."""
    if not isinstance(raw, Mapping) or "code" not in raw or "system" not in raw:
        return Code("", "", ""), "code must be a mapping with system and code"
    system, code = str(raw["system"]), str(raw["code"])
    if system not in allowed:
        return Code(system, code, ""), f"code system {system!r} not allowed here (use {allowed})"
    if not terms.contains(system, code):
        return Code(system, code, ""), f"{system} code {code} is not in the terminology tables"
    concept = terms.lookup(system, code)
    # CPT codes ship without descriptor text: the module supplies its own plain label
    display = concept.display or str(raw.get("display") or "")
    if not display:
        return Code(system, code, ""), f"{system} code {code} needs a display label in the module"
    return Code(system, code, display), ""


def _transitions(
    name: str, spec: Mapping, index: dict[str, int], problem: list[str]
) -> tuple[Transition, ...]:
    raw = spec.get("branches") if spec.get("type") == "decision" else spec.get("transitions")
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw:
        problem.append("transitions/branches must be a non-empty list")
        return ()
    out = []
    for item in raw:
        if not isinstance(item, Mapping) or "to" not in item:
            problem.append(f"transition {item!r} needs a 'to'")
            continue
        if item["to"] not in index:
            problem.append(f"transition to unknown state {item['to']!r}")
            continue
        p = item.get("probability")
        out.append(
            Transition(
                index[item["to"]], None if p is None else float(p), _freeze(item.get("when"))
            )
        )
    # sum what the author wrote (including options whose target is unknown)
    probs = [
        float(i["probability"])
        for i in raw
        if isinstance(i, Mapping) and i.get("when") is None and i.get("probability") is not None
    ]
    if probs and any(t.when is None and t.probability is None for t in out):
        problem.append("mix of transitions with and without probability")
    if probs and abs(sum(probs) - 1.0) > PROBABILITY_TOLERANCE:
        problem.append(f"probabilities sum to {sum(probs):.3f}, not 1 (±{PROBABILITY_TOLERANCE})")
    if any(p < 0 for p in probs):
        problem.append("negative probability")
    return tuple(out)


def _check_state_options(spec: Mapping, problem: list[str]) -> None:
    kind = spec.get("type")
    if kind == "encounter" and spec.get("encounter_class", "ambulatory") not in ENCOUNTER_CLASSES:
        problem.append(f"encounter_class must be one of {ENCOUNTER_CLASSES}")
    if kind == "observation":
        has = [k for k in ("value_range", "trajectory", "value_text") if k in spec]
        if len(has) != 1:
            problem.append("observation needs exactly one of value_range, trajectory, value_text")
        vr = spec.get("value_range")
        if vr is not None and (len(vr) != 2 or float(vr[0]) > float(vr[1])):
            problem.append("value_range must be [low, high] with low <= high")
        tr = spec.get("trajectory")
        if tr is not None and ("mean" not in tr or "sd" not in tr):
            problem.append("trajectory needs mean and sd")
    if kind == "delay" and "days" not in spec and "range" not in spec:
        problem.append("delay needs days or range")
    if kind == "guard" and "when" not in spec:
        problem.append("guard needs a 'when' condition")
    if kind == "guard" and float(spec.get("poll_days", 30)) <= 0:
        problem.append("guard poll_days must be positive (time must advance while waiting)")
    if kind == "decision" and "branches" not in spec:
        problem.append("decision needs branches")
    if kind not in ("terminal",) and not spec.get("transitions") and not spec.get("branches"):
        problem.append("non-terminal state has no transitions")


def _reachable(states: list[State], start: int) -> set[int]:
    seen, todo = {start}, [start]
    while todo:
        for t in states[todo.pop()].transitions:
            if t.to not in seen:
                seen.add(t.to)
                todo.append(t.to)
    return seen


def check_module(
    data: Any, source: str, terms: Terminology | None = None
) -> tuple[Module | None, list[Finding]]:
    """Parse and check a module mapping; returns (module or None, findings)."""
    terms = terms or default_terminology()
    findings: list[Finding] = []
    if not isinstance(data, Mapping) or not isinstance(data.get("states"), Mapping):
        return None, [Finding(source, "-", "a module is a mapping with a 'states' mapping")]
    name = str(data.get("name") or Path(source).stem)
    raw_states: Mapping = data["states"]
    index = {str(n): i for i, n in enumerate(raw_states)}
    states: list[State] = []
    codes: list[Code] = []
    for i, (sname, spec) in enumerate(raw_states.items()):
        problem: list[str] = []
        if not isinstance(spec, Mapping):
            findings.append(Finding(source, str(sname), "state must be a mapping"))
            spec = {"type": "terminal"}
        kind = spec.get("type")
        if kind not in STATE_TYPES:
            problem.append(f"unknown state type {kind!r}")
            kind = "terminal"
        else:
            _check_state_options(spec, problem)
        code = None
        allowed = STATE_TYPES[kind]
        if allowed and "code" in spec:
            code, msg = _resolve_code(spec["code"], allowed, terms)
            if msg:
                problem.append(msg)
            codes.append(code)
        elif allowed and kind not in ("condition_end", "medication_end", "care_plan_end"):
            problem.append(f"{kind} state needs a code")
        for key in ("reason",):
            if key in spec:
                reason, msg = _resolve_code(spec[key], ("icd10cm",), terms)
                if msg:
                    problem.append(f"{key}: {msg}")
                codes.append(reason)
        transitions = _transitions(str(sname), spec, index, problem)
        findings += [Finding(source, str(sname), m) for m in problem]
        states.append(State(str(sname), kind, i, transitions, code, _freeze(dict(spec))))
    starts = [s.index for s in states if s.type == "start"]
    if len(starts) != 1:
        findings.append(
            Finding(source, "-", f"a module needs exactly one start state, has {len(starts)}")
        )
        return None, findings
    reach = _reachable(states, starts[0])
    findings += [
        Finding(source, s.name, "unreachable state") for s in states if s.index not in reach
    ]
    if not any(s.type == "terminal" for s in states if s.index in reach):
        findings.append(Finding(source, "-", "no reachable terminal state"))
    findings += _check_eligibility(data.get("eligibility") or {}, source)
    for cat, mode in (data.get("categories") or {}).items():
        if mode not in ("replace", "augment"):
            findings.append(Finding(source, "categories", f"{cat}: mode must be replace|augment"))
    module = Module(
        name=name,
        description=str(data.get("description", "")),
        source=source,
        states=tuple(states),
        start=starts[0],
        categories=_freeze(dict(data.get("categories") or {})),
        eligibility=_freeze(dict(data.get("eligibility") or {})),
        entry_spread_days=float((data.get("entry") or {}).get("spread_days", 180)),
        codes=tuple(codes),
    )
    return module, findings


def _check_eligibility(elig: Mapping, source: str) -> list[Finding]:
    out = []
    lo, hi = float(elig.get("min_age", 0)), float(elig.get("max_age", 120))
    if not 0 <= lo <= hi <= 120:
        out.append(Finding(source, "eligibility", f"age range {lo}-{hi} is not within 0-120"))
    if elig.get("sex", "any") not in ("any", "F", "M"):
        out.append(Finding(source, "eligibility", "sex must be any, F or M"))
    return out


def load_module_file(path: str | Path, terms: Terminology | None = None) -> Module:
    """Load and check one module YAML file; :class:`ModuleError` lists every finding."""
    path = Path(path)
    try:
        data = load_yaml(path)
    except (OSError, YamlError) as exc:
        raise ModuleError(f"{path}: cannot read module: {exc}") from None
    module, findings = check_module(data, str(path), terms)
    if findings or module is None:
        raise ModuleError("; ".join(str(f) for f in findings))
    return module
