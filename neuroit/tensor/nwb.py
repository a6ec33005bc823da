"""NWB export (pynwb): electrodes, threshold-crossing spike times and presentations as trials.

Layout of the written file:

- ``/general/devices``: one device (``device_name``), one ``ElectrodeGroup`` per array
  (``array0``, ``array1``, …);
- electrodes table: one row per electrode, with columns ``location``, ``group``, ``site`` (neuroit
  site id), ``channel`` (amplifier channel, e.g. ``A-000``), ``array``, ``port``, ``region``;
- units table (when ``spike_trains`` is given): one unit per electrode with its threshold-crossing
  times in seconds on the recording clock, linked to its electrodes row;
- trials: one per presentation (sorted by onset), ``start_time`` = onset, ``stop_time`` = onset +
  ``stimulus_duration_ms``, columns ``stimulus_id``, ``image_file``, ``object_label``, ``domain``,
  ``is_normalizer``, ``fixation_correct``, ``repetition``, ``mworks_trial``, ``order_in_trial``,
  ``photodiode_latency_ms``, ``session`` (those the tensor has) and ``rate``: the presentation's
  rate per electrodes row (spikes/s, NaN for electrodes without a rate).
"""
from __future__ import annotations

import datetime as _dt
import logging
import os
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from neuroit._lazy import import_optional
from neuroit.errors import NeuroitError

log = logging.getLogger(__name__)

_TRIAL_COLUMNS = {
    "stimulus_id": "stimulus id (key into the stimulus set)",
    "image_file": "image file of the stimulus, relative to the stimulus set",
    "object_label": "object category of the image",
    "domain": "image domain (e.g. natural, sketch, silhouette)",
    "is_normalizer": "whether the image belongs to the normalizer set",
    "fixation_correct": "whether the animal held fixation during the presentation",
    "repetition": "repetition index of this image in the session",
    "trial": "MWorks trial number",
    "order_in_trial": "position of the presentation in its MWorks trial",
    "photodiode_latency_ms": "photodiode flash latency after the onset pulse (ms)",
    "session": "session name",
}
_RENAME = {"trial": "mworks_trial"}


def _electrode_table(rates: xr.DataArray, electrodes) -> pd.DataFrame:
    if electrodes is None:
        df = pd.DataFrame({"site": rates["site"].values.astype(str)})
        for c in ("electrode", "array", "port", "region", "animal"):
            if c in rates.coords and rates[c].dims == ("site",):
                df[c] = rates[c].values
    else:
        df = pd.DataFrame(electrodes).copy()
        if "electrode" not in df.columns and "channel" in df.columns:
            df = df.rename(columns={"channel": "electrode"})
    if "electrode" not in df.columns:
        if "site" not in df.columns:
            raise NeuroitError("The 'electrodes' table of to_nwb needs an 'electrode' (or 'channel') or 'site' column.")
        df["electrode"] = df["site"].astype(str)
    if "site" not in df.columns:
        df["site"] = df["electrode"].astype(str)
    df["array"] = df["array"].astype(int) if "array" in df.columns else 0
    df["port"] = df["port"].astype(str) if "port" in df.columns else df["electrode"].astype(str).str.split("-").str[0]
    df["region"] = df["region"].astype(str) if "region" in df.columns else "IT"
    if df["electrode"].duplicated().any():
        raise NeuroitError("The 'electrodes' table of to_nwb lists an electrode twice.")
    return df.reset_index(drop=True)


def _spike_source(spike_trains, sampling_rate):
    """(sampling_rate, {channel: samples}) from a SpikeTrains-like object or a dict."""
    if spike_trains is None:
        return sampling_rate, {}
    if isinstance(spike_trains, dict):
        if sampling_rate is None:
            raise NeuroitError("to_nwb: pass 'sampling_rate' when 'spike_trains' is a dict of sample arrays.")
        return sampling_rate, {str(k): np.asarray(v) for k, v in spike_trains.items()}
    fs = float(spike_trains.sampling_rate)
    return fs, {str(name): np.asarray(spike_trains[i]) for i, name in enumerate(spike_trains.channel_names)}


def to_nwb(
    rates: xr.DataArray | str | os.PathLike,
    path: str | os.PathLike,
    *,
    spike_trains=None,
    electrodes: pd.DataFrame | None = None,
    sampling_rate: float | None = None,
    stimulus_duration_ms: float = 100.0,
    session_start_time: _dt.datetime | None = None,
    subject: dict | None = None,
    device_name: str = "Utah arrays, Intan RHD recording system",
    session_description: str | None = None,
    identifier: str | None = None,
    metadata: dict | None = None,
) -> Path:
    """Write one session's presentations, electrodes and threshold crossings to an NWB file (atomic).

    Parameters
    ----------
    rates
        The session's ``presentation × site`` (× ``time_bin``) tensor (or the path of one saved
        with :func:`to_netcdf`), with ``onset_sample`` and the contract's presentation coords.
    path
        The ``.nwb`` file to write.
    spike_trains
        Threshold crossings: a :class:`neuroit.dsp.SpikeTrains` (channels matched to the electrodes
        by channel name) or a dict ``{channel: sample indices}`` (then give ``sampling_rate``).
    electrodes
        Electrode table (columns ``electrode`` or ``channel``, ``site``, ``array``, ``port``,
        ``region``), e.g. every channel of the arrays; default: the tensor's sites.
    sampling_rate
        Samples per second of ``onset_sample`` and the spike samples (default: the spike trains',
        else ``rates.attrs["sampling_rate"]``).
    stimulus_duration_ms
        Stimulus on time; a trial is [onset, onset + duration].
    session_start_time
        Default: midnight UTC of the ``date`` coordinate.
    subject
        Keyword arguments of ``pynwb.file.Subject`` (default: ``subject_id`` = the animal,
        species *Macaca mulatta*, sex ``U``). Give ``age`` (ISO 8601, e.g. ``"P7Y"``) or
        ``date_of_birth``; without either the age is written as the open range ``"P0D/"``
        ("unknown") and a warning is logged.
    metadata
        More ``NWBFile`` keyword arguments (``experimenter``, ``institution``, ``lab``,
        ``experiment_description``, ``keywords``, …).

    Returns the path written. The file passes ``nwbinspector`` without critical issues.
    """
    import_optional("pynwb", "nwb")
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.file import Subject

    from neuroit._atomic import atomic_path

    if isinstance(rates, (str, os.PathLike)):
        from neuroit.tensor.store import open_tensor

        rates = open_tensor(rates)
    if not isinstance(rates, xr.DataArray) or "presentation" not in rates.dims or "site" not in rates.dims:
        raise NeuroitError("to_nwb needs a presentation × site tensor of one session (or the path of one).")
    if "onset_sample" not in rates.coords:
        raise NeuroitError("to_nwb needs the 'onset_sample' presentation coordinate to place trials in time.")
    fs, trains = _spike_source(spike_trains, sampling_rate)
    fs = fs or rates.attrs.get("sampling_rate")
    if fs is None:
        raise NeuroitError("to_nwb: no sampling rate (pass 'sampling_rate' or spike trains, "
                           "or set attrs['sampling_rate']).")
    fs = float(fs)
    table = _electrode_table(rates, electrodes)
    rates = rates.transpose("presentation", "site", ...)
    sessions = sorted({str(s) for s in rates["session"].values}) if "session" in rates.coords else []
    if len(sessions) > 1:
        raise NeuroitError(f"to_nwb writes one session per file; the tensor holds {len(sessions)} ({sessions}).")
    session = sessions[0] if sessions else str(rates.attrs.get("session", "session"))
    if session_start_time is None:
        date = str(rates["date"].values[0]) if "date" in rates.coords else rates.attrs.get("date")
        if not date:
            raise NeuroitError("to_nwb: no 'date' coordinate; pass 'session_start_time'.")
        session_start_time = _dt.datetime.fromisoformat(date).replace(tzinfo=_dt.timezone.utc)
    animal = (str(table["animal"].iloc[0]) if "animal" in table.columns else "") or "unknown"
    subj = {"subject_id": animal, "species": "Macaca mulatta", "sex": "U",
            "description": "rhesus macaque implanted with Utah arrays in IT"}
    subj.update(subject or {})
    if "age" not in subj and "date_of_birth" not in subj:
        log.warning("to_nwb: no subject age or date_of_birth given; writing age 'P0D/' (unknown)")
        subj["age"] = "P0D/"
    from neuroit.tensor.store import neuroit_version

    nwb = NWBFile(
        session_description=session_description or f"neuroit export of session {session}: image presentations "
                                                   f"and IT threshold crossings",
        identifier=identifier or str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                f"neuroit/{animal}/{session}/{session_start_time}")),
        session_start_time=session_start_time,
        session_id=session,
        source_script=f"neuroit {neuroit_version()} (neuroit.tensor.to_nwb)",
        source_script_file_name="neuroit/tensor/nwb.py",
        subject=Subject(**subj),
        **{"keywords": ["macaque", "inferior temporal cortex", "Utah array", "object recognition"],
           "experiment_description": "Rapid serial visual presentation of images during fixation; "
                                     "multi-unit threshold crossings recorded in IT.",
           **(metadata or {})},
    )
    device = nwb.create_device(name="arrays", description=device_name)
    groups = {}
    for a in sorted(table["array"].unique()):
        regions = table.loc[table["array"] == a, "region"]
        groups[a] = nwb.create_electrode_group(
            name=f"array{a}", description=f"Utah array {a}", device=device,
            location=f"IT {regions.mode().iloc[0]}")
    for col, desc in (("site", "neuroit site id"), ("channel", "amplifier channel name"),
                      ("array", "array index"), ("port", "headstage port"),
                      ("region", "IT subdivision (posterior/central/anterior)")):
        nwb.add_electrode_column(name=col, description=desc)
    for _, row in table.iterrows():
        nwb.add_electrode(location=f"IT {row['region']}", group=groups[row["array"]], site=str(row["site"]),
                          channel=str(row["electrode"]), array=int(row["array"]), port=str(row["port"]),
                          region=str(row["region"]))
    if trains:
        from pynwb.misc import Units

        nwb.units = Units(name="units", resolution=1.0 / fs,
                          description="threshold crossings (multi-unit activity), one unit per electrode")
        nwb.add_unit_column(name="channel", description="amplifier channel of the threshold crossings")
        n_units = 0
        for i, row in table.iterrows():
            samples = trains.get(str(row["electrode"]))
            if samples is None:
                continue
            nwb.add_unit(spike_times=np.sort(samples) / fs, electrodes=[i], electrode_group=groups[row["array"]],
                         channel=str(row["electrode"]))
            n_units += 1
        if n_units == 0:
            raise NeuroitError("to_nwb: no spike train channel matches an electrode of the table.")

    order = np.argsort(rates["onset_sample"].values, kind="stable")
    start = rates["onset_sample"].values[order] / fs
    cols = [c for c in _TRIAL_COLUMNS if c in rates.coords and rates[c].dims == ("presentation",)]
    for c in cols:
        nwb.add_trial_column(name=_RENAME.get(c, c), description=_TRIAL_COLUMNS[c])
    pos = {s: j for j, s in enumerate(rates["site"].values.astype(str))}
    idx = np.array([pos.get(s, -1) for s in table["site"].astype(str)])
    vals = rates.values[order]
    rate = np.where((idx >= 0).reshape((1, -1) + (1,) * (vals.ndim - 2)),
                    vals[:, np.maximum(idx, 0)], np.nan)
    nwb.add_trial_column(name="rate", description=f"mean rate (spikes/s) per electrodes-table row in the window "
                                                  f"{rates.attrs.get('window_ms', '')} ms after onset; NaN: no rate")
    columns = {c: rates[c].values[order] for c in cols}
    for k in range(order.size):
        kw = {}
        for c in cols:
            v = columns[c][k]
            kw[_RENAME.get(c, c)] = v.item() if isinstance(v, np.generic) else v
        nwb.add_trial(start_time=float(start[k]), stop_time=float(start[k] + stimulus_duration_ms / 1000.0),
                      rate=rate[k], **kw)
    path = Path(path)
    with atomic_path(path, suffix=".nwb") as tmp:
        with NWBHDF5IO(tmp, "w") as io:
            io.write(nwb)
    log.info("wrote %s (%d trials, %d electrodes, %d units)", path, order.size, len(table), len(trains))
    return path
