"""The ``hospigen`` command line: one module per command group, discovered by name."""
