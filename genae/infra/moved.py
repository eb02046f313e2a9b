"""The old import paths of the modules that moved into :mod:`genae.infra` (issue 16).

``import genae.cache`` (or ``from genae.devices import ...``) still works and gives the very
module ``genae.infra.cache``, so classes and module state are shared. This keeps code written
before the move, the ``genae`` console script (``genae.cli:main``) and the notebooks running until
they use the new paths; then this module and its import in ``genae/__init__.py`` can go.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

NAMES = ("cache", "checkpoint", "cli", "cli_parser", "devices", "distributed", "files", "loader",
         "runlog")
MOVED = {f"genae.{name}": f"genae.infra.{name}" for name in NAMES}


class _OldPaths(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``genae.cache`` and the others as the modules under their new names."""

    specs: dict = {}

    def find_spec(self, fullname, path=None, target=None):
        return importlib.util.spec_from_loader(fullname, self) if fullname in MOVED else None

    def create_module(self, spec):
        module = importlib.import_module(MOVED[spec.name])
        self.specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module) -> None:
        # the import machinery gave the module the old name's spec: give it back its own
        old = next(old for old, new in MOVED.items() if new == module.__name__)
        module.__spec__ = self.specs[old]


if not any(isinstance(finder, _OldPaths) for finder in sys.meta_path):
    sys.meta_path.insert(0, _OldPaths())  # before an editable install's finder of the old files
