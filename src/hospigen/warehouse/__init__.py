"""Warehouses behind one interface: DuckDB (default) and BigQuery, chosen by URL scheme."""

from hospigen.warehouse.base import Warehouse, WarehouseError, open_warehouse, register
from hospigen.warehouse.sql import ident, literal, render

__all__ = [
    "Warehouse",
    "WarehouseError",
    "ident",
    "literal",
    "open_warehouse",
    "register",
    "render",
]
