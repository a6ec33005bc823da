"""Bring a feature matrix and a stimulus table into one aligned form.

Decoding accepts any (stimulus x unit) matrix: an ``xarray.DataArray`` whose stimulus dim is one of
``stimulus_id``/``image``/``stimulus``/``presentation`` (a presentation-level tensor is averaged
per ``stimulus_id``) and whose unit dim is one of ``unit``/``site``/``neuroid``/``channel``; or a
plain 2-D array whose rows follow the stimulus table (read a stimulus CSV with
:func:`neuroit.stimuli.read_stimulus_set`).
"""
from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd

from neuroit.errors import NeuroitError
from neuroit.stimuli.table import parse_bool

log = logging.getLogger(__name__)

SAMPLE_DIMS = ("stimulus_id", "image", "stimulus", "presentation")
UNIT_DIMS = ("unit", "site", "neuroid", "channel", "feature")
_TABLE_COORDS = ("object_label", "domain", "source_id", "is_normalizer")


def _sample_dim(da, name: str) -> str:
    for dim in SAMPLE_DIMS:
        if dim in da.dims:
            return dim
    raise NeuroitError(f"The '{name}' DataArray must have a stimulus dim (one of {SAMPLE_DIMS}); "
                       f"got dims {da.dims} instead.")


def _as_dataarray_matrix(da, name: str):
    if da.ndim != 2:
        raise NeuroitError(f"The '{name}' DataArray must be 2-D (stimulus x unit); got dims {da.dims} instead "
                           "(average or select the extra dims first).")
    sdim = _sample_dim(da, name)
    udim = [d for d in da.dims if d != sdim][0]
    if "stimulus_id" in da.coords and da["stimulus_id"].dims == (sdim,):
        ids = np.asarray(da["stimulus_id"].values).astype(str)
    else:
        ids = np.asarray(da[sdim].values).astype(str)
    da = da.transpose(sdim, udim)
    values = np.asarray(da.values, dtype=np.float64)
    if len(np.unique(ids)) != len(ids):  # repeated presentations: average per stimulus
        frame = pd.DataFrame(values)
        frame.insert(0, "_id", ids)
        mean = frame.groupby("_id", sort=False).mean()
        keep = ~pd.Index(ids).duplicated()
        coords = {c: np.asarray(da[c].values)[keep] for c in _TABLE_COORDS
                  if c in da.coords and da[c].dims == (sdim,)}
        values, ids = mean.to_numpy(np.float64), mean.index.to_numpy().astype(str)
    else:
        coords = {c: np.asarray(da[c].values) for c in _TABLE_COORDS if c in da.coords and da[c].dims == (sdim,)}
    units = np.asarray(da[udim].values) if udim in da.coords else np.arange(da.sizes[udim])
    return values, ids, units, udim, coords


def _clean_table(table: pd.DataFrame, name: str) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame):
        raise NeuroitError(f"The '{name}' parameter must be a pandas DataFrame (a stimulus table); "
                           f"got {type(table).__name__} instead.")
    missing = {"stimulus_id", "object_label", "domain"} - set(table.columns)
    if missing:
        raise NeuroitError(f"The '{name}' table must have columns stimulus_id, object_label and domain; "
                           f"it lacks {sorted(missing)}.")
    out = pd.DataFrame({
        "stimulus_id": table["stimulus_id"].astype(str).to_numpy(),
        "object_label": table["object_label"].astype(str).to_numpy(),
        "domain": table["domain"].astype(str).to_numpy(),
    })
    if "source_id" in table.columns:
        src = table["source_id"].fillna("").astype(str).replace({"nan": "", "None": ""})
        out["source_id"] = src.to_numpy()
    else:
        out["source_id"] = ""
    if "is_normalizer" in table.columns:
        out = out[~parse_bool(table["is_normalizer"], f"the {name!r} table")].reset_index(drop=True)
    if out["stimulus_id"].duplicated().any():
        dup = out.loc[out["stimulus_id"].duplicated(), "stimulus_id"].iloc[0]
        raise NeuroitError(f"The '{name}' table has repeated stimulus_id values (e.g. {dup!r}); they must be unique.")
    # the root image: the naturalistic source an image was derived from, or the image itself
    out["root"] = np.where(out["source_id"] != "", out["source_id"], out["stimulus_id"])
    return out


def align_features(features, stimuli=None, *, name: str = "features"):
    """Return ``(X, table, units)``: float64 matrix (stimulus x unit) whose rows follow ``table``.

    ``table`` has columns stimulus_id, object_label, domain, source_id, root (normalizer images
    dropped); stimuli of the table missing from ``features`` are dropped with a warning.
    """
    import xarray as xr

    if isinstance(features, xr.DataArray):
        values, ids, units, _, coords = _as_dataarray_matrix(features, name)
        if stimuli is None:
            if not {"object_label", "domain"} <= set(coords):
                raise NeuroitError(f"No stimulus table given and the '{name}' DataArray lacks object_label/domain "
                                   "coords on its stimulus dim; pass stimuli=.")
            stimuli = pd.DataFrame({"stimulus_id": ids, **coords})
        table = _clean_table(stimuli, "stimuli")
        pos = pd.Index(ids).get_indexer(table["stimulus_id"])
        missing = pos < 0
        if missing.all():
            raise NeuroitError(f"None of the stimulus table's stimulus_id values (e.g. {table['stimulus_id'].iloc[0]!r}) "
                               f"are in the '{name}' DataArray (whose ids look like {ids[0]!r}).")
        if missing.any():
            warnings.warn(f"{int(missing.sum())} of {len(table)} stimuli of the table are not in '{name}' "
                          f"(e.g. {table['stimulus_id'][missing].iloc[0]!r}); they are left out.", stacklevel=3)
            table = table[~missing].reset_index(drop=True)
            pos = pos[~missing]
        X = values[pos]
    else:
        X = np.asarray(features, dtype=np.float64)
        if X.ndim != 2:
            raise NeuroitError(f"The '{name}' array must be 2-D (stimulus x unit); got shape {X.shape} instead.")
        if stimuli is None:
            raise NeuroitError(f"A plain '{name}' array needs a stimulus table (stimuli=) whose rows it follows.")
        if len(stimuli) != X.shape[0]:
            raise NeuroitError(f"The '{name}' array has {X.shape[0]} rows but the stimulus table has "
                               f"{len(stimuli)}; they must match.")
        if "is_normalizer" in getattr(stimuli, "columns", ()):
            keep = ~parse_bool(stimuli["is_normalizer"], "the 'stimuli' table")
            X, stimuli = X[keep], stimuli[keep]
        table = _clean_table(stimuli, "stimuli")
        units = np.arange(X.shape[1])
    if X.shape[1] == 0:
        raise NeuroitError(f"The '{name}' matrix has no units.")
    if not np.isfinite(X).all():
        bad = int((~np.isfinite(X)).any(axis=0).sum())
        raise NeuroitError(f"The '{name}' matrix has non-finite values in {bad} unit(s); drop or impute them first.")
    return np.ascontiguousarray(X), table, units
