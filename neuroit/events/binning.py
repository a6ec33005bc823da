"""Spike counts per presentation and site in windows after stimulus onset, as rates (spikes/s).

Bin edges are whole samples: an edge at ``t`` ms after the onset is the sample
``onset + round(t * fs / 1000)``, and a bin holds the spikes in ``[start, stop)``. The rate is
the count divided by the bin's exact duration in samples / fs, and the coordinates
``time_bin_start_ms`` / ``time_bin_stop_ms`` give those exact edges in ms.
Counting is one ``np.searchsorted`` of the (sorted) edges into each channel's sorted spike train:
cost O((spikes + presentations × edges) per channel), memory of the output only.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from neuroit.errors import NeuroitError

PRESENTATION_COORDS = (
    "stimulus_id", "image_file", "object_label", "domain", "is_normalizer", "repetition", "trial",
    "order_in_trial", "fixation_correct", "session", "date", "onset_sample", "photodiode_latency_ms",
    "presentation_number",
)
SITE_COORDS = ("electrode", "array", "port", "region", "animal")


def bin_edges(
    *, sampling_rate: float, window_ms=(70.0, 170.0), bin_ms: float | None = None, psth_ms=(-100.0, 300.0)
) -> np.ndarray:
    """Integer bin edges in samples relative to the onset.

    Without ``bin_ms``: the two edges of ``window_ms``. With ``bin_ms``: edges every ``bin_ms``
    from ``psth_ms[0]`` up to ``psth_ms[1]`` (the span must be a whole number of bins).
    """
    fs = float(sampling_rate)
    if bin_ms is None:
        w0, w1 = (float(v) for v in window_ms)
        if not w0 < w1:
            raise NeuroitError(f"The 'window_ms' parameter must be (start, stop) with start < stop; got {window_ms!r}.")
        ms = np.array([w0, w1])
    else:
        p0, p1 = (float(v) for v in psth_ms)
        if not (bin_ms > 0 and p0 < p1):
            raise NeuroitError(
                f"The 'bin_ms' parameter must be positive and 'psth_ms' a (start, stop) range; "
                f"got {bin_ms!r}, {psth_ms!r}."
            )
        nb = (p1 - p0) / bin_ms
        if abs(nb - round(nb)) > 1e-9:
            raise NeuroitError(
                f"The 'psth_ms' span {p1 - p0} ms must be a whole number of {bin_ms} ms bins; got {nb:g} bins."
            )
        ms = p0 + bin_ms * np.arange(round(nb) + 1)
    edges = np.rint(ms * fs / 1000.0).astype(np.int64)
    if np.any(np.diff(edges) <= 0):
        raise NeuroitError(f"Bins of {bin_ms} ms are shorter than one sample at {fs:g} Hz.")
    return edges


def count_spikes(spikes: np.ndarray, onsets: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts (n_onsets, n_edges - 1) of sorted ``spikes`` in ``[onset + edges[i], onset + edges[i+1])``."""
    q = onsets[:, None] + edges[None, :]
    pos = np.searchsorted(spikes, q.ravel(), side="left").reshape(q.shape)
    return np.diff(pos, axis=1)


def bin_counts(
    spike_trains,
    onsets,
    *,
    window_ms=(70.0, 170.0),
    bin_ms: float | None = None,
    psth_ms=(-100.0, 300.0),
    presentations: pd.DataFrame | None = None,
    sites: pd.DataFrame | None = None,
    sampling_rate: float | None = None,
):
    """Firing rates (spikes/s) per presentation and site after each onset.

    ``spike_trains``: a :class:`neuroit.dsp.SpikeTrains` (``st[i]`` sorted int64 samples,
    ``len``, ``channel_names``, ``sampling_rate``). ``onsets``: onset samples (int; e.g. the
    ``onset_sample`` column of :func:`align_to_photodiode`). Without ``bin_ms`` the result has
    dims ``("presentation", "site")`` and counts the window ``window_ms`` (70–170 ms); with
    ``bin_ms`` it has dims ``("presentation", "site", "time_bin")`` over ``psth_ms``.

    ``presentations`` (one row per onset) supplies presentation coordinates (those of
    :data:`PRESENTATION_COORDS` it has); ``sites`` (one row per channel, column ``site`` or
    ``electrode`` and any of :data:`SITE_COORDS`) the site coordinates — by default the
    channel names. Returns an ``xarray.DataArray`` named ``"rate"`` with the parameters in attrs.
    """
    import xarray as xr

    fs = float(sampling_rate if sampling_rate is not None else spike_trains.sampling_rate)
    on = np.asarray(onsets)
    if on.ndim != 1:
        raise NeuroitError(f"The onsets must be a 1-D array of samples; got shape {on.shape}.")
    if on.size and not np.all(np.isfinite(on.astype(np.float64))):
        raise NeuroitError("The onsets must be finite samples; drop presentations without an onset first.")
    if on.dtype.kind == "f":
        if on.size and np.any(on != np.rint(on)):
            raise NeuroitError("The onsets must be whole samples; round them (e.g. the 'onset_sample' column).")
    on = on.astype(np.int64)
    edges = bin_edges(sampling_rate=fs, window_ms=window_ms, bin_ms=bin_ms, psth_ms=psth_ms)
    n_ch = len(spike_trains)
    n_b = edges.size - 1
    counts = np.empty((on.size, n_ch, n_b), dtype=np.int64)
    for c in range(n_ch):
        counts[:, c, :] = count_spikes(np.asarray(spike_trains[c]), on, edges)
    dur_s = np.diff(edges) / fs
    rates = counts / dur_s[None, None, :]

    coords = {}
    if presentations is not None:
        if len(presentations) != on.size:
            raise NeuroitError(
                f"The presentation table has {len(presentations)} rows but {on.size} onsets were given."
            )
        for name in PRESENTATION_COORDS:
            if name in presentations and name != "onset_sample":
                coords[name] = ("presentation", presentations[name].to_numpy())
    coords["onset_sample"] = ("presentation", on)
    coords.update(_site_coords(spike_trains, sites))
    attrs = {
        "units": "spikes/s",
        "sampling_rate": fs,
        "window_ms": [float(v) for v in window_ms],
        "bin_edges_samples": edges.tolist(),
    }
    if bin_ms is None:
        data, dims = rates[:, :, 0], ("presentation", "site")
        attrs["window_samples"] = edges.tolist()
    else:
        data, dims = rates, ("presentation", "site", "time_bin")
        coords["time_bin_start_ms"] = ("time_bin", edges[:-1] * 1000.0 / fs)
        coords["time_bin_stop_ms"] = ("time_bin", edges[1:] * 1000.0 / fs)
        attrs.update(bin_ms=float(bin_ms), psth_ms=[float(v) for v in psth_ms])
    return xr.DataArray(data, dims=dims, coords=coords, name="rate", attrs=attrs)


def _site_coords(spike_trains, sites: pd.DataFrame | None) -> dict:
    names = np.asarray(list(spike_trains.channel_names), dtype=object)
    if sites is None:
        port = np.array([n.split("-")[0] if "-" in n else "" for n in names], dtype=object)
        return {"site": ("site", names), "electrode": ("site", names), "port": ("site", port)}
    if len(sites) != names.size:
        raise NeuroitError(f"The site table has {len(sites)} rows but the spike trains have {names.size} channels.")
    out = {}
    site = sites["site"].astype(str).to_numpy(dtype=object) if "site" in sites else names
    out["site"] = ("site", site)
    electrode = sites["electrode"].astype(str).to_numpy(dtype=object) if "electrode" in sites else names
    out["electrode"] = ("site", electrode)
    for name in SITE_COORDS[1:]:
        if name in sites:
            out[name] = ("site", sites[name].to_numpy())
    return out
