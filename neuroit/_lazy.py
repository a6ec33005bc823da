"""Lazy re-exports for the stage packages, so ``import neuroit.<stage>`` stays light.

A stage's ``__init__`` names what it exports and from which submodule::

    __getattr__, __dir__, __all__ = lazy_exports(__name__, {"read_intan": "intan", ...})

The submodule is imported on first access of one of its names.
"""
from __future__ import annotations

import importlib


def lazy_exports(package: str, exports: dict[str, str]):
    """Return ``(__getattr__, __dir__, __all__)`` for ``package`` exporting ``name -> submodule``."""
    names = sorted(exports)

    def __getattr__(name: str):
        if name in exports:
            return getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return names

    return __getattr__, __dir__, names
