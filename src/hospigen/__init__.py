"""hospigen: synthetic healthcare data and the pipelines that land it."""

__version__ = "0.1.0"
