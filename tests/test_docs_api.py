"""Every ```python block of docs/api.md runs, in order, in an empty folder."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def test_api_examples_run(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 6
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for number, code in enumerate(blocks, 1):
        exec(compile(code, f"docs/api.md block {number}", "exec"), namespace)
    out = capsys.readouterr().out
    assert "['allergies', 'careplans'" in out
    assert "1 ['malformed_json', 'not_an_object']" in out
    assert (tmp_path / "warehouse.duckdb").is_file()
    assert "500 records in 1 file(s): 500 processed, 0 malformed skipped" in out


def test_api_names_survive_submodule_imports():
    """Importing every subpackage must not shadow an API function of the same name."""
    import importlib
    import pkgutil

    import hospigen

    for info in pkgutil.walk_packages(hospigen.__path__, "hospigen."):
        if not info.name.startswith(("hospigen.beam", "hospigen.cli")):
            importlib.import_module(info.name)
    for name in hospigen.__all__[1:]:
        assert callable(getattr(hospigen, name)) and not isinstance(
            getattr(hospigen, name), type(hospigen)
        ), name
