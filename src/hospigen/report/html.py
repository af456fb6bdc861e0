"""Assemble the sections into one self-contained HTML file (inline SVG and CSS, no scripts)."""

from __future__ import annotations

import html
from pathlib import Path

import duckdb

from hospigen import __version__
from hospigen.report.sections import SECTIONS, Section

_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}
h1{font-size:22px;margin:0 0 4px} .sub{color:#666;margin-bottom:18px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(620px,1fr));gap:16px}
.card{background:#fff;border:1px solid #e3e3e3;border-radius:8px;padding:12px}
.card h2{font-size:15px;margin:0 0 6px} .caption{color:#555;font-size:12px}
.missing{color:#999} svg{max-width:100%;height:auto}
table{border-collapse:collapse;font-size:12px} td,th{border-bottom:1px solid #eee;padding:3px 8px}
.passed{color:#2e7d32} .failed{color:#c62828}
"""


def _card(section: Section) -> str:
    klass = "card missing" if section.missing else "card"
    caption = f"<div class='caption'>{html.escape(section.caption)}</div>"
    title = f"<h2>{html.escape(section.title)}</h2>"
    return f"<section class='{klass}'>{title}{section.body}{caption}</section>"


def render(
    con: duckdb.DuckDBPyConnection, title: str = "hospigen report"
) -> tuple[str, list[Section]]:
    """The HTML text and the sections it holds."""
    sections = [build(con) for build in SECTIONS]
    drawn = sum(not s.missing for s in sections)
    body = "".join(_card(s) for s in sections)
    text = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><div class='sub'>hospigen {__version__} — "
        f"{drawn} of {len(sections)} sections drawn; synthetic data only</div>"
        f"<div class='grid'>{body}</div></body></html>"
    )
    return text, sections


def write_report(warehouse: str | Path, out: str | Path) -> list[Section]:
    """Read ``warehouse`` (a DuckDB file) and write the report to ``out`` atomically."""
    out = Path(out)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        text, sections = render(con)
    tmp = out.with_name(f".{out.name}.partial")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return sections
