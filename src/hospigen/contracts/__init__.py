"""Dataset contracts (shipped JSON) and the DuckDB checker that enforces them."""

from hospigen.contracts.checker import Checker, ContractViolationError, Finding, check_folder
from hospigen.contracts.load import Contract, load_contracts

__all__ = [
    "Checker",
    "Contract",
    "ContractViolationError",
    "Finding",
    "check_folder",
    "load_contracts",
]
