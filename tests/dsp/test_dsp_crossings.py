"""Threshold crossings: against plain NumPy on the same filtered data, chunk invariance, bad input."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from naive import crossings_ref, filtfilt_ref, mad_ref, spiky
from neuroit.dsp import SpikeTrains, bandpass, detect_crossings, noise_windows
from neuroit.errors import NeuroitError
from neuroit.io.recording import NumpyRecording

FS = 20000.0


def _recording(n=60000, n_ch=6, seed=0, **kw):
    codes = np.round(spiky(n, n_ch, seed=seed, **kw) / 0.195).astype(np.int16)
    return NumpyRecording(codes, FS, gain=0.195)


@pytest.fixture(scope="module")
def rec():
    return _recording()


@pytest.mark.parametrize("sign", ["neg", "pos", "both"])
def test_crossings_match_numpy_on_same_filtered_data(rec, sign):
    st_ = detect_crossings(rec, sign=sign)
    z = bandpass(rec)  # the same engine's filtered samples
    thr = np.array(st_.attrs["thresholds_uv"])
    lo = -thr if sign in ("neg", "both") else np.full(thr.shape, -np.inf)
    hi = thr if sign in ("pos", "both") else np.full(thr.shape, np.inf)
    ref = crossings_ref(z.astype(np.float64), lo, hi)
    for c in range(len(st_)):
        np.testing.assert_array_equal(st_[c], ref[c])
    assert st_.counts().sum() > 100


def test_crossings_agree_with_scipy_filtfilt_reference(rec):
    """Against scipy's float64 sosfiltfilt: equal except where a sample is within 1e-3 noise of the threshold."""
    st_ = detect_crossings(rec)
    z = filtfilt_ref(rec.traces(), FS)
    thr = np.array(st_.attrs["thresholds_uv"])
    noise = np.array(st_.attrs["noise_uv"])
    ref = crossings_ref(z, -thr, np.full(thr.shape, np.inf))
    for c in range(len(st_)):
        diff = np.setxor1d(st_[c], ref[c])
        for i in diff:  # any disagreement must be a numerical tie at the threshold
            near = np.abs(z[[i - 1, i], c] + thr[c]).min()
            assert near < 1e-3 * noise[c]


def test_dead_time(rec):
    st0 = detect_crossings(rec, sign="both")
    st1 = detect_crossings(rec, sign="both", dead_time_ms=1.0)
    z = bandpass(rec).astype(np.float64)
    thr = np.array(st1.attrs["thresholds_uv"])
    ref = crossings_ref(z, -thr, thr, dead=20)
    for c in range(len(st1)):
        np.testing.assert_array_equal(st1[c], ref[c])
        assert np.all(np.diff(st1[c]) >= 20)
    assert st1.counts().sum() < st0.counts().sum()
    assert st1.attrs["dead_time_samples"] == 20


def test_chunk_size_invariance():
    rec = _recording(n=int(8.5 * FS), n_ch=4, seed=1)
    base = detect_crossings(rec, chunk_s=1.0)
    for chunk_s in (0.1, 7.3, 0.5):
        other = detect_crossings(rec, chunk_s=chunk_s)
        assert other == base, chunk_s
    assert base.attrs["noise_uv"] == detect_crossings(rec, chunk_s=7.3).attrs["noise_uv"]


@settings(max_examples=8, deadline=None)
@given(
    n=st.integers(min_value=16, max_value=30000),
    chunk=st.integers(min_value=1, max_value=40000),
    seed=st.integers(min_value=0, max_value=10_000),
    sign=st.sampled_from(["neg", "pos", "both"]),
)
def test_property_chunking_never_changes_spikes(n, chunk, seed, sign):
    x = np.round(spiky(n, 3, seed=seed) / 0.195).astype(np.int16)
    a = detect_crossings(x, sampling_rate=FS, sign=sign, noise_uv=8.0)
    b = detect_crossings(x, sampling_rate=FS, sign=sign, noise_uv=8.0, chunk_s=chunk / FS)
    assert a == b
    z = bandpass(x, FS).astype(np.float64) * 0.0 + bandpass(x.astype(np.float32), FS)
    lo = np.full(3, -24.0) if sign != "pos" else np.full(3, -np.inf)
    hi = np.full(3, 24.0) if sign != "neg" else np.full(3, np.inf)
    ref = crossings_ref(z, lo, hi)
    for c in range(3):
        np.testing.assert_array_equal(a[c], ref[c])


def test_chunk_noise_scope_is_the_lab_scripts_way(rec):
    st_ = detect_crossings(rec, noise_scope="chunk", chunk_s=1.0)
    chunk = st_.attrs["chunk_samples"]
    starts = st_.attrs["chunk_starts"]
    noise = np.array(st_.attrs["noise_uv"])
    assert noise.shape == (len(starts), len(st_))
    z = bandpass(rec).astype(np.float64)
    for k, s in enumerate(starts):
        np.testing.assert_allclose(noise[k], mad_ref(z[s: s + chunk]), rtol=1e-5)
    expected = [[] for _ in range(len(st_))]
    prev = np.full(len(st_), np.nan)
    for k, s in enumerate(starts):
        seg = z[s: s + chunk]
        thr = -3 * noise[k]
        ext = np.vstack([prev[None], seg])
        for c in range(len(st_)):
            hit = np.flatnonzero((ext[1:, c] < thr[c]) & (ext[:-1, c] >= thr[c])) + s
            expected[c].extend(hit.tolist())
        prev = seg[-1]
    for c in range(len(st_)):
        np.testing.assert_array_equal(st_[c], expected[c])


def test_attrs_record_parameters(rec):
    st_ = detect_crossings(rec, threshold=4.0, noise="std")
    a = st_.attrs
    for key in ("band", "ftype", "order", "ripple_db", "stop_db", "notch", "threshold", "sign", "noise",
                "noise_scope", "noise_windows", "dead_time_ms", "chunk_s", "sos", "thresholds_uv", "noise_uv",
                "saturated_samples", "n_samples", "duration_s", "sampling_rate"):
        assert key in a, key
    assert a["threshold"] == 4.0 and a["noise"] == "std"
    np.testing.assert_allclose(a["thresholds_uv"], 4.0 * np.array(a["noise_uv"]))
    assert [tuple(w) for w in a["noise_windows"]] == noise_windows(rec.n_samples, FS, n_windows=16, window_s=0.25)
    assert st_.channel_names == rec.channel_names["amplifier"]


def test_channels_subset_and_names(rec):
    names = rec.channel_names["amplifier"]
    full = detect_crossings(rec)
    sub = detect_crossings(rec, channels=[names[3], names[0]])
    assert sub.channel_names == (names[3], names[0])
    np.testing.assert_array_equal(sub[names[3]], full[3])
    np.testing.assert_array_equal(sub[1], full[names[0]])


def test_constant_and_saturated_channels():
    x = np.round(spiky(40000, 4, seed=2) / 0.195).astype(np.int16)
    x[:, 1] = 123  # constant: noise 0
    x[10000:12000, 2] = 32767  # a saturated segment at the upper rail
    x[20000:20500, 2] = -32768
    with pytest.warns(UserWarning, match="zero or undefined noise"):
        st_ = detect_crossings(x, sampling_rate=FS)
    assert st_.counts()[1] == 0
    assert st_.attrs["noise_uv"][1] == 0.0
    assert st_.attrs["zero_noise_channels"] == ["1"]
    assert st_.attrs["saturated_samples"] == [0, 0, 2500, 0]
    z = bandpass(x, FS)
    assert np.isfinite(z).all()
    # a constant filters to a constant (the elliptic bandpass's tiny DC gain, squared), as scipy gives
    assert np.all(z[:, 1] == z[0, 1])
    np.testing.assert_allclose(z[:, 1], filtfilt_ref(x[:, [1]], FS)[:, 0], atol=1e-6)


def test_bad_input_is_a_clear_error():
    x = np.round(spiky(1000, 2) / 0.195).astype(np.int16)
    with pytest.raises(NeuroitError, match="longer than the filter's padding"):
        detect_crossings(x[:10], sampling_rate=FS)
    f = x.astype(np.float64)
    f[300, 1] = np.nan
    with pytest.raises(NeuroitError, match="finite"):
        detect_crossings(f, sampling_rate=FS)
    with pytest.raises(NeuroitError, match="Nyquist"):
        detect_crossings(x, sampling_rate=FS, band=(300, 10000))
    for kw in (dict(sign="down"), dict(noise="iqr"), dict(noise_scope="file"), dict(threshold=-1),
               dict(dead_time_ms=-1), dict(chunk_s=0), dict(n_jobs=0)):
        with pytest.raises(NeuroitError):
            detect_crossings(x, sampling_rate=FS, **kw)
    with pytest.raises(NeuroitError, match="sampling_rate"):
        detect_crossings(x)
    with pytest.raises(NeuroitError):
        detect_crossings("not a recording")


def test_streamed_to_disk_equals_in_memory(rec, tmp_path):
    mem = detect_crossings(rec)
    path = tmp_path / "out" / "spikes.npz"
    disk = detect_crossings(rec, out=path)
    assert disk == mem
    assert SpikeTrains.load(path) == mem
    assert [p.name for p in path.parent.iterdir()] == ["spikes.npz"]  # no temporary file left


def test_n_jobs_and_progress_do_not_change_result(rec):
    a = detect_crossings(rec, n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tqdm may warn about missing ipywidgets
        b = detect_crossings(rec, n_jobs=None, progress=True, chunk_s=0.5)
    assert a == b


def test_negative_gain_turns_the_thresholds_round():
    codes = np.round(spiky(30000, 4, seed=11) / 0.195).astype(np.int16)
    up = detect_crossings(NumpyRecording(codes, FS, gain=0.195), sign="pos")
    down = detect_crossings(NumpyRecording(codes, FS, gain=-0.195), sign="neg")  # the same signal, negated
    for c in range(4):
        np.testing.assert_array_equal(up[c], down[c])
    np.testing.assert_allclose(up.attrs["noise_uv"], down.attrs["noise_uv"])


def test_input_array_is_left_as_it_was():
    codes = np.round(spiky(20000, 3, seed=2) / 0.195).astype(np.int16)
    before = codes.copy()
    detect_crossings(codes, sampling_rate=FS)
    assert codes.flags.writeable and np.array_equal(codes, before)


def test_intan_file_layouts_give_the_same_spikes_and_per_signal_is_read_without_a_copy(tmp_path):
    from neuroit.io import read_intan, write_intan

    codes = np.round(spiky(313 * 128, 16, seed=4) / 0.195).astype(np.int16)  # whole 128-sample blocks
    recs = {}
    for layout in ("per_signal", "per_channel", "traditional"):
        target = tmp_path / ("r.rhd" if layout == "traditional" else layout)
        write_intan(target, layout=layout, amplifier=codes)
        recs[layout] = read_intan(target)
    view = recs["per_signal"]._view("amplifier")
    assert view is not None and not view.flags.owndata and np.array_equal(view[100:200], codes[100:200])
    assert recs["per_channel"]._view("amplifier") is None
    ref = detect_crossings(NumpyRecording(codes, FS, gain=0.195))
    for layout, r in recs.items():
        got = detect_crossings(r)
        assert r.n_samples == codes.shape[0]
        for c in range(16):
            np.testing.assert_array_equal(got[c], ref[c], err_msg=layout)


def test_prefetching_from_the_storage_does_not_change_spikes():
    """A C-ordered array is read (and its next chunk prefetched by the kernel) in place; a Fortran-ordered copy
    of the same codes is read chunk by chunk into new arrays, without prefetching: the same spikes either way,
    also with channels that do not fill the kernel's last block of lanes."""
    from neuroit.dsp.engine import source_from_array

    x = np.round(spiky(int(3.2 * FS), 17, seed=5) / 0.195).astype(np.int16)
    f = np.asfortranarray(x)
    assert source_from_array(x, FS).store is x and source_from_array(f, FS).store is None
    a = detect_crossings(x, sampling_rate=FS, chunk_s=0.3)
    assert a == detect_crossings(f, sampling_rate=FS, chunk_s=0.3)
    assert a == detect_crossings(x, sampling_rate=FS, chunk_s=2.0)
    assert a.counts().sum() > 100
