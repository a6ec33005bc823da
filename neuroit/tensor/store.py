"""Writing tensors to NetCDF (h5netcdf) and Zarr with provenance, and reading them back.

Every file carries, in the attributes of its data variable:

- every parameter the tensor collected on its way (``attrs`` of each step, e.g.
  ``attrs["average_repetitions"] = {...}``),
- ``neuroit_version``, ``created_utc``, ``writer`` (the function and its parameters),
- ``inputs``: the input files with their size and SHA-256 (folders: one entry per file inside).

NetCDF attributes can only be numbers, strings or 1-D arrays, so dicts, nested lists, booleans and
``None`` are stored as JSON strings and their names listed in ``attrs["_json_attrs"]``;
:func:`open_tensor` decodes them, so ``open_tensor(to_netcdf(t, p))`` has the same attrs as ``t``.
Files are written atomically (:func:`neuroit._atomic.atomic_path`): a crash leaves no file.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import xarray as xr

from neuroit._json import json_default
from neuroit.errors import FileFormatError, NeuroitError

log = logging.getLogger(__name__)

_JSON_KEY = "_json_attrs"
_NAME_KEY = "_neuroit_name"


def neuroit_version() -> str:
    """The installed neuroit version (package attribute, else the distribution metadata)."""
    import neuroit

    version = getattr(neuroit, "__version__", None)
    if version is None:  # e.g. an editable install that resolves neuroit as a namespace package
        from importlib.metadata import version as _dist_version

        version = _dist_version("neuroit")
    return version


def sha256_file(path: str | os.PathLike, *, chunk_bytes: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk_bytes), b""):
            h.update(block)
    return h.hexdigest()


def checksum_inputs(inputs: Sequence[str | os.PathLike]) -> list[dict]:
    """``[{"path", "size", "sha256"}, ...]`` for each input file (folders: every file inside, sorted)."""
    out = []
    for p in inputs:
        p = Path(p)
        if p.is_dir():
            files = sorted(q for q in p.rglob("*") if q.is_file())
        elif p.is_file():
            files = [p]
        else:
            raise FileNotFoundError(2, "No such file or directory", os.fspath(p))
        for q in files:
            out.append({"path": os.fspath(q), "size": q.stat().st_size, "sha256": sha256_file(q)})
    return out


def encode_attrs(attrs: dict) -> dict:
    """NetCDF-safe attrs: numbers and strings stay; everything else becomes a JSON string."""
    out, encoded = {}, []
    for k, v in attrs.items():
        if isinstance(v, (int, float, str, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)):
            out[k] = v
        else:  # dicts, lists, tuples, arrays, bools, None: JSON, so they come back exactly
            out[k] = json.dumps(v, default=json_default)
            encoded.append(k)
    out[_JSON_KEY] = json.dumps(encoded)
    return out


def decode_attrs(attrs: dict) -> dict:
    """Inverse of :func:`encode_attrs`."""
    attrs = dict(attrs)
    encoded = json.loads(attrs.pop(_JSON_KEY, "[]"))
    for k in encoded:
        if k in attrs:
            attrs[k] = json.loads(attrs[k])
    return attrs


def _prepare(tensor: xr.DataArray, inputs, writer: str, params: dict) -> xr.Dataset:
    if not isinstance(tensor, xr.DataArray):
        raise NeuroitError(f"The 'tensor' parameter of {writer} must be an xarray.DataArray; got "
                           f"{type(tensor).__name__} instead.")
    attrs = dict(tensor.attrs)
    if inputs is not None:
        attrs["inputs"] = checksum_inputs(inputs)
    attrs.setdefault("inputs", [])
    attrs["neuroit_version"] = neuroit_version()
    attrs["created_utc"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    attrs["writer"] = {"function": writer, **params}
    name = tensor.name or "rate"
    attrs[_NAME_KEY] = str(name)
    da = tensor.copy(deep=False)
    da.attrs = encode_attrs(attrs)
    da.name = str(name)
    # coordinates: object arrays must be all-str for NetCDF; coordinate attrs encoded too
    for c in list(da.coords):
        v = da[c].values
        if v.dtype == object:
            if all(isinstance(x, str) for x in v.ravel()):
                da = da.assign_coords({c: (da[c].dims, v.astype(str))})
            else:
                da = da.assign_coords({c: (da[c].dims, np.array([str(x) for x in v.ravel()]).reshape(v.shape))})
        if da[c].attrs:
            da[c].attrs = encode_attrs(dict(da[c].attrs))
    return da.to_dataset()


def to_netcdf(tensor: xr.DataArray, path: str | os.PathLike, *, inputs: Sequence | None = None,
              compression: int | None = 4) -> Path:
    """Write a tensor to a NetCDF-4 file (h5netcdf engine), atomically, with provenance attrs.

    ``inputs`` lists the input files (or folders) whose SHA-256 is recorded (``None`` keeps the
    tensor's own ``attrs["inputs"]``). ``compression``: gzip level of the data variable (None: off).
    Returns the path written.
    """
    from neuroit._atomic import atomic_path

    path = Path(path)
    ds = _prepare(tensor, inputs, "to_netcdf", {"path": os.fspath(path), "compression": compression})
    name = next(iter(ds.data_vars))
    encoding = {name: {"zlib": True, "complevel": compression}} if compression else {}
    with atomic_path(path, suffix=".nc") as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
    log.info("wrote %s", path)
    return path


def to_zarr(tensor: xr.DataArray, path: str | os.PathLike, *, inputs: Sequence | None = None) -> Path:
    """Write a tensor to a Zarr (v2) store folder, atomically, with the same attrs as :func:`to_netcdf`."""
    from neuroit._atomic import atomic_path

    path = Path(path)
    ds = _prepare(tensor, inputs, "to_zarr", {"path": os.fspath(path)})
    with atomic_path(path, suffix=".zarr") as tmp:
        ds.to_zarr(tmp, mode="w", consolidated=True)
    log.info("wrote %s", path)
    return path


def open_tensor(path: str | os.PathLike) -> xr.DataArray:
    """Read a tensor written by :func:`to_netcdf` or :func:`to_zarr` (loaded in memory, file closed).

    Attributes are decoded back to dicts/lists/bools; string coordinates come back as ``object`` arrays.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "No such file or directory", os.fspath(path))
    is_zarr = path.is_dir()
    try:
        if is_zarr:
            ds = xr.open_zarr(path, consolidated=None).load()
        else:
            with xr.open_dataset(path, engine="h5netcdf") as f:
                ds = f.load()
    except (OSError, ValueError, KeyError) as exc:
        raise FileFormatError(path, f"not a readable {'Zarr' if is_zarr else 'NetCDF'} tensor ({exc}).") from exc
    if len(ds.data_vars) != 1:
        raise FileFormatError(path, f"expected one data variable (a neuroit tensor); found {list(ds.data_vars)}.")
    da = ds[next(iter(ds.data_vars))]
    attrs = decode_attrs(da.attrs)
    da.name = attrs.pop(_NAME_KEY, da.name)
    da.attrs = attrs
    for c in list(da.coords):
        if da[c].attrs and _JSON_KEY in da[c].attrs:
            da[c].attrs = decode_attrs(dict(da[c].attrs))
        if da[c].dtype.kind == "U":
            da = da.assign_coords({c: (da[c].dims, da[c].values.astype(object))})
    return da
