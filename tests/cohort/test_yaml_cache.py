"""The parsed copy of the shipped YAML files (``modules/parsed_yaml.txt``) is current."""

from importlib import resources

import pytest

from hospigen.yamlcache import (
    CACHE_FILE,
    YamlError,
    cache_text,
    load_yaml,
    parse_yaml,
    shipped_files,
)


def test_cache_file_matches_the_shipped_yaml():
    """Fails after a shipped YAML file is edited: run ``python scripts/build_yaml_cache.py``."""
    shipped = (resources.files("hospigen.modules") / CACHE_FILE).read_text(encoding="utf-8")
    assert shipped == cache_text()


def test_every_shipped_yaml_file_is_cached():
    lines = cache_text().splitlines()[1:]
    assert [line.split("\t")[0] for line in lines] == [name for name, _ in shipped_files()]
    assert any(name == "modules/baseline.yaml" for name, _ in shipped_files())


def test_cached_content_is_exactly_what_the_parser_gives(tmp_path):
    for name, file in shipped_files():
        copy = tmp_path / "copy.yaml"
        copy.write_bytes(file.read_bytes())  # any path: entries are found by content
        assert repr(load_yaml(copy)) == repr(parse_yaml(file.read_text(encoding="utf-8"))), name


def test_edited_and_broken_files_are_parsed(tmp_path):
    edited = tmp_path / "edited.yaml"
    edited.write_text("name: x\nshares: {a: 1, b: 2.5}\n")
    assert load_yaml(edited) == {"name": "x", "shares": {"a": 1, "b": 2.5}}
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(YamlError):
        load_yaml(broken)
