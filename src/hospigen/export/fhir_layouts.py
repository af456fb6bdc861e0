"""The text layouts of rendered FHIR resources, joined from parts rendered once.

The column renderer (:mod:`hospigen.export.fhir_columns`) turns each table into a
:class:`Recipe`: the parts of every row's JSON (constant fragments and string columns) with the
references to the patient's own resources left open (:class:`Ref`, :class:`Styled`), because
the layouts differ only there. Each layout is then one element-wise join of those parts:

- ``ndjson``: the resource with relative references (``Patient/<id>``) and a line feed
  (``bulk_ndjson``, ``patient_ndjson``);
- ``entries``: a transaction-bundle entry (``fullUrl``, the resource with ``urn:uuid:``
  references, a PUT request), comma-ended (``fhir``);
- ``entries_relative``: the same entry with relative references (``fhir`` split bundles);
- ``local`` / ``relative``: the bare resource (tests compare it with the dict builders).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hospigen.export.textcols import Rendered, Text, join

# layout name → (local references?, wrapping: "entry", "line" or None)
LAYOUTS: dict[str, tuple[bool, str | None]] = {
    "ndjson": (False, "line"),
    "entries": (True, "entry"),
    "entries_relative": (False, "entry"),
    "local": (True, None),
    "relative": (False, None),
}
# Kinds referenced inside a patient's own bundle (urn:uuid: there); Organization, Location and
# Practitioner live in the shared bundle and are always ``Kind/<id>``.
LOCAL_KINDS = ("Patient", "Encounter", "Observation", "Coverage", "Claim")
_RELATIVE_REF = '"reference":"(?:' + "|".join(LOCAL_KINDS) + ")/"


@dataclass(frozen=True)
class Ref:
    """A reference to one of the patient's own resources (``ids`` has no nulls)."""

    kind: str
    ids: pa.Array | pa.ChunkedArray

    def parts(self, local: bool) -> list[Text]:
        """``{"reference":"urn:uuid:<id>"}`` or ``{"reference":"Kind/<id>"}`` as join parts."""
        return ['{"reference":"' + ("urn:uuid:" if local else self.kind + "/"), self.ids, '"}']


@dataclass
class Styled:
    """A part whose text depends on the reference style; each style is rendered once."""

    local: Callable[[], Text]
    relative: Callable[[], Text]
    _done: dict = field(default_factory=dict)

    def text(self, local: bool) -> Text:
        if local not in self._done:
            self._done[local] = self.local() if local else self.relative()
        return self._done[local]


def localized(relative: pa.Array) -> Styled:
    """``relative`` resource text (dict builders) and the same with ``urn:uuid:`` references.

    Only a real reference can match: inside a JSON string a quote is escaped, so the sequence
    ``"reference":"Patient/`` occurs nowhere else.
    """
    return Styled(
        lambda: pc.replace_substring_regex(relative, _RELATIVE_REF, '"reference":"urn:uuid:'),
        lambda: relative,
    )


@dataclass
class Recipe:
    """The resources of one kind in a window: ids, join parts and each patient's first row."""

    kind: str
    ids: pa.Array | pa.ChunkedArray
    parts: list
    starts: np.ndarray  # len = patients + 1

    def text(self, layout: str) -> pa.Array:
        """Every row in ``layout`` (see the module docstring)."""
        local, wrap = LAYOUTS[layout]
        parts: list[Text] = []
        for part in self.parts:
            if isinstance(part, Ref):
                parts += part.parts(local)
            elif isinstance(part, Styled):
                parts.append(part.text(local))
            else:
                parts.append(part)
        if wrap == "entry":
            request = f',"request":{{"method":"PUT","url":"{self.kind}/'
            parts = ['{"fullUrl":"urn:uuid:', self.ids, '","resource":', *parts, request,
                     self.ids, '"}},']  # fmt: skip
        elif wrap == "line":
            parts.append("\n")
        return join(*parts)

    def rendered(self, layout: str) -> Rendered:
        """:meth:`text` with the per-patient row ranges."""
        return Rendered(self.kind, self.text(layout), self.starts)
