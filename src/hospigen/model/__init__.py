"""The canonical model: Arrow schemas of every entity and the identifier scheme."""

from hospigen.model.ids import numbered, uuid, uuid_array, uuids
from hospigen.model.schemas import SCHEMAS, WORLD_TABLES, empty, schema

__all__ = ["SCHEMAS", "WORLD_TABLES", "empty", "numbered", "schema", "uuid", "uuid_array", "uuids"]
