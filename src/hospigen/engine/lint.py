"""The module linter: every problem of a module file, as ``file:state: message`` findings."""

from __future__ import annotations

from pathlib import Path

import yaml

from hospigen.engine.conditions import condition_problems
from hospigen.engine.spec import Finding, check_module
from hospigen.terminology import Terminology, default_terminology

# codes only a pregnant (female) patient can carry
PREGNANCY_PREFIXES = ("O", "Z34", "Z3A", "Z33", "Z39")


def lint_file(path: str | Path, terms: Terminology | None = None) -> list[Finding]:
    """Every finding for one module file (empty list: the module is clean)."""
    path = Path(path)
    source = str(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        return [Finding(source, "-", f"cannot read YAML: {exc}")]
    module, findings = check_module(data, source, terms or default_terminology())
    if module is None:
        return findings
    for st in module.states:
        for tr in st.transitions:
            if tr.when is not None:
                findings += [Finding(source, st.name, m) for m in condition_problems(tr.when)]
        if st.type == "guard":
            findings += [Finding(source, st.name, m) for m in condition_problems(st.get("when"))]
        if st.transitions and all(tr.when is not None for tr in st.transitions):
            findings.append(
                Finding(
                    source, st.name, "conditional transitions need a fallback option without 'when'"
                )
            )
        if st.type.endswith("_end") and st.code is None:
            target = st.get("state")
            names = {s.name: s for s in module.states}
            if target not in names or names[target].code is None:
                findings.append(Finding(source, st.name, f"ends unknown state {target!r}"))
    findings += _eligibility(module, source)
    return findings


def _eligibility(module, source: str) -> list[Finding]:
    out = []
    sex = module.eligibility.get("sex", "any")
    lo = float(module.eligibility.get("min_age", 0))
    hi = float(module.eligibility.get("max_age", 120))
    for st in module.states:
        code = st.code
        if code is None or code.system != "icd10cm":
            continue
        if code.code.startswith(PREGNANCY_PREFIXES):
            if sex != "F":
                out.append(
                    Finding(
                        source,
                        st.name,
                        f"pregnancy code {code.code} in a module "
                        "open to males (set eligibility.sex: F)",
                    )
                )
            if lo < 10 or hi > 55:
                out.append(
                    Finding(
                        source,
                        st.name,
                        f"pregnancy code {code.code} with ages {lo:g}-{hi:g} (expect within 10-55)",
                    )
                )
    return out


def lint_paths(paths: list[Path]) -> list[Finding]:
    """Findings for several files, in the order given."""
    out: list[Finding] = []
    terms = default_terminology()
    for path in paths:
        out += lint_file(path, terms)
    return out
