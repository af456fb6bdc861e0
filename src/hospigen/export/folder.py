"""Atomic output folders: a format writes into ``.<name>.partial/`` and renames it at close.

Formats that write many files (one per patient or per resource type) publish the whole folder
at once, so a reader never sees half a run and a crashed run leaves no half-written folder
under the final name.
"""

from __future__ import annotations

import shutil
from pathlib import Path


class AtomicFolder:
    """A folder built under a temporary name and renamed into place by :meth:`publish`."""

    def __init__(self, final: Path) -> None:
        self.final = final
        self.path = final.with_name(f".{final.name}.partial")
        if self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True)

    def publish(self) -> Path:
        """Replace ``final`` by the finished folder; returns ``final``."""
        if self.final.exists():
            old = self.final.with_name(f".{self.final.name}.old")
            if old.exists():
                shutil.rmtree(old)
            self.final.rename(old)
            self.path.rename(self.final)
            shutil.rmtree(old)
        else:
            self.path.rename(self.final)
        return self.final

    def files(self) -> list[Path]:
        """Every file of the published folder, sorted."""
        return sorted(p for p in self.final.rglob("*") if p.is_file())
