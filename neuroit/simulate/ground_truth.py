"""The ground truth saved beside a simulated session, and :func:`load_ground_truth`.

``SESSION/ground_truth/`` holds::

    spikes.npz          CSR spike trains: samples (int64), units (int8), offsets (n_channels + 1),
                        channel_names, sampling_rate, unit amplitudes (µV, channel × unit)
    presentations.csv   one row per presentation (columns in :class:`GroundTruth`)
    trials.csv          trial, start_s, end_s, broken_fixation
    rates.npz           rate (site × stimulus, spikes/s), site, stimulus_id
    sites.csv           site, channel, array, port, region, status and the signal parameters
    stimuli.csv         the stimulus table
    clock.json          offset_us, drift_ppm, sampling_rate

The session's ``simulation.json`` holds every parameter (the ``params``).
"""
from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from neuroit._json import json_default
from neuroit.errors import FileFormatError

if TYPE_CHECKING:  # xarray is imported when a ground truth is loaded
    import xarray as xr

__all__ = ["GroundTruth", "load_ground_truth"]

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass
class GroundTruth:
    """Everything the simulator knows about a session.

    Attributes
    ----------
    spike_samples
        True spike (trough) sample indices per amplifier channel, sorted int64, in channel order.
    presentations
        One row per presentation in time order: presentation, trial, order_in_trial, stimulus_id,
        stimulus_index, image_file, repetition, fixation_correct (bool), mworks_time_us (onset, MWorks
        clock), offset_mworks_time_us, pulse_sample (TTL rising edge; -1 if the pulse is missing),
        photodiode_onset_sample (float, true start of the flash; -1 if the flash is missing),
        screen_onset_sample (float, when the image really appeared: the neural responses are locked
        to it), latency_ms (screen onset − TTL edge, ms), fault ("", "missing_pulse",
        "missing_flash", "extra_pulse", "extra_flash") and fault_sample (the spurious pulse or flash
        onset of an extra_* fault, else -1).
    rates
        DataArray (site × stimulus_id), the true mean rate in spikes/s over 70–170 ms after the
        screen onset (at the start of the session for drifting sites; unstable sites reshuffle
        their tuning every repetition).
    sites, stimuli, trials
        Tables as described in the module docstring.
    clock
        ``offset_us``, ``drift_ppm``, ``sampling_rate``: MWorks µs = Intan µs × (1 + drift_ppm·1e-6)
        + offset_us, with Intan µs = sample / sampling_rate · 1e6.
    params
        The session's ``simulation.json``.
    """

    spike_samples: list[np.ndarray]
    presentations: pd.DataFrame
    rates: xr.DataArray
    sites: pd.DataFrame
    stimuli: pd.DataFrame
    clock: dict
    params: dict
    trials: pd.DataFrame = field(default_factory=pd.DataFrame)
    spike_units: list[np.ndarray] = field(default_factory=list)
    channel_names: tuple[str, ...] = ()

    @property
    def sampling_rate(self) -> float:
        return float(self.clock["sampling_rate"])

    def mworks_to_sample(self, time_us) -> np.ndarray:
        """MWorks times (µs) → Intan sample positions (float)."""
        t = (np.asarray(time_us, dtype=np.float64) - self.clock["offset_us"]) / (1.0 + self.clock["drift_ppm"] * 1e-6)
        return t * 1e-6 * self.sampling_rate


def load_ground_truth(session_dir: str | os.PathLike) -> GroundTruth:
    """Load the ground truth of a session written by :func:`~neuroit.simulate.simulate_session`."""
    import xarray as xr

    session = Path(session_dir)
    gt = session / "ground_truth"
    if not gt.is_dir():
        raise FileFormatError(session, "has no ground_truth/ folder; is it a session written by neuroit simulate?")
    try:
        with np.load(gt / "spikes.npz") as z:
            samples, units, offsets = z["samples"], z["units"], z["offsets"]
            names = tuple(str(x) for x in z["channel_names"])
        with np.load(gt / "rates.npz") as z:
            rates = xr.DataArray(z["rate"], dims=("site", "stimulus_id"),
                                 coords={"site": z["site"].astype(str), "stimulus_id": z["stimulus_id"].astype(str)},
                                 name="rate", attrs={"units": "spikes/s", "window_ms": [70.0, 170.0]})
        pres = pd.read_csv(gt / "presentations.csv", keep_default_na=False,
                           dtype={"stimulus_id": str, "image_file": str, "fault": str})
        sites = pd.read_csv(gt / "sites.csv", keep_default_na=False)
        stimuli = pd.read_csv(gt / "stimuli.csv", keep_default_na=False, dtype=str)
        trials = pd.read_csv(gt / "trials.csv", keep_default_na=False)
        clock = json.loads((gt / "clock.json").read_text())
        params = json.loads((session / "simulation.json").read_text())
    except FileNotFoundError as exc:
        raise FileFormatError(session, f"ground truth is incomplete: {exc.filename} is missing.") from None
    stimuli["is_normalizer"] = stimuli["is_normalizer"].map({"True": True, "False": False})
    pres["fixation_correct"] = pres["fixation_correct"].astype(bool)
    trials["broken_fixation"] = trials["broken_fixation"].astype(bool)
    sites["flat"] = sites["flat"].astype(bool)
    rates = rates.assign_coords(
        object_label=("stimulus_id", stimuli["object_label"].to_numpy()),
        domain=("stimulus_id", stimuli["domain"].to_numpy()),
        is_normalizer=("stimulus_id", stimuli["is_normalizer"].to_numpy(bool)),
        status=("site", sites["status"].to_numpy()))
    spike_samples = [samples[offsets[i]:offsets[i + 1]] for i in range(len(names))]
    spike_units = [units[offsets[i]:offsets[i + 1]] for i in range(len(names))]
    return GroundTruth(spike_samples=spike_samples, presentations=pres, rates=rates, sites=sites,
                       stimuli=stimuli, clock=clock, params=params, trials=trials,
                       spike_units=spike_units, channel_names=names)


# ---------------------------------------------------------------------------------------
# deterministic writers (same inputs → same bytes)
# ---------------------------------------------------------------------------------------
def save_npz(path: Path, **arrays) -> None:
    """Like ``np.savez`` but with fixed zip timestamps, so identical arrays give identical bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())


def save_csv(path: Path, df: pd.DataFrame) -> None:
    df.to_csv(path, index=False, lineterminator="\n", float_format="%.12g")


def save_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, default=json_default) + "\n")
