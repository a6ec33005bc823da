"""Normalizer z-scoring: put each site and session on the scale of its responses to the normalizer images."""
from __future__ import annotations

import logging
import warnings

import numpy as np
import xarray as xr

from neuroit.errors import NeuroitError
from neuroit.quality._rules import (
    DEFAULT_EXCLUDE, _stim_dim, date_labels, describe_rule, excluded_mask, normalizer_mask, session_labels,
)

log = logging.getLogger(__name__)


def _image_means(x: np.ndarray, ids: np.ndarray) -> np.ndarray:
    uniq, codes = np.unique(ids, return_inverse=True)
    out = np.full((uniq.size,) + x.shape[1:], np.nan)
    for i in range(uniq.size):  # loop over images only (tens); sites stay vectorised
        sel = x[codes == i]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out[i] = np.nanmean(sel, axis=0)
    return out


def _reference_rows(rates, reference, session: str, rows: np.ndarray):
    """The part of ``reference`` that normalizes ``session`` of ``rates`` (same date, else the only one)."""
    ref_sessions = session_labels(reference)
    if session in set(ref_sessions):
        return reference.isel({_stim_dim(reference): np.flatnonzero(ref_sessions == session)})
    dates, ref_dates = date_labels(rates), date_labels(reference)
    if dates is not None and ref_dates is not None:
        day = dates[rows][0]
        sel = np.flatnonzero(ref_dates == day)
        if sel.size == 0:
            raise NeuroitError(f"zscore_to_normalizer: the reference has no normalizer session on {day} "
                               f"(the date of session {session!r}).")
        return reference.isel({_stim_dim(reference): sel})
    if len(set(ref_sessions)) == 1:
        return reference
    raise NeuroitError("zscore_to_normalizer: cannot match reference sessions to sessions (no common session "
                       "names or 'date' coordinates); pass one reference session per call.")


def zscore_to_normalizer(
    rates: xr.DataArray,
    *,
    normalizer="is_normalizer",
    exclude=DEFAULT_EXCLUDE,
    reference: xr.DataArray | None = None,
    across: str = "presentations",
    ddof: int = 1,
    zero_sd: str = "nan",
) -> xr.DataArray:
    """Z-score each site, per session, by its responses to the normalizer images.

    For every session (``session`` coordinate) and site: subtract the mean and divide by the
    standard deviation of the site's responses to that session's normalizer images, then apply the
    same transform to all of the session's responses (normalizers included), so days can be pooled.

    Parameters
    ----------
    rates
        ``presentation × site [× time_bin]`` rates (or an image-level ``stimulus_id × site`` tensor of one session).
    normalizer
        Which images are normalizers (see :func:`neuroit.quality._rules.normalizer_mask`): default
        the ``is_normalizer`` coordinate (images under the stimulus set's ``normalizers`` folder);
        a compiled regex on ``image_file``; a collection of stimulus ids; or a callable on the coordinates.
    exclude
        Images left out of the statistics, e.g. the grey/blank image: regular expressions searched,
        case-insensitively, in stimulus id, object label and image file name (default ``("blank",
        "gr[ae]y")``), a callable, or ``None``.
    reference
        A separate normalizer session (same day) to take the statistics from instead of ``rates``;
        matched by session name, else by ``date``, else used for all if it holds one session.
    across
        ``"presentations"`` (default): mean and SD over every presentation of the normalizer images;
        ``"images"``: over the per-image mean responses.
    ddof
        Delta degrees of freedom of the SD (1: sample SD).
    zero_sd
        A site whose normalizer SD is 0 (or that has no normalizer data): ``"nan"`` (default) sets
        its values in that session to NaN and warns; ``"drop"`` removes the site; ``"raise"`` errors.

    Returns
    -------
    xarray.DataArray
        Same dims and coords, unit ``"z"``; the parameters and the number of normalizer images and
        presentations per session are in ``attrs["zscore_to_normalizer"]``.
    """
    if across not in ("presentations", "images"):
        raise NeuroitError(f"The 'across' parameter of zscore_to_normalizer must be 'presentations' or 'images'; "
                           f"got {across!r}.")
    if zero_sd not in ("nan", "drop", "raise"):
        raise NeuroitError(f"The 'zero_sd' parameter of zscore_to_normalizer must be 'nan', 'drop' or 'raise'; "
                           f"got {zero_sd!r}.")
    if not isinstance(rates, xr.DataArray) or "site" not in rates.dims:
        raise NeuroitError("zscore_to_normalizer expects an xarray.DataArray with a 'site' dim.")
    if "session" in rates.dims:
        raise NeuroitError("zscore_to_normalizer works on one tensor per session or on presentation-level "
                           "tensors with a 'session' coordinate; got a stacked 'session' dim.")
    dim = _stim_dim(rates)
    if reference is not None:
        if not isinstance(reference, xr.DataArray) or "site" not in reference.dims:
            raise NeuroitError("The 'reference' of zscore_to_normalizer must be a tensor with a 'site' dim.")
        reference = reference.reindex(site=rates["site"].values)  # sites matched by id; absent ones are NaN
        reference = reference.transpose(_stim_dim(reference), "site", ...)
    rates = rates.transpose(dim, "site", ...)
    sessions = session_labels(rates)
    out = rates.values.astype(np.float64, copy=True)
    bad_sites: set[int] = set()
    stats = {}
    for session in dict.fromkeys(sessions):  # first-appearance order
        rows = np.flatnonzero(sessions == session)
        src = rates.isel({dim: rows}) if reference is None else _reference_rows(rates, reference, session, rows)
        mask = normalizer_mask(src, normalizer, missing_ok=reference is not None) & ~excluded_mask(src, exclude)
        if not mask.any():
            raise NeuroitError(f"zscore_to_normalizer: session {session!r} has no normalizer images under the rule "
                               f"{describe_rule(normalizer)} (after excluding blanks); check the 'normalizer' rule.")
        x = src.values[mask].astype(np.float64)
        ids = src["stimulus_id"].values[mask].astype(str)
        if across == "images":
            x = _image_means(x, ids)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mu = np.nanmean(x, axis=0)
            sd = np.nanstd(x, axis=0, ddof=ddof)
        zero = ~(sd > 0)
        if zero.any():
            zsites = np.flatnonzero(zero.reshape(zero.shape[0], -1).any(axis=1))
            names = [str(s) for s in rates["site"].values[zsites]]
            if zero_sd == "raise":
                raise NeuroitError(f"zscore_to_normalizer: {len(names)} site(s) have normalizer SD 0 in session "
                                   f"{session!r} (e.g. {names[0]!r}).")
            if zero_sd == "nan":
                warnings.warn(f"zscore_to_normalizer: {len(names)} site(s) have normalizer SD 0 or no normalizer "
                              f"data in session {session!r} ({', '.join(names[:5])}{' …' if len(names) > 5 else ''}); "
                              f"their z-scores are NaN.", RuntimeWarning, stacklevel=2)
            bad_sites.update(zsites.tolist())
            sd = np.where(zero, np.nan, sd)
        out[rows] = (out[rows] - mu) / sd
        stats[str(session)] = {"n_normalizer_images": int(np.unique(ids).size),
                               "n_normalizer_presentations": int(mask.sum())}
        log.info("session %s: z-scored to %d normalizer images", session, np.unique(ids).size)
    result = rates.copy(data=out)
    attrs = dict(rates.attrs)
    attrs["zscore_to_normalizer"] = {
        "normalizer": describe_rule(normalizer),
        "exclude": describe_rule(exclude) if callable(exclude) or exclude is None else list(
            p.pattern if hasattr(p, "pattern") else p for p in ([exclude] if isinstance(exclude, str) else exclude)),
        "reference": reference is not None, "across": across, "ddof": ddof, "zero_sd": zero_sd,
        "units_in": rates.attrs.get("units", ""), "sessions": stats,
    }
    attrs["units"] = "z"
    result.attrs = attrs
    if zero_sd == "drop" and bad_sites:
        keep = np.setdiff1d(np.arange(rates.sizes["site"]), sorted(bad_sites))
        log.info("dropping %d site(s) with normalizer SD 0", len(bad_sites))
        result = result.isel(site=keep)
    return result
