"""Rebuild ``src/hospigen/modules/parsed_yaml.txt``: the shipped YAML files, parsed, as JSON.

A run reads module, scenario, baseline and demographics definitions from that file instead of
importing PyYAML and parsing them (see ``hospigen.yamlcache``). Run after editing a shipped
YAML file (``tests/cohort/test_yaml_cache.py`` fails until then):

    python scripts/build_yaml_cache.py
"""

from __future__ import annotations

from pathlib import Path

from hospigen.yamlcache import CACHE_FILE, cache_text

OUT = Path(__file__).resolve().parents[1] / "src/hospigen/modules" / CACHE_FILE


def main() -> None:
    """Write the cache file."""
    OUT.write_text(cache_text(), encoding="utf-8")
    print(f"wrote {OUT.name}: {len(cache_text().splitlines()) - 1} files")


if __name__ == "__main__":
    main()
