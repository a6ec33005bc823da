"""neuroit: raw Intan/MWorks recordings of macaque IT to site x image tensors, and IT-vs-ANN comparisons.

The package is organised by pipeline stage; import the stage you need::

    from neuroit.io import read_intan, read_mwk2
    from neuroit.dsp import bandpass, detect_crossings

``import neuroit`` itself stays light: stages are imported on first attribute access.
"""
from __future__ import annotations

import importlib

from neuroit.errors import NeuroitError

__version__ = "0.1.0"

_STAGES = ("io", "dsp", "events", "tensor", "quality", "decoding", "models", "compare", "simulate", "stimuli")

__all__ = ["NeuroitError", "__version__", *_STAGES]


def __getattr__(name: str):
    if name in _STAGES:
        return importlib.import_module(f"neuroit.{name}")
    raise AttributeError(f"module 'neuroit' has no attribute {name!r}")
