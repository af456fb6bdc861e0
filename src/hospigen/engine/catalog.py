"""Where modules and scenarios come from: the package's built-ins plus a user folder.

A user folder (``--modules-dir``) may hold module YAML files and a ``scenarios/`` sub-folder;
a user file with a built-in's name replaces the built-in. Files are parsed once per process.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from hospigen.engine.spec import Module, ModuleError, load_module_file
from hospigen.yamlcache import YamlError, load_yaml

_BUILTIN = resources.files("hospigen.modules")
NON_MODULE_FILES = {"baseline.yaml"}


def _module_files(user_dir: str | None) -> dict[str, Path]:
    files = {
        p.name[:-5]: Path(str(p))
        for p in _BUILTIN.iterdir()
        if p.name.endswith(".yaml") and p.name not in NON_MODULE_FILES
    }
    if user_dir:
        folder = Path(user_dir)
        if not folder.is_dir():
            raise ModuleError(f"--modules-dir {user_dir} is not a folder")
        files.update({p.stem: p for p in sorted(folder.glob("*.yaml"))})
    return dict(sorted(files.items()))


def _scenario_files(user_dir: str | None) -> dict[str, Path]:
    folder = _BUILTIN / "scenarios"
    files = {p.name[:-5]: Path(str(p)) for p in folder.iterdir() if p.name.endswith(".yaml")}
    if user_dir and (Path(user_dir) / "scenarios").is_dir():
        files.update({p.stem: p for p in sorted((Path(user_dir) / "scenarios").glob("*.yaml"))})
    return dict(sorted(files.items()))


def module_names(user_dir: str | None = None) -> list[str]:
    """Every available module name."""
    return list(_module_files(user_dir))


def module_path(name: str, user_dir: str | None = None) -> Path:
    """The file of module ``name``."""
    files = _module_files(user_dir)
    if name not in files:
        raise ModuleError(f"unknown module {name!r}; known: {', '.join(files)}")
    return files[name]


@cache
def load_module(name: str, user_dir: str | None = None) -> Module:
    """Module ``name`` parsed and checked (cached: modules are immutable data)."""
    return load_module_file(module_path(name, user_dir))


def scenario_names(user_dir: str | None = None) -> list[str]:
    """Every available scenario name."""
    return list(_scenario_files(user_dir))


@cache
def load_scenario_data(name: str, user_dir: str | None = None) -> dict:
    """The raw mapping of scenario ``name``."""
    files = _scenario_files(user_dir)
    if name not in files:
        raise ModuleError(f"unknown scenario {name!r}; known: {', '.join(files)}")
    try:
        data = load_yaml(files[name])
    except YamlError as exc:
        raise ModuleError(f"{files[name]}: cannot read scenario: {exc}") from None
    if not isinstance(data, dict):
        raise ModuleError(f"{files[name]}: a scenario is a mapping")
    return data
