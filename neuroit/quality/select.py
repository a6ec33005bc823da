"""Site selection: keep the sites whose responses are reliable, with a report of why."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import xarray as xr

from neuroit.errors import NeuroitError
from neuroit.quality._rules import DEFAULT_EXCLUDE
from neuroit.quality.reliability import split_half_reliability

log = logging.getLogger(__name__)


def select_sites(
    rates: xr.DataArray,
    *,
    normalizer_threshold: float | None = 0.75,
    experiment_threshold: float | None = 0.7,
    reference: xr.DataArray | None = None,
    normalizer="is_normalizer",
    exclude=DEFAULT_EXCLUDE,
    n_splits: int = 100,
    seed: int = 0,
    min_repetitions: int = 2,
) -> pd.DataFrame:
    """Decide which sites are stable: reliable on the normalizers in every session and on the experiment images.

    A site is kept when its split-half reliability (:func:`split_half_reliability`) on the
    normalizer images is above ``normalizer_threshold`` in *every* session, and its reliability on
    the experiment images (all sessions' presentations pooled, per image) is above
    ``experiment_threshold``. A threshold of ``None`` skips that criterion. When several days are
    pooled, pass z-scored rates (:func:`zscore_to_normalizer`) so the experiment reliability is not
    driven by day-to-day gain changes.

    Parameters
    ----------
    rates
        ``presentation × site`` rates (one or many sessions, ``session`` coordinate).
    reference
        Separate normalizer session(s) to compute the normalizer reliability on (default: the
        normalizer presentations within ``rates``).
    normalizer, exclude
        Normalizer rule and blank exclusion, as in :func:`zscore_to_normalizer`.
    n_splits, seed, min_repetitions
        Passed to :func:`split_half_reliability`.

    Returns
    -------
    pandas.DataFrame
        One row per site (the tensor's order): ``site``, the site coordinates (``electrode``,
        ``array``, ``region`` …), ``r_normalizer_<session>`` per session, ``r_normalizer_min``,
        ``r_experiment``, ``kept`` (bool) and ``reason`` (``"kept"`` or every failed criterion).
        ``report.attrs`` holds the parameters. Select with ``rates.sel(site=report.site[report.kept])``
        or pass the report as ``sites=`` to :func:`neuroit.tensor.merge_sessions`.
    """
    if not isinstance(rates, xr.DataArray) or "presentation" not in rates.dims or "site" not in rates.dims:
        raise NeuroitError("select_sites expects a presentation × site tensor (xarray.DataArray).")
    if "time_bin" in rates.dims:
        raise NeuroitError("select_sites expects window rates (presentation × site); got a time_bin dim — "
                           "bin with one window or average the time bins first.")
    kw = dict(n_splits=n_splits, seed=seed, min_repetitions=min_repetitions, normalizer=normalizer, exclude=exclude)
    sites = rates["site"].values.astype(str)
    report = pd.DataFrame({"site": sites})
    for c in ("electrode", "array", "port", "region", "animal"):
        if c in rates.coords and rates[c].dims == ("site",):
            report[c] = rates[c].values
    reasons = [[] for _ in sites]
    if normalizer_threshold is not None:
        src = rates if reference is None else reference.reindex(site=rates["site"].values)
        r_norm = split_half_reliability(src, images="normalizer", by_session=True, **kw)
        for s, name in enumerate(r_norm["session"].values):
            col = f"r_normalizer_{name}"
            report[col] = r_norm.values[s]
            for i, v in enumerate(r_norm.values[s]):
                if not v > normalizer_threshold:
                    reasons[i].append(f"r_normalizer {v:.2f} <= {normalizer_threshold} in session {name}"
                                      if np.isfinite(v) else f"r_normalizer undefined in session {name}")
        report["r_normalizer_min"] = np.min(r_norm.values, axis=0)  # NaN if any session is NaN
    if experiment_threshold is not None:
        r_exp = split_half_reliability(rates, images="experiment", by_session=False, **kw)
        report["r_experiment"] = r_exp.values[0]
        for i, v in enumerate(r_exp.values[0]):
            if not v > experiment_threshold:
                reasons[i].append(f"r_experiment {v:.2f} <= {experiment_threshold}" if np.isfinite(v)
                                  else "r_experiment undefined")
    report["kept"] = [not r for r in reasons]
    report["reason"] = ["kept" if not r else "; ".join(r) for r in reasons]
    report.attrs["select_sites"] = {
        "normalizer_threshold": normalizer_threshold, "experiment_threshold": experiment_threshold,
        "reference": reference is not None, "n_splits": n_splits, "seed": seed, "min_repetitions": min_repetitions,
    }
    log.info("select_sites: kept %d of %d sites", int(report["kept"].sum()), len(report))
    return report
