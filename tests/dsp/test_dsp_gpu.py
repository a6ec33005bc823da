"""The GPU path (device="cuda") against the CPU path: Numba's CUDA simulator here (tests/conftest.py), the GPU
itself with NEUROIT_TEST_REAL_CUDA=1. Segments and uploads are made small so that several of each are used."""
import numpy as np
import pytest

import neuroit.dsp.gpu as gpu
from naive import spiky
from neuroit.dsp import bandpass, detect_crossings
from neuroit.errors import NeuroitError

FS = 20000.0


@pytest.fixture
def small_segments(monkeypatch):
    monkeypatch.setattr(gpu, "SEGMENT", 512)
    monkeypatch.setattr(gpu, "UPLOAD_SEGMENTS", 3)


def _codes(n=3000, n_ch=3, seed=3):
    x = np.round(spiky(n, n_ch, seed=seed) / 0.195).astype(np.int16)
    x[100:110, 1] = 32767  # saturated, and a large step
    return x


def test_gpu_filter_equals_cpu_path(small_segments):
    x = _codes()
    cpu = bandpass(x, FS)
    sd = np.median(np.abs(cpu), axis=0) / 0.6745
    g = bandpass(x, FS, device="cuda")
    assert g.dtype == np.float32 and g.shape == cpu.shape
    assert (np.abs(g - cpu).max(axis=0) / sd).max() < 1e-3
    part = bandpass(x.astype(np.float32), FS, start=700, stop=2100, device="cuda")
    assert (np.abs(part - cpu[700:2100]).max(axis=0) / sd).max() < 1e-3


def test_gpu_crossings_equal_cpu_path(small_segments):
    x = _codes()
    for kw in (dict(), dict(sign="both", dead_time_ms=1.0)):
        a = detect_crossings(x, sampling_rate=FS, **kw)
        b = detect_crossings(x, sampling_rate=FS, device="cuda", **kw)
        assert b.attrs["device"] == "cuda" and a.attrs["device"] == "cpu"
        assert a.attrs["saturated_samples"] == b.attrs["saturated_samples"] == [0, 10, 0]
        z = bandpass(x, FS).astype(np.float64)
        thr = np.array(a.attrs["thresholds_uv"])
        for c in range(x.shape[1]):
            for i in np.setxor1d(a[c], b[c]):  # only numerical ties at the threshold may differ
                assert np.abs(np.abs(z[[i - 1, i], c]) - thr[c]).min() < 1e-3 * thr[c] / 3
        assert a.counts().sum() > 20


def test_gpu_result_does_not_depend_on_the_uploads(monkeypatch):
    x = _codes(n=2600, n_ch=2, seed=4)
    monkeypatch.setattr(gpu, "SEGMENT", 512)
    outs = []
    for ups in (1, 4):
        monkeypatch.setattr(gpu, "UPLOAD_SEGMENTS", ups)
        outs.append(bandpass(x, FS, device="cuda"))
    np.testing.assert_array_equal(outs[0], outs[1])


def test_gpu_errors(monkeypatch):
    x = _codes(n=1000)
    with pytest.raises(NeuroitError, match="'device'"):
        detect_crossings(x, sampling_rate=FS, device="gpu")
    with pytest.raises(NeuroitError, match="noise_scope"):
        detect_crossings(x, sampling_rate=FS, device="cuda", noise_scope="chunk")
    from numba import cuda

    monkeypatch.setattr(cuda, "is_available", lambda: False)
    with pytest.raises(NeuroitError, match="NVIDIA GPU"):
        bandpass(x, FS, device="cuda")
