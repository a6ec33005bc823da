"""Brain-Score compatible export: ``presentation × neuroid × time_bin`` assemblies.

Brain-Score (brainio) neural assemblies are DataArrays with dims ``presentation``, ``neuroid`` and
``time_bin``; every coordinate lives on one of these dims (brainio stacks them into MultiIndexes
when you wrap the array in ``NeuroidAssembly``). Conventions followed here:

- presentation: ``stimulus_id`` (the key into the stimulus set), ``repetition`` and the image
  metadata (``object_label``, ``domain``, ``image_file``, ``is_normalizer``, session, trial …);
- neuroid: ``neuroid_id`` (neuroit's site id), ``region`` (``"IT"``, what benchmarks select on),
  ``subregion`` (``pIT``/``cIT``/``aIT`` from neuroit's posterior/central/anterior), ``animal``,
  ``arr`` (array), ``elec`` (electrode name), ``port``;
- time_bin: ``time_bin_start`` and ``time_bin_end`` in ms after stimulus onset;
- attrs: ``stimulus_set_identifier`` and ``identifier``.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from neuroit.errors import NeuroitError

_SUBREGION = {"posterior": "pIT", "central": "cIT", "anterior": "aIT"}


def _rebuild(da: xr.DataArray, dims: dict, names: dict) -> xr.DataArray:
    """A new DataArray with dims and coordinate names renamed, every coordinate a plain (non-index) one."""
    new_dims = tuple(dims.get(d, d) for d in da.dims)
    coords = {}
    for name, c in da.coords.items():
        coords[names.get(name, name)] = (tuple(dims.get(d, d) for d in c.dims), c.values, dict(c.attrs))
    return xr.DataArray(da.values, dims=new_dims, coords=coords, attrs=dict(da.attrs), name=da.name)


def to_brainscore(
    tensor: xr.DataArray,
    *,
    region: str = "IT",
    stimulus_set_identifier: str | None = None,
    identifier: str | None = None,
    time_bin_ms: tuple[float, float] | None = None,
) -> xr.DataArray:
    """Convert a neuroit tensor to a Brain-Score style ``presentation × neuroid × time_bin`` DataArray.

    Parameters
    ----------
    tensor
        ``presentation × site [× time_bin]`` rates (one row per presentation, ``repetition`` kept)
        or an image-level ``stimulus_id × site [× time_bin]`` tensor (one presentation per image,
        ``repetition`` 0, ``attrs["averaged_repetitions"] = True``).
    region
        Value of the ``region`` coordinate (Brain-Score benchmarks select ``region == "IT"``);
        neuroit's own region (posterior/central/anterior) goes to ``subregion`` as pIT/cIT/aIT.
    stimulus_set_identifier, identifier
        Stored in attrs (default: ``attrs["stimulus_set"]`` or ``"neuroit"``, and ``"neuroit." + animal``).
    time_bin_ms
        The (start, end) of the single time bin when the tensor has no ``time_bin`` dim
        (default: ``attrs["window_ms"]``, else (70, 170)).

    The result can be wrapped as ``brainio.assemblies.NeuroidAssembly(result)``.
    """
    if not isinstance(tensor, xr.DataArray):
        raise NeuroitError(f"to_brainscore expects an xarray.DataArray; got {type(tensor).__name__} instead.")
    if "session" in tensor.dims:
        raise NeuroitError("to_brainscore needs one presentation or stimulus axis; got a stacked 'session' dim "
                           "(merge with combine='mean' or export presentation-level tensors).")
    if "site" not in tensor.dims or not ({"presentation", "stimulus_id"} & set(tensor.dims)):
        raise NeuroitError(f"to_brainscore expects dims ('presentation' or 'stimulus_id', 'site'[, 'time_bin']); "
                           f"got {tensor.dims} instead.")
    averaged = "presentation" not in tensor.dims
    da = _rebuild(tensor, {"stimulus_id": "presentation", "site": "neuroid"},
                  {"site": "neuroid_id", "array": "arr", "electrode": "elec"})
    if averaged and "repetition" not in da.coords:
        da = da.assign_coords(repetition=("presentation", np.zeros(da.sizes["presentation"], dtype=np.int64)))
    if "region" in da.coords:
        sub = np.array([_SUBREGION.get(str(r), str(r)) for r in da["region"].values], dtype=object)
        da = da.drop_vars("region").assign_coords(subregion=("neuroid", sub))
    da = da.assign_coords(region=("neuroid", np.full(da.sizes["neuroid"], region, dtype=object)))
    if "animal" not in da.coords:
        da = da.assign_coords(animal=("neuroid", np.full(da.sizes["neuroid"], "unknown", dtype=object)))

    if "time_bin" in da.dims:
        ren = {k: v for k, v in (("time_bin_start_ms", "time_bin_start"), ("time_bin_stop_ms", "time_bin_end"))
               if k in da.coords}
        da = da.rename(ren)
        if not {"time_bin_start", "time_bin_end"} <= set(da.coords):
            raise NeuroitError("to_brainscore: the time_bin dim needs time_bin_start_ms and time_bin_stop_ms coords.")
    else:
        lo, hi = time_bin_ms if time_bin_ms is not None else tensor.attrs.get("window_ms", (70, 170))
        da = da.expand_dims("time_bin", axis=-1).assign_coords(
            time_bin_start=("time_bin", np.array([lo])), time_bin_end=("time_bin", np.array([hi])))
    da = da.transpose("presentation", "neuroid", "time_bin")

    attrs = dict(tensor.attrs)
    animals = sorted({str(a) for a in da["animal"].values})
    attrs["stimulus_set_identifier"] = stimulus_set_identifier or str(tensor.attrs.get("stimulus_set", "neuroit"))
    attrs["identifier"] = identifier or "neuroit." + "+".join(animals)
    attrs["averaged_repetitions"] = averaged
    attrs["to_brainscore"] = {"region": region, "time_bin_ms": list(time_bin_ms) if time_bin_ms else None}
    da.attrs = attrs
    da.name = attrs["identifier"]
    return da
