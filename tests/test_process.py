"""neuroit process on simulated sessions: alignment vs ground truth, rates, cache, config, CLI."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neuroit.cli import main
from neuroit.errors import NeuroitError
from neuroit.events import align_to_photodiode, detect_digital_edges, detect_photodiode_onsets, read_presentations
from neuroit.process import ProcessConfig, process, process_session

FAULTS = {"missing_pulse": 3, "missing_flash": 3, "extra_pulse": 3, "extra_flash": 3}


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    from neuroit.simulate import default_stimuli, simulate_session

    st = default_stimuli(images_per_domain=1)
    st = pd.concat([st[st.is_normalizer], st[~st.is_normalizer].iloc[::7]]).reset_index(drop=True)
    root = tmp_path_factory.mktemp("sessions")
    # short screen latency so that the simulator's spurious flashes do not overlap the real ones
    return simulate_session(root / "monkey_2026-11-20", seed=3, n_arrays=2, channels_per_array=8, n_repetitions=8,
                            stimuli=st, faults=FAULTS, photodiode_latency_ms=2.0, refresh_hz=120.0,
                            clock_drift_ppm=45.0, clock_offset_us=123_456_789.0)


def test_alignment_recovers_ground_truth(session):
    from neuroit.io import read_intan
    from neuroit.simulate import load_ground_truth

    gt = load_ground_truth(session)
    g = gt.presentations
    rec = read_intan(session / "intan")
    pres = read_presentations(session / "mworks" / "session.mwk2", stimuli=gt.stimuli)
    for col in ("stimulus_id", "stimulus_index", "trial", "order_in_trial", "fixation_correct", "mworks_time_us"):
        np.testing.assert_array_equal(pres[col].to_numpy(), g[col].to_numpy(), err_msg=col)
    pulses, flashes = detect_digital_edges(rec), detect_photodiode_onsets(rec)
    out = align_to_photodiode(pres, pulses, flashes, sampling_rate=rec.sampling_rate)
    fault = g["fault"].to_numpy(dtype=object)
    expect = np.where(fault != "", fault, np.where(g["fixation_correct"], "", "broken_fixation"))
    reason = out["reason"].replace("late_flash", "").to_numpy(dtype=object)
    np.testing.assert_array_equal(reason, expect)  # every fault reported and dropped, nothing else
    assert (out["status"][expect != ""] == "dropped").all() and (expect == "broken_fixation").sum() > 0
    ok = (out["status"] != "dropped").to_numpy()
    err = out["onset_sample"].to_numpy()[ok] - g["photodiode_onset_sample"].to_numpy()[ok]
    assert np.all(np.abs(err) <= 2.0), np.abs(err).max()
    lat_err = out["photodiode_latency_ms"].to_numpy()[ok] - g["latency_ms"].to_numpy()[ok]
    assert np.all(np.abs(lat_err) <= 2 * 1000 / rec.sampling_rate)
    assert np.array_equal(out["pulse_sample"].to_numpy()[ok], g["pulse_sample"].to_numpy()[ok])
    clock = out.attrs["clock"]
    assert abs(clock["drift_ppm"] - 45.0) < 2.0
    assert abs(clock["offset_us"] - 123_456_789.0) < 500  # the TTL lags MWorks' log by 0.05-0.3 ms


def test_csv_log_gives_the_same_alignment(session, tmp_path):
    from neuroit.io import read_intan, write_presentation_log
    from neuroit.simulate import load_ground_truth

    gt = load_ground_truth(session)
    g = gt.presentations
    write_presentation_log(tmp_path / "log.csv", g.rename(columns={"mworks_time_us": "time_us"}))
    rec = read_intan(session / "intan")
    pulses, flashes = detect_digital_edges(rec), detect_photodiode_onsets(rec)
    a = align_to_photodiode(read_presentations(tmp_path / "log.csv", stimuli=gt.stimuli), pulses, flashes,
                            sampling_rate=rec.sampling_rate)
    b = align_to_photodiode(read_presentations(session / "mworks" / "session.mwk2"), pulses, flashes,
                            sampling_rate=rec.sampling_rate)
    for col in ("onset_sample", "reason", "stimulus_id"):
        np.testing.assert_array_equal(a[col].to_numpy(), b[col].to_numpy())


def test_rates_match_ground_truth(session, tmp_path):
    from neuroit.simulate import load_ground_truth
    from neuroit.tensor import average_repetitions

    rates, table = process_session(session, cache_dir=tmp_path, return_table=True)
    gt = load_ground_truth(session)
    assert rates.dims == ("presentation", "site") and rates.attrs["units"] == "spikes/s"
    assert rates.sizes["presentation"] == (table["status"] != "dropped").sum()
    assert set(rates["region"].values) == {"posterior", "central"}
    assert (rates["date"].values == "2026-11-20").all() and (rates["session"].values == session.name).all()
    assert rates["is_normalizer"].values.sum() > 0 and rates["fixation_correct"].values.all()
    avg = average_repetitions(rates)
    stable = gt.sites["status"].to_numpy() == "stable"
    a = avg.sel(site=list(gt.sites["channel"][stable])).transpose("site", "stimulus_id").values
    b = gt.rates.sel(site=list(gt.sites["site"][stable]), stimulus_id=avg["stimulus_id"].values)
    b = b.transpose("site", "stimulus_id").values
    per_site = [np.corrcoef(x, y)[0, 1] for x, y in zip(a, b)]
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] >= 0.95
    assert np.median(per_site) >= 0.9, per_site


def test_process_writes_summary_and_uses_cache(session, tmp_path):
    from neuroit.tensor import open_tensor

    copy = tmp_path / "inputs" / "monkey_2026-11-21"
    shutil.copytree(session, copy)
    out = tmp_path / "out" / "merged.nc"
    first = process([session, copy], out=out, progress=False)
    t = open_tensor(out)
    assert t.dims[:2] == ("stimulus_id", "site") and t.attrs["units"] == "z"
    assert t.attrs["sessions"] == [session.name, copy.name]
    assert len(t.attrs["inputs"]) > 10 and all(len(i["sha256"]) == 64 for i in t.attrs["inputs"])
    assert t.attrs["process"]["bin"]["window_ms"] == [70.0, 170.0]
    text = first.summary()
    assert "missing_pulse 3" in text and "photodiode latency" in text and "sites:" in text
    sites = pd.read_csv(out.with_name("merged.sites.csv"))
    assert list(sites["site"]) == list(first.sites["site"])
    assert (pd.read_csv(out.with_name("merged.presentations.csv"))["reason"] == "missing_flash").sum() == 6
    cache = out.with_name("merged.nc.cache")
    assert cache.is_dir() and not list(session.rglob("*.cache"))
    # re-run: every stage of every session comes from the cache
    again = process([session, copy], out=out, progress=False)
    assert all(all(s["cached"].values()) for s in again.sessions)
    np.testing.assert_array_equal(open_tensor(out).values, t.values)
    # interrupted run: the binned rates of one session lost; only that stage runs again
    for f in cache.glob(f"{copy.name}-*/rates-*.nc"):
        f.unlink()
    resumed = process([session, copy], out=out, progress=False)
    assert resumed.sessions[1]["cached"] == {"detect": True, "align": True, "bin": False}
    # a parameter change re-runs only the stages it affects
    cfg = ProcessConfig.from_dict({"bin": {"window_ms": [60, 160], "bin_ms": 20, "psth_ms": [-100, 300]}})
    changed = process([session], out=out, config=cfg, progress=False)
    assert changed.sessions[0]["cached"] == {"detect": True, "align": True, "bin": False}
    psth = open_tensor(out.with_name("merged.psth.nc"))
    assert psth.dims == ("stimulus_id", "site", "time_bin") and psth.sizes["time_bin"] == 20
    assert list(psth["site"].values) == list(changed.tensor["site"].values)
    window = psth.isel(time_bin=slice(8, 13)).mean("time_bin")  # 60-160 ms, spikes/s
    raw = process_session(session, config=cfg, cache_dir=cache)
    from neuroit.tensor import average_repetitions
    np.testing.assert_allclose(window.values, average_repetitions(raw).sel(site=psth["site"].values,
                                                                   stimulus_id=psth["stimulus_id"].values).values)
    # the simulator's dead and unstable sites are dropped, most stable ones kept
    from neuroit.simulate import load_ground_truth
    status = load_ground_truth(session).sites.set_index("channel")["status"]
    rep = first.sites.assign(status=status.loc[first.sites["electrode"]].to_numpy())
    assert not rep.loc[rep["status"].isin(["dead", "unstable"]), "kept"].any()
    assert rep.loc[rep["status"] == "stable", "kept"].mean() >= 0.75


def test_config_files(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text('[detect]\nthreshold = 4\nband = [250, 5000]\n[quality]\nexperiment_threshold = 0.5\n'
                    '[sites]\nanimal = "pico"\nregions = {A = "pIT"}\n')
    c = ProcessConfig.from_file(toml)
    assert c.detect.threshold == 4.0 and c.detect.band == (250.0, 5000.0) and c.quality.experiment_threshold == 0.5
    assert c.sites.regions == {"A": "pIT"} and c.align.window_ms == (0.0, 100.0)
    yml = tmp_path / "c.yaml"
    yml.write_text("align:\n  pulse_channel: DIGITAL-IN-03\nquality:\n  normalizer_threshold: null\n")
    c = ProcessConfig.from_file(yml)
    assert c.align.pulse_channel == "DIGITAL-IN-03" and c.quality.normalizer_threshold is None
    with pytest.raises(NeuroitError, match=r"unknown key\(s\) \['treshold'\]"):
        ProcessConfig.from_dict({"detect": {"treshold": 3}})
    with pytest.raises(NeuroitError, match=r"unknown section"):
        ProcessConfig.from_dict({"detection": {}})
    with pytest.raises(NeuroitError, match="threshold must be like 3.0"):
        ProcessConfig.from_dict({"detect": {"threshold": "high"}})
    with pytest.raises(NeuroitError, match="window_ms"):
        ProcessConfig.from_dict({"bin": {"window_ms": [70]}})
    bad = tmp_path / "bad.toml"
    bad.write_text("[detect\n")
    with pytest.raises(NeuroitError, match="bad.toml: cannot be parsed"):
        ProcessConfig.from_file(bad)


def test_cli(session, tmp_path, capsys):
    out = tmp_path / "cli.nc"
    cfg = tmp_path / "cfg.toml"
    cfg.write_text("[quality]\nn_splits = 20\n")
    assert main(["process", str(session), "--out", str(out), "--config", str(cfg), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "neuroit process: 1 session(s)" in text and "presentations:" in text and out.is_file()
    assert main(["process", str(tmp_path / "nope"), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("neuroit process: error:") and "\n" not in err
    assert main(["process", str(session), "--out", str(session / "x.nc"), "--no-progress"]) == 2
    assert "inside the input folder" in capsys.readouterr().err
    # once as a real command (all stages cached by the call above)
    exe = Path(sys.executable).with_name("neuroit")
    t0 = time.perf_counter()
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    res = subprocess.run([str(exe), "process", str(session), "--out", str(out), "--config", str(cfg),
                          "--no-progress"], capture_output=True, text=True, timeout=120, env=env)
    assert res.returncode == 0, res.stderr
    assert "cached: detect, align, bin" in res.stdout
    assert time.perf_counter() - t0 < 120


def test_separate_normalizer_session_of_the_same_day(session, tmp_path):
    from neuroit.quality import zscore_to_normalizer
    from neuroit.simulate import load_ground_truth, simulate_session
    from neuroit.tensor import merge_sessions

    normalizers = load_ground_truth(session).stimuli.query("is_normalizer").reset_index(drop=True)
    norm = simulate_session(tmp_path / "monkey_2026-11-20_normalizers", seed=4, n_arrays=2, channels_per_array=8,
                            n_repetitions=3, stimuli=normalizers)
    cfg = ProcessConfig.from_dict({"quality": {"normalizer_threshold": None, "experiment_threshold": None}})
    result = process([session, norm], out=tmp_path / "out.nc", config=cfg, progress=False)
    text = result.summary()
    assert "[normalizer session]" in text and f"z-scored to the normalizer session {norm.name}" in text
    assert result.tensor.attrs["sessions"] == [session.name]
    exp = process_session(session, cache_dir=tmp_path / "out.nc.cache")
    ref = process_session(norm, cache_dir=tmp_path / "out.nc.cache")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a dead channel has no normalizer SD
        z = zscore_to_normalizer(exp, reference=ref)
    expect = merge_sessions([z], stimuli=list(load_ground_truth(session).stimuli["stimulus_id"]))
    np.testing.assert_allclose(result.tensor.values, expect.values)
