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

from neuroit._lazy import lazy_exports

_EXPORTS = {
    "average_repetitions": "average",
    "merge_sessions": "average",
    "to_netcdf": "store",
    "to_zarr": "store",
    "open_tensor": "store",
    "checksum_inputs": "store",
    "to_brainscore": "brainscore",
    "to_nwb": "nwb",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
