"""Alignment on synthetic event trains with a known clock, faults and photodiode traces."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuroit.errors import NeuroitError
from neuroit.events import (
    align_to_photodiode,
    detect_digital_edges,
    detect_photodiode_onsets,
    estimate_levels,
    fit_clock,
)
from neuroit.io import NumpyRecording

FS = 20000.0


def make_events(n=120, *, drift_ppm=40.0, offset_us=12_345_678, seed=0):
    """Presentations (MWorks µs), true pulses and flashes (Intan samples)."""
    rng = np.random.default_rng(seed)
    gaps = np.where(rng.random(n) < 0.15, rng.uniform(0.7, 1.4, n), 0.2)  # irregular trial gaps
    t_s = 1.0 + np.cumsum(gaps)
    pulses = np.round((t_s + rng.uniform(0.05e-3, 0.3e-3, n)) * FS).astype(np.int64)
    lat_ms = rng.uniform(8, 30, n)
    flashes = np.round(pulses + lat_ms * FS / 1000).astype(np.int64)
    mworks = np.round(t_s * 1e6 * (1 + drift_ppm * 1e-6) + offset_us).astype(np.int64)
    pres = pd.DataFrame({"mworks_time_us": mworks, "fixation_correct": rng.random(n) > 0.1,
                         "stimulus_id": [f"im{k % 7}" for k in range(n)]})
    return pres, pulses, flashes, (flashes - pulses) * 1000 / FS


def test_clean_alignment_recovers_onsets_and_clock():
    pres, pulses, flashes, lat = make_events(drift_ppm=80.0)
    out = align_to_photodiode(pres, pulses, flashes, sampling_rate=FS, exclude_broken_fixation=False)
    assert (out["status"] == "ok").all()
    np.testing.assert_array_equal(out["onset_sample"], flashes)
    np.testing.assert_array_equal(out["pulse_sample"], pulses)
    np.testing.assert_allclose(out["photodiode_latency_ms"], lat)
    clock = out.attrs["clock"]
    assert abs(clock["drift_ppm"] - 80.0) < 2.0
    assert abs(clock["offset_us"] - 12_345_678) < 400  # pulses lag MWorks by 0.05-0.3 ms
    assert clock["n_matched"] == len(pres)


def test_faults_are_dropped_exactly_never_shifted():
    pres, pulses, flashes, _ = make_events(n=150, seed=1)
    pulses, flashes = pulses.copy(), flashes.copy()
    miss_p, miss_f, extra_p, extra_f, late = 10, 40, 70, 100, 120
    extra_pulse = pulses[extra_p] + int(0.13 * FS)
    extra_flash = pulses[extra_f] + int(0.135 * FS)
    flashes[late] = pulses[late] + int(0.06 * FS)  # 60 ms: kept with a warning
    keep_p = np.ones(pulses.size, bool)
    keep_p[miss_p] = False
    keep_f = np.ones(flashes.size, bool)
    keep_f[miss_f] = False
    p = np.sort(np.r_[pulses[keep_p], extra_pulse, 10 * FS * 1000])  # plus one far-away stray pulse
    f = np.sort(np.r_[flashes[keep_f], extra_flash])
    with pytest.warns(UserWarning, match="latency above 40"):
        out = align_to_photodiode(pres, p, f, sampling_rate=FS, exclude_broken_fixation=False)
    reasons = out["reason"].to_numpy()
    expect = np.full(len(pres), "", dtype=object)
    expect[[miss_p, miss_f, extra_p, extra_f]] = ["missing_pulse", "missing_flash", "extra_pulse", "extra_flash"]
    expect[late] = "late_flash"
    np.testing.assert_array_equal(reasons, expect)
    assert out["status"].iat[late] == "warning"
    ok = out["status"] != "dropped"
    np.testing.assert_array_equal(out["onset_sample"][ok], flashes[ok.to_numpy()])
    assert (out["onset_sample"].to_numpy()[[miss_p, miss_f]] == -1).all()
    assert out["onset_sample"].iat[extra_p] == flashes[extra_p]  # measured, but dropped
    assert int(10 * FS * 1000) in out.attrs["unmatched_pulses"]


def test_latency_out_of_range_and_broken_fixation():
    pres, pulses, flashes, _ = make_events(n=60, seed=2)
    flashes = flashes.copy()
    flashes[5] = pulses[5] + int(0.15 * FS)
    out = align_to_photodiode(pres, pulses, flashes, sampling_rate=FS)
    assert out["reason"].iat[5] == "latency_out_of_range"
    assert out["onset_sample"].iat[5] == -1
    assert out["photodiode_latency_ms"].iat[5] == pytest.approx(150.0)
    broken = ~pres["fixation_correct"].to_numpy()
    broken[5] = False
    assert (out["reason"].to_numpy()[broken] == "broken_fixation").all()
    assert broken.sum() > 0


def test_clock_fit_with_offset_recording_start_and_missing_head():
    pres, pulses, flashes, _ = make_events(n=200, drift_ppm=-150.0, seed=3)
    # Intan started late: the first 30 presentations have no pulses at all
    fit = fit_clock(pres["mworks_time_us"].to_numpy(), pulses[30:], sampling_rate=FS)
    assert abs(fit["drift_ppm"] + 150.0) < 3.0
    assert fit["n_matched"] == 170
    assert (fit["pulse_index"][:30] == -1).all()


def test_fit_clock_refuses_unrelated_pulses():
    pres, _, _, _ = make_events(n=50)
    rng = np.random.default_rng(0)
    with pytest.raises(NeuroitError, match="Cannot match"):
        fit_clock(pres["mworks_time_us"].to_numpy(), np.sort(rng.integers(0, 10**7, 8)), sampling_rate=FS)


def _pd_trace(onsets, n, *, rng, amp=3.0, dur=2000, rise=6, flicker=False):
    x = 0.2 + rng.normal(0, 0.02, n)
    ramp = np.clip(np.arange(dur) / rise, 0, 1)
    for o in onsets:
        seg = amp * ramp
        if flicker:  # screen refresh ripple dipping to the low level every 16.7 ms
            seg = seg * (1 - 0.9 * ((np.arange(dur) % 334) > 320))
        x[o:o + dur] += seg[: n - o]
    return x


def test_photodiode_onsets_chunked_levels_and_hysteresis():
    rng = np.random.default_rng(4)
    n = 400_000
    onsets = np.sort(rng.choice(np.arange(1000, n - 3000, 4000), 60, replace=False)) + rng.integers(0, 50, 60)
    x = _pd_trace(onsets, n, rng=rng, flicker=True)
    dig = np.zeros((n, 2), np.uint16)
    for o in onsets:
        dig[o - 200:o - 100, 1] = 1
    rec = NumpyRecording({"amplifier": np.zeros((n, 1), np.int16), "adc": x[:, None], "digital_in": dig},
                         sampling_rate=FS,
                         channel_names={"adc": ["ANALOG-IN-1"], "digital_in": ["DIGITAL-IN-01", "DIGITAL-IN-02"]})
    full = detect_photodiode_onsets(rec)
    chunked = detect_photodiode_onsets(rec, chunk_s=0.37)  # chunk edges fall inside flashes
    np.testing.assert_array_equal(full, chunked)
    # onset = first sample at or above 5% of the span (1 sample into a 6-sample linear rise)
    assert full.size == onsets.size and np.all(np.abs(full - (onsets + 1)) <= 1)
    mid = detect_photodiode_onsets(rec, onset_fraction=0.5)
    assert np.all(np.abs(mid - (onsets + 3)) <= 1)
    sub = detect_photodiode_onsets(rec, subsample=True, chunk_s=0.5)
    assert np.all(np.abs(sub - (onsets + 0.3)) <= 1.0)
    edges = detect_digital_edges(rec, chunk_s=0.29)
    np.testing.assert_array_equal(edges, onsets - 200)
    neg = NumpyRecording({"adc": -x[:, None]}, sampling_rate=FS, channel_names={"adc": ["ANALOG-IN-1"]})
    np.testing.assert_array_equal(detect_photodiode_onsets(neg, polarity="negative"), full)


def test_photodiode_without_flashes_warns_and_returns_nothing():
    rng = np.random.default_rng(5)
    rec = NumpyRecording({"adc": rng.normal(0, 0.01, (50_000, 1))}, sampling_rate=FS,
                         channel_names={"adc": ["ANALOG-IN-1"]})
    with pytest.warns(UserWarning, match="no flashes"):
        assert detect_photodiode_onsets(rec).size == 0


def test_estimate_levels_ignores_duty_cycle():
    rng = np.random.default_rng(6)
    for duty in (0.05, 0.5, 0.9):
        x = np.where(rng.random(100_000) < duty, 5.0, 1.0) + rng.normal(0, 0.05, 100_000)
        low, high, noise = estimate_levels(x)
        assert abs(low - 1.0) < 0.01 and abs(high - 5.0) < 0.01 and 0.03 < noise < 0.07


from hypothesis import example, given, settings  # noqa: E402
from hypothesis import strategies as hst  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(drift=hst.floats(-300, 300), offset=hst.integers(-10**12, 10**12), seed=hst.integers(0, 2**16),
       n_missing_p=hst.integers(0, 4), n_missing_f=hst.integers(0, 4), n_stray=hst.integers(0, 4))
# a pulse missing in the first block: clock seeds shifted by whole presentations line up more pairs there
@example(drift=0.0, offset=0, seed=80, n_missing_p=1, n_missing_f=2, n_stray=0)
@example(drift=0.0, offset=0, seed=676, n_missing_p=1, n_missing_f=0, n_stray=0)
def test_alignment_properties(drift, offset, seed, n_missing_p, n_missing_f, n_stray):
    """Whatever the clock and the faults: kept onsets are the true ones, faults dropped exactly, no shifts."""
    pres, pulses, flashes, lat = make_events(n=80, drift_ppm=drift, offset_us=offset, seed=seed)
    rng = np.random.default_rng(seed)
    faulty = rng.choice(80, n_missing_p + n_missing_f, replace=False)
    mp, mf = faulty[:n_missing_p], faulty[n_missing_p:]
    p = np.delete(pulses, mp)
    f = np.delete(flashes, mf)
    stray = pulses.max() + rng.integers(10 * FS, 100 * FS, n_stray)  # after the session: reported, harmless
    out = align_to_photodiode(pres, np.r_[p, stray], f, sampling_rate=FS, exclude_broken_fixation=False)
    expect = np.full(80, "", dtype=object)
    expect[mp] = "missing_pulse"
    expect[mf] = "missing_flash"
    np.testing.assert_array_equal(out["reason"].to_numpy(), expect)
    ok = expect == ""
    np.testing.assert_array_equal(out["onset_sample"].to_numpy()[ok], flashes[ok])
    np.testing.assert_allclose(out["photodiode_latency_ms"].to_numpy()[ok], lat[ok])
    assert sorted(out.attrs["unmatched_pulses"]) == sorted(stray.tolist())
    assert abs(out.attrs["clock"]["drift_ppm"] - drift) < 5


@settings(max_examples=15, deadline=None)
@given(chunk_s=hst.floats(0.01, 2.0), seed=hst.integers(0, 2**16))
def test_photodiode_chunk_invariance(chunk_s, seed):
    rng = np.random.default_rng(seed)
    n = 60_000
    onsets = np.sort(rng.choice(np.arange(500, n - 2500, 3000), 12, replace=False))
    x = _pd_trace(onsets, n, rng=rng, dur=1500, rise=int(rng.integers(1, 20)))
    rec = NumpyRecording({"adc": x[:, None]}, sampling_rate=FS, channel_names={"adc": ["ANALOG-IN-1"]})
    whole = detect_photodiode_onsets(rec, chunk_s=10.0, subsample=True)
    np.testing.assert_allclose(detect_photodiode_onsets(rec, chunk_s=chunk_s, subsample=True), whole)
    assert whole.size == onsets.size
