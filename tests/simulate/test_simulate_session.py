"""The simulator: files in the real formats, consistent with the ground truth it saves."""
from __future__ import annotations

import filecmp
import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import signal

from neuroit.errors import NeuroitError
from neuroit.io import read_intan, read_mwk2
from neuroit.simulate import default_stimuli, load_ground_truth, simulate_session

FAULTS = {"missing_pulse": 1, "missing_flash": 1, "extra_pulse": 1, "extra_flash": 1}


def _stimuli():
    stim = default_stimuli(images_per_domain=1, n_normalizers=3)
    keep = stim["is_normalizer"] | stim["domain"].isin(["hvm", "sketch"]) & stim["object_label"].isin(
        ["dog", "car", "zebra", "chair"])
    return stim[keep].reset_index(drop=True)


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "session"
    simulate_session(out, seed=3, n_arrays=2, channels_per_array=6, stimuli=_stimuli(), n_repetitions=3,
                     faults=FAULTS, p_broken_fixation=0.3, dead=0.15, drifting=0.1, unstable=0.1)
    return out, load_ground_truth(out)


def test_folder_layout(session):
    out, gt = session
    assert (out / "intan" / "info.rhd").is_file()
    names = {p.name for p in (out / "intan").iterdir()}
    assert {"amp-A-000.dat", "amp-B-005.dat", "board-ANALOG-IN-1.dat", "board-DIGITAL-IN-02.dat", "time.dat"} <= names
    assert (out / "mworks" / "session.mwk2").is_file()
    params = json.loads((out / "simulation.json").read_text())
    assert params["seed"] == 3 and params["neuroit_version"] and params["faults"] == FAULTS
    stim = pd.read_csv(out / "stimuli.csv", keep_default_na=False)
    assert list(stim.columns[:6]) == ["stimulus_id", "image_file", "object_label", "domain", "is_normalizer",
                                      "source_id"]
    assert gt.sites["site"].tolist() == [f"A-{i:03d}" for i in range(6)] + [f"B-{i:03d}" for i in range(6)]
    assert set(gt.sites["status"]) == {"stable", "dead", "drifting", "unstable"}
    assert gt.sites.groupby("array")["region"].first().tolist() == ["posterior", "central"]
    assert isinstance(gt.rates, xr.DataArray) and gt.rates.dims == ("site", "stimulus_id")
    assert len(gt.spike_samples) == len(gt.sites) == len(gt.channel_names)
    assert all(np.all(np.diff(s) >= 0) for s in gt.spike_samples)


def test_protocol(session):
    _, gt = session
    p = gt.presentations
    # every stimulus shown n_repetitions times with correct fixation; broken ones are shown again
    correct = p[p["fixation_correct"]].groupby("stimulus_id").size()
    assert (correct == 3).all() and len(correct) == len(gt.stimuli)
    assert (~p["fixation_correct"]).any()
    for _, trial in p.groupby("trial"):
        assert 1 <= len(trial) <= 10
        flags = trial.sort_values("order_in_trial")["fixation_correct"].to_numpy()
        assert np.all(np.diff(flags.astype(int)) <= 0)  # once broken, broken for the rest of the trial
    on = np.diff(p["mworks_time_us"].to_numpy())
    assert on.min() >= 199_000  # 100 ms on + 100 ms off (MWorks clock drifts by ppm only)
    assert (p["offset_mworks_time_us"] - p["mworks_time_us"]).between(99_990, 100_010).all()


def test_mworks_events_match_ground_truth(session):
    out, gt = session
    p = gt.presentations
    ev = read_mwk2(out / "mworks" / "session.mwk2")
    presented = ev[ev["name"] == "stimulus_presented"]
    assert len(presented) == len(p)
    assert presented["value"].tolist() == p["stimulus_index"].tolist()
    assert presented["time_us"].tolist() == p["mworks_time_us"].tolist()
    fix = ev[ev["name"] == "correct_fixation"]
    assert fix["value"].astype(bool).tolist() == p["fixation_correct"].tolist()
    assert (fix["time_us"].to_numpy() > p["offset_mworks_time_us"].to_numpy()).all()
    upd = ev[ev["name"] == "#stimDisplayUpdate"]
    images = [(t, d) for t, v in zip(upd["time_us"], upd["value"]) for d in v if d.get("type") == "image"]
    assert [t for t, _ in images] == p["mworks_time_us"].tolist()
    assert [d["name"] for _, d in images] == p["stimulus_id"].tolist()
    assert [d["filename"] for _, d in images] == p["image_file"].tolist()
    assert ev.loc[ev["name"] == "trial_start_line", "value"].tolist() == gt.trials["trial"].tolist()
    assert ev.loc[ev["name"] == "stim_on_time", "value"].tolist() == [100000]
    assert ev.loc[ev["name"] == "stim_on_delay", "value"].tolist() == [300000]
    # MWorks clock → Intan samples: the TTL leaves 0.05–0.3 ms after MWorks logs the onset
    ok = p["pulse_sample"] >= 0
    lag = p.loc[ok, "pulse_sample"] - gt.mworks_to_sample(p.loc[ok, "mworks_time_us"])
    assert lag.between(0.05e-3 * 20000 - 1, 0.3e-3 * 20000 + 1).all()


def test_ttl_and_photodiode_in_the_intan_files(session):
    out, gt = session
    p = gt.presentations
    rec = read_intan(out / "intan")
    assert rec.n_samples == gt.params["n_samples"]
    ttl = rec.traces("digital_in", channels=["DIGITAL-IN-02"])[:, 0]
    edges = np.flatnonzero(np.diff(ttl) > 0) + 1
    expected = np.sort(np.concatenate([p.loc[p["pulse_sample"] >= 0, "pulse_sample"],
                                       p.loc[p["fault"] == "extra_pulse", "fault_sample"]]))
    np.testing.assert_array_equal(edges, expected)
    assert (p["fault"] != "").sum() == 4 and (p.loc[p["fault"] == "missing_pulse", "pulse_sample"] == -1).all()
    # photodiode: one flash per shown image (but the missing one) plus the extra one
    v = rec.traces("adc", channels=["ANALOG-IN-1"])[:, 0]
    mid = (np.percentile(v, 1) + v.max()) / 2
    rises = np.flatnonzero((v[1:] > mid) & (v[:-1] <= mid)) + 1
    flashes = np.sort(np.concatenate([p.loc[p["photodiode_onset_sample"] >= 0, "photodiode_onset_sample"],
                                      p.loc[p["fault"] == "extra_flash", "fault_sample"]]))
    assert len(rises) == len(flashes)
    # 50 % of an exponential rise of 0.8 ms is reached 0.55 ms (11 samples) after the true onset
    np.testing.assert_allclose(rises - flashes, 11, atol=3)
    ok = (p["pulse_sample"] >= 0) & (p["photodiode_onset_sample"] >= 0)
    lat = (p.loc[ok, "photodiode_onset_sample"] - p.loc[ok, "pulse_sample"]) / 20.0
    np.testing.assert_allclose(lat, p.loc[ok, "latency_ms"], atol=1e-6)
    assert p["latency_ms"].between(19, 56).all()


def test_spikes_follow_the_rates(session):
    out, gt = session
    p = gt.presentations
    fs = gt.sampling_rate
    onsets = p["screen_onset_sample"].to_numpy()
    lo, hi = onsets + 0.070 * fs, onsets + 0.170 * fs
    stim_idx = p["stimulus_index"].to_numpy()
    stable = np.flatnonzero((gt.sites["status"] == "stable").to_numpy())
    assert stable.size >= 4
    for s in stable:
        st = gt.spike_samples[s]
        counts = np.searchsorted(st, hi) - np.searchsorted(st, lo)
        expected = gt.rates.values[s, stim_idx] * 0.1
        assert abs(counts.sum() / expected.sum() - 1) < 0.2
        pre = np.searchsorted(st, onsets) - np.searchsorted(st, onsets - 0.1 * fs)  # 100 ms before each onset
        assert pre.sum() < counts.sum()
    for s in np.flatnonzero((gt.sites["status"] == "dead").to_numpy()):
        assert len(gt.spike_samples[s]) == 0 and (gt.rates.values[s] == 0).all()


def test_waveforms_in_the_amplifier_data(session):
    out, gt = session
    rec = read_intan(out / "intan")
    sos = signal.butter(2, [300, 6000], btype="band", fs=gt.sampling_rate, output="sos")
    sites = gt.sites
    for s in range(len(sites)):
        x = rec.traces("amplifier", channels=[s])[:, 0]
        if sites["flat"].iat[s]:
            assert not x.any()
            continue
        y = signal.sosfiltfilt(sos, x)
        noise = np.median(np.abs(y)) / 0.6745
        assert 3 < noise < 15  # µV, as set per site
        st = gt.spike_samples[s]
        if len(st):
            st = st[(st > 100) & (st < len(y) - 100)]
            assert np.mean(y[st] < -4 * noise) > 0.9  # spike troughs stand well above the noise
        else:
            assert np.mean(y < -6 * noise) < 1e-4  # noise only
        # 60 Hz line noise is there
        f, pxx = signal.welch(x[: 4 * 20000], fs=gt.sampling_rate, nperseg=20000)
        assert pxx[60] > 5 * np.median(pxx[50:70])


def test_neo_reads_the_session(session):
    neo = pytest.importorskip("neo")
    out, gt = session
    raw = neo.rawio.IntanRawIO(filename=str(out / "intan" / "info.rhd"))
    raw.parse_header()
    n = raw.get_signal_size(block_index=0, seg_index=0, stream_index=0)
    assert n == gt.params["n_samples"]
    chunk = raw.get_analogsignal_chunk(block_index=0, seg_index=0, i_start=0, i_stop=2000, stream_index=0)
    ours = read_intan(out / "intan").traces("amplifier", 0, 2000, scaled=False)
    np.testing.assert_array_equal(np.asarray(chunk).astype(np.int64) % 65536, ours.astype(np.int64) % 65536)


def test_deterministic(tmp_path):
    kw = dict(n_arrays=1, channels_per_array=3, duration_s=4.0, faults={"extra_flash": 1})
    a = simulate_session(tmp_path / "a", seed=11, **kw)
    b = simulate_session(tmp_path / "b", seed=11, **kw)
    c = simulate_session(tmp_path / "c", seed=12, **kw)
    files = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file())
    assert files == sorted(str(p.relative_to(b)) for p in b.rglob("*") if p.is_file())
    for f in files:
        assert filecmp.cmp(a / f, b / f, shallow=False), f
    assert not filecmp.cmp(a / "intan" / "amp-A-000.dat", c / "intan" / "amp-A-000.dat", shallow=False)
    assert not filecmp.cmp(a / "mworks" / "session.mwk2", c / "mworks" / "session.mwk2", shallow=False)


def test_layouts_custom_stimuli_and_rates(tmp_path):
    stim = _stimuli().rename(columns={"image_file": "image_path"})
    stim["image_path"] = "/data/images/" + stim["image_path"]
    rng = np.random.default_rng(0)
    sites = [f"A-{i:03d}" for i in range(2)] + [f"B-{i:03d}" for i in range(2)]
    rates = xr.DataArray(rng.uniform(0, 80, (len(sites), len(stim))), dims=("site", "stimulus_id"),
                         coords={"site": sites, "stimulus_id": stim["stimulus_id"]})
    for layout in ("per_signal", "traditional"):
        out = simulate_session(tmp_path / layout, seed=1, n_arrays=2, channels_per_array=2, layout=layout,
                               stimuli=stim, rates=rates, duration_s=4.5, dead=0, drifting=0, unstable=0)
        gt = load_ground_truth(out)
        np.testing.assert_allclose(gt.rates.values, rates.values)
        assert gt.stimuli["image_file"].iat[0] == stim["image_path"].iat[0].rsplit("/", 1)[1]
        path = out / "intan" / ("session.rhd" if layout == "traditional" else "")
        rec = read_intan(path)
        assert rec.n_samples == gt.params["n_samples"] and rec.channel_names["amplifier"] == tuple(sites)
        assert gt.params["duration_s_actual"] <= 4.5


def test_bad_parameters(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("keep me")
    with pytest.raises(NeuroitError, match="not empty"):
        simulate_session(tmp_path / "full", duration_s=4)
    assert (tmp_path / "full" / "x").read_text() == "keep me"
    for kwargs, match in [({"n_arrays": 0}, "n_arrays"), ({"channels_per_array": 200}, "channels_per_array"),
                          ({"layout": "zip"}, "layout"), ({"duration_s": 1.0}, "too short"),
                          ({"faults": {"typo": 1}}, "Unknown fault"), ({"rates": np.ones((2, 2))}, "rates"),
                          ({"stimuli": pd.DataFrame({"stimulus_id": ["a"]})}, "image_file"),
                          ({"stimuli": pd.DataFrame({"stimulus_id": ["a"], "image_file": ["a.png"]})}, "missing column")]:
        with pytest.raises(NeuroitError, match=match):
            simulate_session(tmp_path / "new", duration_s=kwargs.pop("duration_s", 4), **kwargs)
    assert not (tmp_path / "new").exists()
