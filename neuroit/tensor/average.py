"""Presentation-level rates to image-level tensors: averaging repetitions and merging sessions/days.

Layout (see the contract "Response tensors")::

    presentation × site [× time_bin]   --average_repetitions-->   stimulus_id × site [× time_bin]
    [many sessions/days]               --merge_sessions------->   stimulus_id × site [× time_bin]
                                                                   (or session × stimulus_id × site …)

The stimulus axis is keyed by ``stimulus_id`` and its order is a pure function of the *set* of
ids (code-point sorted, like Python's ``sorted``), or the order of a stimulus table you pass: two
sessions or days with the same images always get the same axis, and a session that lacks images
gets NaN there, never a shifted axis.
"""
from __future__ import annotations

import json
import logging
from typing import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from neuroit._json import json_default
from neuroit.errors import NeuroitError

log = logging.getLogger(__name__)

#: Presentation coordinates that describe the image and are carried to the stimulus axis.
STIMULUS_COORDS = ("image_file", "object_label", "domain", "is_normalizer")
#: Site coordinates of the contract.
SITE_COORDS = ("electrode", "array", "port", "region", "animal")


def _check_rates(rates, name: str = "rates", *, dim: str = "presentation") -> None:
    if not isinstance(rates, xr.DataArray):
        raise NeuroitError(f"The '{name}' parameter must be an xarray.DataArray; got {type(rates).__name__} instead.")
    missing = {dim, "site"} - set(rates.dims)
    if missing:
        raise NeuroitError(
            f"The '{name}' parameter must have dims ({dim!r}, 'site'[, 'time_bin']); got {rates.dims} instead."
        )
    if "stimulus_id" not in rates.coords:
        raise NeuroitError(f"The '{name}' parameter has no 'stimulus_id' coordinate; every tensor is keyed by it.")


def _values_of(rates: xr.DataArray, name: str) -> list[str]:
    """The sessions (``name="session"``) or dates of a tensor: from its presentation coord, else its attrs."""
    if name in rates.coords and rates[name].dims == ("presentation",):
        return sorted({str(s) for s in rates[name].values})
    if f"{name}s" in rates.attrs:
        return [str(s) for s in np.atleast_1d(rates.attrs[f"{name}s"])]
    if name in rates.attrs:
        return [str(rates.attrs[name])]
    return []


def _site_coords(rates: xr.DataArray) -> dict:
    """Coordinates that live on the non-presentation dims (site, time_bin)."""
    keep = {}
    for name, c in rates.coords.items():
        if c.dims and "presentation" not in c.dims and "stimulus_id" not in c.dims and "session" not in c.dims:
            keep[name] = (c.dims, c.values)
    return keep


def average_repetitions(rates: xr.DataArray, *, fixation: str = "correct") -> xr.DataArray:
    """Average the repetitions of each image: ``presentation × site`` → ``stimulus_id × site``.

    Parameters
    ----------
    rates
        Presentation-level tensor (dims ``presentation``, ``site`` and optionally ``time_bin``)
        with a ``stimulus_id`` coordinate on ``presentation``.
    fixation
        ``"correct"`` (default) averages only presentations whose ``fixation_correct`` coordinate
        is true (when the coordinate exists); ``"all"`` averages every presentation.

    Returns
    -------
    xarray.DataArray
        Dims ``stimulus_id × site`` (× ``time_bin``). The stimulus axis is the code-point sorted
        set of ids. ``image_file``, ``object_label``, ``domain`` and ``is_normalizer`` are carried
        over (an image whose metadata differs between presentations is an error), plus
        ``n_repetitions`` (presentations averaged per image). NaN rates (a site missing in some
        presentations) are skipped: the mean is over that site's available repetitions.
        Presentations of several sessions are pooled; ``attrs["sessions"]`` lists them.
    """
    _check_rates(rates)
    if fixation not in ("correct", "all"):
        raise NeuroitError(f"The 'fixation' parameter of average_repetitions must be 'correct' or 'all'; "
                           f"got {fixation!r}.")
    n_in = rates.sizes["presentation"]
    if fixation == "correct" and "fixation_correct" in rates.coords:
        rates = rates.isel(presentation=np.flatnonzero(rates["fixation_correct"].values.astype(bool)))
    if rates.sizes["presentation"] == 0:
        raise NeuroitError("average_repetitions got no presentations to average (none with correct fixation).")
    rates = rates.transpose("presentation", "site", ...)
    ids = rates["stimulus_id"].values.astype(str)
    uniq, codes = np.unique(ids, return_inverse=True)
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(uniq.size))
    x = rates.values.reshape(rates.shape[0], -1)[order].astype(np.float64)
    valid = ~np.isnan(x)
    sums = np.add.reduceat(np.where(valid, x, 0.0), starts, axis=0)
    counts = np.add.reduceat(valid, starts, axis=0, dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    mean = mean.reshape((uniq.size,) + rates.shape[1:])
    n_rep = np.bincount(codes, minlength=uniq.size)

    coords = {"stimulus_id": uniq.astype(object), "n_repetitions": ("stimulus_id", n_rep)}
    first = order[starts]
    for name in STIMULUS_COORDS:
        if name not in rates.coords:
            continue
        vals = rates[name].values
        per = vals[first]
        differ = np.asarray(vals).astype(str) != np.asarray(per[codes]).astype(str)  # NaN == NaN here
        if differ.any():
            bad = uniq[np.unique(codes[differ])]
            raise NeuroitError(f"The '{name}' coordinate differs between presentations of the same stimulus_id "
                               f"(e.g. {bad[0]!r}); each image must have one {name}.")
        coords[name] = ("stimulus_id", per)
    coords.update(_site_coords(rates))
    attrs = dict(rates.attrs)
    attrs.pop("session", None)
    attrs.pop("date", None)
    attrs["sessions"] = _values_of(rates, "session")
    attrs["dates"] = _values_of(rates, "date")
    attrs["average_repetitions"] = {"fixation": fixation, "n_presentations_in": int(n_in),
                                    "n_presentations_used": int(rates.sizes["presentation"])}
    dims = ("stimulus_id",) + rates.dims[1:]
    return xr.DataArray(mean, dims=dims, coords=coords, name=rates.name or "rate", attrs=attrs)


def _jsonable(v) -> str:
    return json.dumps(v, sort_keys=True, default=json_default)


def _stimulus_order(all_ids: set[str], stimuli) -> list[str]:
    if stimuli is None:
        return sorted(all_ids)
    if isinstance(stimuli, pd.DataFrame):
        if "stimulus_id" not in stimuli.columns:
            raise NeuroitError("The 'stimuli' table of merge_sessions has no 'stimulus_id' column.")
        stimuli = stimuli["stimulus_id"]
    order = [str(s) for s in stimuli]
    if len(set(order)) != len(order):
        raise NeuroitError("The 'stimuli' order given to merge_sessions repeats a stimulus_id.")
    extra = all_ids - set(order)
    if extra:
        raise NeuroitError(f"The 'stimuli' order given to merge_sessions lacks {len(extra)} stimulus id(s) present "
                           f"in the sessions (e.g. {sorted(extra)[0]!r}).")
    return order


def _site_order(tensors: list[xr.DataArray], sites) -> list[str]:
    per = [[str(s) for s in t["site"].values] for t in tensors]
    union = set().union(*per)
    if isinstance(sites, str):
        if sites == "union":
            return sorted(union)
        if sites == "intersection":
            return sorted(set(per[0]).intersection(*per[1:]))
        raise NeuroitError(f"The 'sites' parameter of merge_sessions must be 'union', 'intersection', a list of "
                           f"site ids or a select_sites report; got {sites!r}.")
    if isinstance(sites, pd.DataFrame):
        if not {"site", "kept"} <= set(sites.columns):
            raise NeuroitError("A site report passed as 'sites' to merge_sessions needs 'site' and 'kept' columns.")
        sites = sites.loc[sites["kept"].astype(bool), "site"]
    order = [str(s) for s in sites]
    unknown = set(order) - union
    if unknown:
        raise NeuroitError(f"merge_sessions: {len(unknown)} requested site(s) are in none of the sessions "
                           f"(e.g. {sorted(unknown)[0]!r}).")
    return order


def _gather_table(tensors, dim: str, names: Sequence[str], order: list[str], what: str) -> dict:
    """One value per id on ``dim`` for each coord in ``names``, checked consistent across sessions."""
    out = {}
    for name in names:
        table: dict[str, object] = {}
        present = False
        for t in tensors:
            if name not in t.coords or t[name].dims != (dim,):
                continue
            present = True
            for key, v in zip(t[dim].values, t[name].values):
                key = str(key)
                if key in table and table[key] != v and not (pd.isna(table[key]) and pd.isna(v)):
                    raise NeuroitError(f"merge_sessions: {what} {key!r} has {name}={table[key]!r} in one session "
                                       f"and {name}={v!r} in another.")
                table.setdefault(key, v)
        if present:
            vals = [table.get(k) for k in order]
            if any(v is None for v in vals):
                continue  # coordinate not known for some ids: leave it out rather than invent values
            arr = np.asarray(vals)
            out[name] = (dim, arr.astype(object) if arr.dtype.kind in "US" else arr)
    return out


def merge_sessions(
    tensors: Sequence[xr.DataArray],
    *,
    sites="union",
    stimuli=None,
    combine: str = "mean",
) -> xr.DataArray:
    """Merge the tensors of many sessions or days of one animal on a common stimulus × site grid.

    Parameters
    ----------
    tensors
        Per-session tensors, image-level (``stimulus_id × site``, from :func:`average_repetitions`)
        or presentation-level (averaged first). Ideally z-scored per session
        (:func:`neuroit.quality.zscore_to_normalizer`) so days can be pooled.
    sites
        ``"union"`` (default; a site absent in a session is NaN there), ``"intersection"``, a list of
        site ids (in the order wanted), or a :func:`neuroit.quality.select_sites` report (its kept
        sites). Sites are matched by their ``site`` id, never by position.
    stimuli
        Order of the stimulus axis: ``None`` (default) sorts the union of stimulus ids by code point;
        a list of ids or a stimulus table (``stimulus_id`` column, e.g. ``stimuli.csv``) fixes the order,
        and must contain every id of the sessions. Ids no session showed are kept as NaN rows.
    combine
        ``"mean"`` (default): one ``stimulus_id × site`` tensor, the mean over sessions weighted by
        each session's ``n_repetitions`` (sessions lacking the image or site are skipped);
        ``"stack"``: a ``session × stimulus_id × site`` tensor, NaN where a session lacks the image.

    Returns
    -------
    xarray.DataArray
        With coords ``n_repetitions`` (total over sessions; per session when stacked), ``n_sessions``
        (sessions that showed each image), the image and site coordinates, and
        ``attrs["sessions"]``, ``attrs["dates"]`` and the merge parameters.
    """
    tensors = list(tensors)
    if not tensors:
        raise NeuroitError("merge_sessions needs at least one tensor; got an empty list.")
    if combine not in ("mean", "stack"):
        raise NeuroitError(f"The 'combine' parameter of merge_sessions must be 'mean' or 'stack'; got {combine!r}.")
    avg = []
    for i, t in enumerate(tensors):
        if isinstance(t, xr.DataArray) and "presentation" in t.dims:
            t = average_repetitions(t)
        _check_rates(t, f"tensors[{i}]", dim="stimulus_id")
        avg.append(t.transpose("stimulus_id", "site", ...))
    extra_dims = [t.dims[2:] for t in avg]
    if len(set(extra_dims)) != 1:
        raise NeuroitError(f"merge_sessions: the sessions have different dims {sorted(set(extra_dims))}.")
    if "time_bin" in avg[0].dims:
        ref = avg[0].coords.get("time_bin_start_ms")
        for t in avg[1:]:
            if t.sizes["time_bin"] != avg[0].sizes["time_bin"] or (
                    ref is not None and not np.array_equal(t["time_bin_start_ms"].values, ref.values)):
                raise NeuroitError("merge_sessions: the sessions have different time bins.")

    names = []
    for i, t in enumerate(avg):
        s = t.attrs.get("sessions") or [t.attrs.get("session", f"session{i}")]
        names.append("+".join(str(x) for x in np.atleast_1d(s)))
    if len(set(names)) != len(names):
        raise NeuroitError(f"merge_sessions got the same session twice ({names}); pass each session once.")
    stim_order = _stimulus_order({str(s) for t in avg for s in t["stimulus_id"].values}, stimuli)
    site_order = _site_order(avg, sites)

    stack = np.stack([t.reindex(stimulus_id=stim_order, site=site_order).values.astype(np.float64) for t in avg])
    reps = np.stack([
        t["n_repetitions"].reindex(stimulus_id=stim_order, fill_value=0).values if "n_repetitions" in t.coords
        else t["stimulus_id"].reindex(stimulus_id=stim_order).notnull().values.astype(int)
        for t in avg
    ]).astype(np.int64)
    n_sessions = (reps > 0).sum(axis=0)

    coords = {"stimulus_id": np.asarray(stim_order, dtype=object)}
    coords.update(_gather_table(avg, "stimulus_id", STIMULUS_COORDS, stim_order, "stimulus"))
    coords["site"] = np.asarray(site_order, dtype=object)
    site_names = sorted({n for t in avg for n, c in t.coords.items() if c.dims == ("site",) and n != "site"})
    coords.update(_gather_table(avg, "site", site_names, site_order, "site"))
    if "time_bin" in avg[0].dims:
        for n, c in avg[0].coords.items():
            if c.dims == ("time_bin",):
                coords[n] = c
    coords["n_sessions"] = ("stimulus_id", n_sessions)

    if combine == "mean":
        w = reps.reshape(reps.shape + (1,) * (stack.ndim - 2)).astype(np.float64)
        valid = ~np.isnan(stack)
        wsum = np.where(valid, w, 0.0).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            data = np.where(wsum > 0, np.where(valid, stack * w, 0.0).sum(axis=0) / wsum, np.nan)
        dims = ("stimulus_id", "site") + avg[0].dims[2:]
        coords["n_repetitions"] = ("stimulus_id", reps.sum(axis=0))
    else:
        data = stack
        dims = ("session", "stimulus_id", "site") + avg[0].dims[2:]
        coords["session"] = np.asarray(names, dtype=object)
        coords["n_repetitions"] = (("session", "stimulus_id"), reps)

    common = {}
    for k, v in avg[0].attrs.items():
        if k in ("sessions", "dates", "session", "date"):
            continue
        if all(k in t.attrs and _jsonable(t.attrs[k]) == _jsonable(v) for t in avg[1:]):
            common[k] = v
    attrs = dict(common)
    attrs["sessions"] = names
    attrs["dates"] = sorted({str(d) for t in avg for d in np.atleast_1d(t.attrs.get("dates", []))})
    attrs["merge_sessions"] = {
        "sites": sites if isinstance(sites, str) else f"{len(site_order)} listed sites",
        "stimulus_order": "sorted" if stimuli is None else "given",
        "combine": combine,
        "n_sessions": len(avg),
    }
    missing = int(np.isnan(stack).all(axis=tuple(range(2, stack.ndim))).sum())
    log.info("merged %d sessions: %d stimuli × %d sites (%d session-stimulus rows NaN)",
             len(avg), len(stim_order), len(site_order), missing)
    return xr.DataArray(data, dims=dims, coords=coords, name=avg[0].name or "rate", attrs=attrs)
