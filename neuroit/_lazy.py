"""Lazy imports, so ``import neuroit.<stage>`` stays light.

A stage's ``__init__`` names what it exports and from which submodule::

    __getattr__, __dir__, __all__ = lazy_exports(__name__, {"read_intan": "intan", ...})

The submodule is imported on first access of one of its names. Optional dependencies (torch,
scikit-image, scikit-learn, pynwb, ...) are imported where used with :func:`import_optional`,
which names the extra that provides them when they are missing.
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


def import_optional(name: str, extra: str):
    """Import module ``name`` or raise ImportError with the install hint of the neuroit ``extra``."""
    try:
        return importlib.import_module(name)
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise ImportError(f"This neuroit function needs {name.split('.')[0]}; install it with: "
                          f'pip install "neuroit[{extra}]"') from err
