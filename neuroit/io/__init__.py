"""Readers and writers of raw files: Intan RHD/RHS (every layout), MWorks ``.mwk2``, CSV logs.

Every reader is lazy: opening a file parses its header only; samples are memory-mapped.
"""
from __future__ import annotations

from neuroit._lazy import lazy_exports

_EXPORTS = {
    "Recording": "recording",
    "NumpyRecording": "recording",
    "Stream": "recording",
    "Gap": "recording",
    "read_intan": "intan",
    "describe": "intan",
    "IntanWriter": "intan_write",
    "write_intan": "intan_write",
    "read_mwk2": "mwk2",
    "write_mwk2": "mwk2",
    "read_presentation_log": "csvlog",
    "write_presentation_log": "csvlog",
    "from_spikeinterface": "spikeinterface",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
