"""Dataset contracts: JSON files shipped in ``contracts/data`` (or a user folder), validated.

A contract names its ``dataset`` and ``file``, a ``primary_key``, ``foreign_keys``, ``fields``
(type, required, constraints: enum / minimum / maximum / pattern), ``rules`` (declarative kinds
listed in :data:`RULE_KINDS`) and ``time_windows``. Every identifier in a contract must be a plain
snake_case name: the checker quotes them into SQL and passes every value as a parameter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from hospigen.errors import UsageError

FIELD_TYPES = ("string", "integer", "number", "datetime", "date", "array")
RULE_KINDS = (
    "compare", "value_map", "range_by", "paired", "referenced_by", "on_batch_date",
    "not_after_batch_date", "unique", "flag_consistent", "refs_before",
)  # fmt: skip
OPS = ("<", "<=", ">", ">=", "=", "<>")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def ident(name: Any, where: str) -> str:
    """``name`` if it is a safe snake_case identifier, else a :class:`UsageError`."""
    if not isinstance(name, str) or not _IDENT.match(name):
        raise UsageError(f"contract {where}: {name!r} is not a snake_case identifier")
    return name


def quote(name: str) -> str:
    """A validated identifier, double-quoted for SQL."""
    return '"' + ident(name, "identifier") + '"'


@dataclass(frozen=True)
class Contract:
    """One dataset's contract (the parsed JSON, validated)."""

    body: dict[str, Any]

    @property
    def dataset(self) -> str:
        return self.body["dataset"]

    @property
    def file(self) -> str:
        return self.body["file"]

    @property
    def format(self) -> str:
        return self.body.get("format", "csv")

    @property
    def fields(self) -> dict[str, dict[str, Any]]:
        return self.body["fields"]

    def validate(self) -> Contract:
        """Raise :class:`UsageError` on a malformed contract; return self."""
        b, where = self.body, self.body.get("dataset", "?")
        ident(b.get("dataset"), "dataset")
        if not isinstance(b.get("file"), str) or "/" in b["file"] or b["file"].startswith("."):
            raise UsageError(f"contract {where}: 'file' must be a bare file name")
        if self.format not in ("csv", "jsonl"):
            raise UsageError(f"contract {where}: format must be csv or jsonl")
        for name, spec in b.get("fields", {}).items():
            ident(name, f"{where}.fields")
            if spec.get("type") not in FIELD_TYPES:
                raise UsageError(f"contract {where}.{name}: type must be one of {FIELD_TYPES}")
        for name in b.get("primary_key", []):
            self._known(name)
        for fk in b.get("foreign_keys", []):
            [self._known(f) for f in fk["fields"]]
            ident(fk["references"]["dataset"], f"{where}.foreign_keys")
            [ident(f, f"{where}.foreign_keys") for f in fk["references"]["fields"]]
        for rule in b.get("rules", []):
            ident(rule.get("name"), f"{where}.rules")
            if rule.get("kind") not in RULE_KINDS:
                raise UsageError(
                    f"contract {where}.{rule['name']}: unknown kind {rule.get('kind')!r}"
                )
            if rule.get("op", "<") not in OPS:
                raise UsageError(f"contract {where}.{rule['name']}: op must be one of {OPS}")
        for tw in b.get("time_windows", []):
            self._known(tw["field"])
            [ident(tw[k], f"{where}.time_windows") for k in ("dataset", "start", "end")]
        return self

    def _known(self, name: str) -> None:
        if name not in self.fields:
            raise UsageError(f"contract {self.dataset}: {name!r} is not one of its fields")


def load_contracts(folder: str | Path | None = None) -> dict[str, Contract]:
    """Every ``*.contract.json`` of ``folder`` (default: the shipped contracts), by dataset."""
    if folder is None:
        files = [
            f for f in resources.files("hospigen.contracts").joinpath("data").iterdir()
            if f.name.endswith(".contract.json")
        ]  # fmt: skip
    else:
        if not Path(folder).is_dir():
            raise UsageError(f"contracts folder not found: {folder}")
        files = list(Path(folder).glob("*.contract.json"))
    out: dict[str, Contract] = {}
    for f in sorted(files, key=lambda f: f.name):
        try:
            body = orjson.loads(f.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise UsageError(f"contract {f.name} is not valid JSON: {exc}") from None
        contract = Contract(body).validate()
        out[contract.dataset] = contract
    if not out:
        raise UsageError("no *.contract.json files found")
    return out
