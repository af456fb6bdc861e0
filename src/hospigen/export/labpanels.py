"""Which LOINC panel a lab result is reported under, for DiagnosticReport and HL7 OBR grouping.

The engine marks blood-pressure components with ``panel_code`` 85354-9 and leaves lab results
without a panel. The exporters report a result set's labs (one encounter, one time) under the
order panel their analyte belongs to, so a hemoglobin and a leukocyte count drawn together
become one CBC report. Results of analytes outside these panels (eGFR, HbA1c…) stay
stand-alone Observations. An explicit ``panel_code`` always wins.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

CBC, BMP, CMP, LIPID = "58410-2", "51990-0", "24323-8", "57698-3"
PANEL_OF_ANALYTE = {
    # CBC panel - Blood by Automated count
    "6690-2": CBC, "718-7": CBC, "4544-3": CBC, "777-3": CBC,
    # Basic metabolic panel - Blood
    "2951-2": BMP, "2823-3": BMP, "2075-0": BMP, "2028-9": BMP, "2160-0": BMP, "3094-0": BMP,
    "2345-7": BMP, "17861-6": BMP,
    # Comprehensive metabolic 2000 panel: the analytes it adds to the basic panel
    "1751-7": CMP,
    # Lipid panel
    "2093-3": LIPID, "2571-8": LIPID, "2085-9": LIPID, "13457-7": LIPID,
}  # fmt: skip
_ANALYTES = pa.array(list(PANEL_OF_ANALYTE), pa.string())
_PANELS = pa.array(list(PANEL_OF_ANALYTE.values()), pa.string())


def effective_panel(observations: pa.Table) -> pa.Array:
    """Per row: ``panel_code`` if set, else the lab panel of the analyte (null if none)."""
    at = pc.index_in(observations["code"], value_set=_ANALYTES)
    implied = _PANELS.take(at.combine_chunks() if isinstance(at, pa.ChunkedArray) else at)
    is_lab = pc.equal(observations["category"], "laboratory")
    implied = pc.if_else(is_lab, implied, pa.scalar(None, pa.string()))
    panel = pc.coalesce(observations["panel_code"], implied)
    return panel.combine_chunks() if isinstance(panel, pa.ChunkedArray) else panel
