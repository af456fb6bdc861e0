"""Generation on Apache Beam (DirectRunner) equals the local run byte for byte, per shard."""

import datetime as dt

import pyarrow.parquet as pq
import pytest

from hospigen.beam.generate_pipeline import GenerationConfig, run_generation
from hospigen.generate import generate
from tests.conftest import tree_digest

AS_OF = dt.date(2025, 1, 1)


def _compare(tmp_path, n: int, shard_size: int) -> dict[str, str]:
    run_generation(
        GenerationConfig(n, str(tmp_path / "beam"), 7, AS_OF, shard_size), ["--runner=DirectRunner"]
    )
    generate(n, tmp_path / "local", seed=7, as_of=AS_OF, formats=["parquet_parts"],
             shard_size=shard_size)  # fmt: skip
    beam, local = tree_digest(tmp_path / "beam/parts"), tree_digest(tmp_path / "local/parts")
    assert beam == local
    return beam


def test_beam_generation_equals_local_parts(tmp_path):
    parts = _compare(tmp_path, 2_000, 500)
    assert sum(name.startswith("patients/") for name in parts) == 4
    total = sum(pq.read_metadata(p).num_rows for p in (tmp_path / "beam/parts/patients").iterdir())
    assert total == 2_000


@pytest.mark.slow
def test_beam_generation_equals_local_parts_at_10k(tmp_path):
    _compare(tmp_path, 10_000, 1_000)
