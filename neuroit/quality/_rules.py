"""Which images are normalizers, which are blanks, and which presentations belong to which session."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import xarray as xr

from neuroit.errors import NeuroitError

#: Default rule for the grey/blank image excluded from the normalizer statistics: regular expressions
#: searched (case-insensitively) in the stimulus id, the object label and the image file name.
DEFAULT_EXCLUDE = (r"blank", r"gr[ae]y")


def _stim_dim(rates: xr.DataArray) -> str:
    for d in ("presentation", "stimulus_id"):
        if d in rates.dims:
            return d
    raise NeuroitError(f"Expected a tensor with a 'presentation' or 'stimulus_id' dim; got dims {rates.dims}.")


def coords_frame(rates: xr.DataArray, dim: str) -> pd.DataFrame:
    """The 1-D coordinates along ``dim`` as a DataFrame (one row per element)."""
    cols = {n: c.values for n, c in rates.coords.items() if c.dims == (dim,)}
    return pd.DataFrame(cols, index=pd.RangeIndex(rates.sizes[dim]))


def describe_rule(rule) -> str:
    if isinstance(rule, re.Pattern):
        return f"image_file matches {rule.pattern!r}"
    if callable(rule):
        return f"callable {getattr(rule, '__name__', repr(rule))}"
    if isinstance(rule, str):
        return f"coordinate {rule!r}"
    if rule is None:
        return "none"
    return f"{len(list(rule))} listed stimulus ids"


def normalizer_mask(rates: xr.DataArray, normalizer="is_normalizer", *, missing_ok: bool = False) -> np.ndarray:
    """Boolean mask of the normalizer images along the presentation (or stimulus_id) dim.

    ``normalizer`` is one of: a coordinate name holding booleans (default ``"is_normalizer"``);
    a compiled regular expression searched in ``image_file`` (e.g. ``re.compile(r"(^|/)normalizers/")``);
    a collection of stimulus ids; or a callable taking the coordinate DataFrame and returning a mask.
    With ``missing_ok``, a coordinate name that the tensor lacks selects every image (a separate
    normalizer session shows only normalizers).
    """
    dim = _stim_dim(rates)
    n = rates.sizes[dim]
    if isinstance(normalizer, re.Pattern):
        if "image_file" not in rates.coords:
            raise NeuroitError("The normalizer rule is a pattern on 'image_file', but the tensor has no image_file.")
        return np.array([bool(normalizer.search(str(f))) for f in rates["image_file"].values], dtype=bool)
    if isinstance(normalizer, str):
        if normalizer not in rates.coords:
            if missing_ok:
                return np.ones(n, dtype=bool)
            raise NeuroitError(f"The 'normalizer' rule names the coordinate {normalizer!r}, which the tensor lacks "
                               f"(coords: {sorted(rates.coords)}).")
        return np.asarray(rates[normalizer].values).astype(bool)
    if callable(normalizer):
        mask = np.asarray(normalizer(coords_frame(rates, dim)), dtype=bool)
        if mask.shape != (n,):
            raise NeuroitError(f"The 'normalizer' callable must return one boolean per {dim} ({n}); "
                               f"got shape {mask.shape}.")
        return mask
    ids = {str(s) for s in normalizer}
    return np.isin(rates["stimulus_id"].values.astype(str), list(ids))


def excluded_mask(rates: xr.DataArray, exclude=DEFAULT_EXCLUDE) -> np.ndarray:
    """Boolean mask of the blank/grey images (``exclude``: regexes, a callable on the coords, or None)."""
    dim = _stim_dim(rates)
    n = rates.sizes[dim]
    if exclude is None or (not callable(exclude) and len(exclude) == 0):
        return np.zeros(n, dtype=bool)
    if callable(exclude) and not isinstance(exclude, re.Pattern):
        mask = np.asarray(exclude(coords_frame(rates, dim)), dtype=bool)
        if mask.shape != (n,):
            raise NeuroitError(f"The 'exclude' callable must return one boolean per {dim} ({n}); got {mask.shape}.")
        return mask
    patterns = [exclude] if isinstance(exclude, (str, re.Pattern)) else list(exclude)
    rx = re.compile("|".join(p.pattern if isinstance(p, re.Pattern) else p for p in patterns), re.IGNORECASE)
    fields = [rates["stimulus_id"].values.astype(str)]
    if "object_label" in rates.coords and rates["object_label"].dims == (dim,):
        fields.append(rates["object_label"].values.astype(str))
    if "image_file" in rates.coords and rates["image_file"].dims == (dim,):
        fields.append(np.array([re.split(r"[\\/]", str(f))[-1] for f in rates["image_file"].values]))
    # evaluate once per distinct id (presentations repeat images)
    ids, inv = np.unique(np.stack(fields, axis=1).astype(str), axis=0, return_inverse=True)
    hit = np.array([any(rx.search(v) for v in row) for row in ids], dtype=bool)
    return hit[np.ravel(inv)]


def session_labels(rates: xr.DataArray) -> np.ndarray:
    """Session name of each element along the presentation/stimulus dim (from the ``session`` coord or attrs)."""
    dim = _stim_dim(rates)
    if "session" in rates.coords and rates["session"].dims == (dim,):
        return rates["session"].values.astype(str)
    name = rates.attrs.get("session") or "+".join(str(s) for s in rates.attrs.get("sessions", [])) or "session"
    return np.full(rates.sizes[dim], str(name))


def date_labels(rates: xr.DataArray) -> np.ndarray | None:
    dim = _stim_dim(rates)
    if "date" in rates.coords and rates["date"].dims == (dim,):
        return rates["date"].values.astype(str)
    return None
