"""Readers and writers of raw files: Intan RHD/RHS (every layout), MWorks ``.mwk2``, CSV logs.

Every reader is lazy: opening a file parses its header only; samples are memory-mapped.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "Recording": "neuroit.io.recording",
    "NumpyRecording": "neuroit.io.recording",
    "Stream": "neuroit.io.recording",
    "Gap": "neuroit.io.recording",
    "read_intan": "neuroit.io.intan",
    "describe": "neuroit.io.intan",
    "IntanWriter": "neuroit.io.intan_write",
    "write_intan": "neuroit.io.intan_write",
    "read_mwk2": "neuroit.io.mwk2",
    "write_mwk2": "neuroit.io.mwk2",
    "read_presentation_log": "neuroit.io.csvlog",
    "write_presentation_log": "neuroit.io.csvlog",
    "from_spikeinterface": "neuroit.io.spikeinterface",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'neuroit.io' has no attribute {name!r}")
