"""Response tensors: averaging repetitions, merging sessions and days, and writing them out.

``presentation × site [× time_bin]`` rates (from :func:`neuroit.events.bin_counts`) become
``stimulus_id × site`` tensors keyed by stimulus id, identical across sessions and days::

    from neuroit.tensor import average_repetitions, merge_sessions, to_netcdf, open_tensor
    merged = merge_sessions([day1, day2], sites=report)   # NaN where a day lacks an image
    to_netcdf(merged, "pico.nc", inputs=["day1/", "day2/"])

Exports: NetCDF/Zarr with provenance (:func:`to_netcdf`, :func:`to_zarr`, :func:`open_tensor`),
Brain-Score (:func:`to_brainscore`) and NWB (:func:`to_nwb`, needs ``pip install "neuroit[nwb]"``).
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "average_repetitions": "neuroit.tensor.average",
    "merge_sessions": "neuroit.tensor.average",
    "to_netcdf": "neuroit.tensor.store",
    "to_zarr": "neuroit.tensor.store",
    "open_tensor": "neuroit.tensor.store",
    "checksum_inputs": "neuroit.tensor.store",
    "to_brainscore": "neuroit.tensor.brainscore",
    "to_nwb": "neuroit.tensor.nwb",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'neuroit.tensor' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
