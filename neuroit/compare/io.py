"""Reading feature / tensor files for the comparison.

Stimulus tables are read with :func:`neuroit.stimuli.read_stimulus_set`.
"""
from __future__ import annotations

import os
from pathlib import Path

from neuroit.errors import FileFormatError

__all__ = ["read_features"]


def read_features(path: str | os.PathLike):
    """Load a (stimulus x unit) DataArray from NetCDF: a file holding one DataArray (as
    ``DataArray.to_netcdf`` writes) or a Dataset with one 2-D variable (``rate`` or
    ``features`` preferred). Extra dims of size one are squeezed away."""
    import xarray as xr

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "No such file or directory", str(path))
    try:
        ds = xr.load_dataset(path)
    except Exception as exc:  # netCDF/HDF5 libraries raise many kinds
        detail = (str(exc).strip().splitlines() or [""])[0][:160]
        raise FileFormatError(path, f"cannot be read as NetCDF ({type(exc).__name__}: {detail})") from None
    names = list(ds.data_vars)
    if not names:
        raise FileFormatError(path, "holds no data variable")
    pick = [n for n in ("__xarray_dataarray_variable__", "rate", "features", "activations") if n in names]
    name = pick[0] if pick else ([n for n in names if ds[n].ndim == 2] or names)[0]
    da = ds[name]
    squeeze = [d for d in da.dims if da.sizes[d] == 1]
    if squeeze and da.ndim - len(squeeze) == 2:
        da = da.squeeze(squeeze, drop=True)
    if da.ndim != 2:
        raise FileFormatError(path, f"variable {name!r} has dims {da.dims}; expected (stimulus, unit)")
    return da
