"""bin_counts against a direct NumPy loop, and Hypothesis properties of bins."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from neuroit.dsp import SpikeTrains
from neuroit.errors import NeuroitError
from neuroit.events import bin_counts, bin_edges

FS = 20000.0


def naive_rates(trains, onsets, lo_ms, hi_ms, fs):
    a, b = round(lo_ms * fs / 1000), round(hi_ms * fs / 1000)
    out = np.zeros((len(onsets), len(trains)))
    for i, o in enumerate(onsets):
        for c, s in enumerate(trains):
            n = 0
            for x in s:
                if o + a <= x < o + b:
                    n += 1
            out[i, c] = n / ((b - a) / fs)
    return out


def make_trains(seed=0, n_ch=5, n=20000, length=2_000_000):
    rng = np.random.default_rng(seed)
    trains = [np.sort(rng.integers(0, length, rng.integers(0, n))) for _ in range(n_ch)]
    return SpikeTrains.from_lists(trains, sampling_rate=FS, channel_names=[f"A-{i:03d}" for i in range(n_ch)])


def test_window_rates_match_naive_loop():
    st = make_trains(n=3000)
    onsets = np.sort(np.random.default_rng(1).integers(2000, 1_990_000, 40))
    pres = pd.DataFrame({"stimulus_id": [f"s{i % 4}" for i in range(40)], "trial": np.arange(40)})
    r = bin_counts(st, onsets, presentations=pres)
    assert r.dims == ("presentation", "site") and r.name == "rate" and r.attrs["units"] == "spikes/s"
    np.testing.assert_allclose(r.values, naive_rates(list(st), onsets, 70, 170, FS))
    assert list(r["site"].values) == list(st.channel_names)
    assert list(r["stimulus_id"].values[:4]) == ["s0", "s1", "s2", "s3"]
    np.testing.assert_array_equal(r["onset_sample"].values, onsets)
    assert (r["port"].values == "A").all()


def test_psth_bins_exact_edges_and_sum_to_window():
    st = make_trains(seed=2, n=2000)
    onsets = np.arange(5000, 1_900_000, 47_111)
    r = bin_counts(st, onsets, bin_ms=10, psth_ms=(-100, 300))
    assert r.dims == ("presentation", "site", "time_bin") and r.sizes["time_bin"] == 40
    np.testing.assert_allclose(r["time_bin_start_ms"].values, np.arange(-100, 300, 10))
    np.testing.assert_allclose(r["time_bin_stop_ms"].values, np.arange(-90, 310, 10))
    # bins 70-170 ms (17..26) add up to the window count
    win = bin_counts(st, onsets)
    np.testing.assert_allclose(r.isel(time_bin=slice(17, 27)).mean("time_bin").values, win.values)


def test_bad_parameters():
    st = make_trains(n_ch=1, n=10)
    with pytest.raises(NeuroitError, match="whole number"):
        bin_counts(st, [100], bin_ms=30, psth_ms=(-100, 300))
    with pytest.raises(NeuroitError, match="whole samples"):
        bin_counts(st, np.array([100.5]))
    with pytest.raises(NeuroitError, match="rows"):
        bin_counts(st, [1, 2], presentations=pd.DataFrame({"trial": [1]}))


@settings(max_examples=40, deadline=None)
@given(
    fs=hst.sampled_from([20000.0, 30000.0, 24414.0625, 1000.0]),
    lo=hst.integers(-200, 200), width=hst.integers(1, 300),
    seed=hst.integers(0, 2**16),
)
def test_edges_are_integer_and_counts_conserved(fs, lo, width, seed):
    """Edges are whole samples; splitting a window into two adds up; counts are linear in trains."""
    edges = bin_edges(sampling_rate=fs, window_ms=(lo, lo + width))
    assert edges.dtype == np.int64 and edges[1] > edges[0]
    rng = np.random.default_rng(seed)
    a = np.sort(rng.integers(0, 100_000, 300))
    b = np.sort(rng.integers(0, 100_000, 200))
    both = SpikeTrains.from_lists([a, b, np.sort(np.r_[a, b])], sampling_rate=fs)
    onsets = rng.integers(10_000, 90_000, 15)
    r = bin_counts(both, onsets, window_ms=(lo, lo + width))
    counts = r.values * (edges[1] - edges[0]) / fs
    np.testing.assert_allclose(counts, np.rint(counts), atol=1e-9)
    np.testing.assert_allclose(counts[:, 2], counts[:, 0] + counts[:, 1], atol=1e-9)  # linearity
    mid = lo + width / 2
    e_mid = bin_edges(sampling_rate=fs, window_ms=(lo, mid)) if round(mid * fs / 1000) > edges[0] else None
    if e_mid is not None and round(mid * fs / 1000) < edges[1]:
        r1 = bin_counts(both, onsets, window_ms=(lo, mid))
        r2 = bin_counts(both, onsets, window_ms=(mid, lo + width))
        c1 = r1.values * np.diff(bin_edges(sampling_rate=fs, window_ms=(lo, mid)))[0] / fs
        c2 = r2.values * np.diff(bin_edges(sampling_rate=fs, window_ms=(mid, lo + width)))[0] / fs
        np.testing.assert_allclose(c1 + c2, counts, atol=1e-9)
