"""Apache Beam pipelines (the ``beam`` extra): sharded generation and claims streaming."""
