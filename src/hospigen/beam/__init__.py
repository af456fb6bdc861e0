"""Apache Beam pipelines (optional `beam` extra): the same cores, on a distributed engine."""
