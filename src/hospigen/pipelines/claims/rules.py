"""Fraud red-flag rules: data files (weights, code edits, NCCI pairs, fee schedule) → SQL.

Every rule is a boolean SQL expression over one validated claim; the score is a noisy-OR of
the weights of the rules that fire, ``1 − Π(1 − wᵢ)``, so it lies in [0, 1], grows with each
independent red flag, and each point of it is explained by a named reason. No rule reads the
synthetic label. ``duplicate_submission`` needs history and is applied by :mod:`.dedupe`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("hospigen.pipelines.claims").joinpath("data").joinpath(name).read_text()
    return list(csv.DictReader(text.splitlines()))


def _lit(text: str) -> str:
    """A SQL string literal for trusted package data (quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Rule:
    """A named red flag with its weight and a human description."""

    name: str
    weight: float
    description: str


@cache
def rules() -> dict[str, Rule]:
    """The red-flag rules by name (package data ``rules.csv``)."""
    return {
        r["rule"]: Rule(r["rule"], float(r["weight"]), r["description"]) for r in _rows("rules.csv")
    }


@cache
def fee_schedule() -> dict[str, dict[str, str]]:
    """Fee schedule rows by bare CPT/HCPCS code: fee, family, level."""
    return {r["code"]: r for r in _rows("fee_schedule.csv")}


@cache
def ncci_pairs() -> list[tuple[str, str]]:
    """(column 1, column 2) procedure pairs that may not be billed together."""
    return [(r["column1"], r["column2"]) for r in _rows("ncci_pairs.csv")]


@cache
def code_edits() -> list[dict[str, str]]:
    """Age and sex edits per procedure code."""
    return _rows("code_edits.csv")


TOP_EM_CODES = ("99205", "99215", "99285", "99223")
CHARGE_MULTIPLIER = 2.0  # billed charges over the fee schedule, as providers typically bill
OUTLIER_RATIO = 6.0


def _has(code: str) -> str:
    return f"list_contains(procedure_codes, {_lit(code)})"


def _fee_map() -> str:
    pairs = ", ".join(f"{_lit(c)}: {float(r['fee'])}" for c, r in fee_schedule().items())
    return f"MAP {{{pairs}}}"


def expected_amount_sql() -> str:
    """Expected billed amount: the fee schedule sum of the known codes × charge multiplier."""
    return (
        f"{CHARGE_MULTIPLIER} * coalesce(list_sum(list_transform(procedure_codes, "
        f"lambda x: coalesce({_fee_map()}[x], 0.0))), 0.0)"
    )


def _age_sex_sql() -> str:
    parts = []
    for edit in code_edits():
        bad = [f"patient_age < {int(edit['min_age'])}", f"patient_age > {int(edit['max_age'])}"]
        if edit["sex"]:
            bad.append(f"patient_gender IN ('M','F') AND patient_gender <> {_lit(edit['sex'])}")
        parts.append(f"({_has(edit['code'])} AND coalesce(({') OR ('.join(bad)}), false))")
    return " OR ".join(parts)


def rule_sql() -> dict[str, str]:
    """Rule name → boolean SQL over the validated columns (never NULL)."""
    unbundled = " OR ".join(f"({_has(a)} AND {_has(b)})" for a, b in ncci_pairs())
    top_em = " OR ".join(_has(c) for c in TOP_EM_CODES)
    exprs = {
        "services_after_death": "service_date > patient_death_date",
        "service_before_birth": "service_date < patient_birth_date",
        "age_mismatch": (
            "abs(patient_age - date_diff('year', patient_birth_date, service_date)) > 1"
        ),
        "age_sex_conflict": _age_sex_sql(),
        "unbundling": unbundled,
        "upcoding": f"({top_em}) AND coalesce(len(diagnosis_codes), 0) <= 1",
        "outlier_amount": (
            f"expected_amount > 0 AND claim_amount > {OUTLIER_RATIO} * expected_amount"
        ),
        "weekend_office_visit": "place_of_service = 'Office' AND isodow(service_date) >= 6",
        "late_submission": "days_to_submission > 60",
        "high_amount": "claim_amount > 5000",
    }
    return {name: f"coalesce(({sql}), false)" for name, sql in exprs.items()}


def score_sql() -> tuple[str, str]:
    """(score, reasons) SQL expressions over ``r_<rule>`` boolean columns."""
    weights = rules()
    names = list(rule_sql())
    product = " * ".join(f"(1 - {weights[n].weight} * r_{n}::DOUBLE)" for n in names)
    reasons = ", ".join(f"CASE WHEN r_{n} THEN {_lit(n)} END" for n in names)
    return f"round(1 - {product}, 6)", f"list_filter([{reasons}], lambda x: x IS NOT NULL)"
