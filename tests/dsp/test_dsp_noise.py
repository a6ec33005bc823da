"""Session-wide noise estimate."""
import numpy as np
import pytest

from naive import filtfilt_ref, mad_ref, spiky
from neuroit.dsp import estimate_noise, noise_windows
from neuroit.errors import NeuroitError

FS = 20000.0


def test_windows_are_fixed_spread_and_cover_short_sessions():
    w = noise_windows(20 * 20000, FS, n_windows=16, window_s=0.25)
    assert len(w) == 16 and all(e - s == 5000 for s, e in w)
    assert w[0][0] < 20000 and w[-1][1] > 19 * 20000
    assert all(w[i][1] <= w[i + 1][0] for i in range(15))
    assert w == noise_windows(20 * 20000, FS, n_windows=16, window_s=0.25)  # deterministic
    assert noise_windows(30000, FS, n_windows=16, window_s=0.25) == [(0, 30000)]
    with pytest.raises(NeuroitError):
        noise_windows(30000, FS, n_windows=0, window_s=0.25)


def test_mad_equals_numpy_on_the_windows_of_the_filtered_session():
    x = spiky(200000, 5, seed=11)
    ref = filtfilt_ref(x, FS)
    wins = noise_windows(len(x), FS, n_windows=8, window_s=0.1)
    sample = np.vstack([ref[s:e] for s, e in wins])
    got = estimate_noise(x, FS, n_windows=8, window_s=0.1, max_samples=None)
    np.testing.assert_allclose(got, mad_ref(sample), rtol=1e-4)
    got_std = estimate_noise(x, FS, method="std", n_windows=8, window_s=0.1, max_samples=None)
    np.testing.assert_allclose(got_std, sample.std(axis=0), rtol=1e-4)
    assert np.all(got_std > got)  # spikes inflate the standard deviation more than the MAD


def test_default_uses_every_kth_sample():
    x = spiky(200000, 3, seed=12)
    ref = filtfilt_ref(x, FS)
    wins = noise_windows(len(x), FS, n_windows=16, window_s=0.25)
    sample = np.vstack([ref[s:e] for s, e in wins])
    assert sample.shape[0] == 80000
    np.testing.assert_allclose(estimate_noise(x, FS), mad_ref(sample[::4]), rtol=1e-4)


def test_mad_recovers_gaussian_noise_level():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 10.0, (100000, 3))
    true_sd = filtfilt_ref(x, FS).std(axis=0)
    np.testing.assert_allclose(estimate_noise(x, FS), true_sd, rtol=0.03)


def test_bad_method():
    with pytest.raises(NeuroitError):
        estimate_noise(np.zeros((1000, 2)), FS, method="iqr")


@pytest.mark.parametrize("n", [1, 2, 3, 4, 33, 34, 101, 5000, 5001, 20000, 60001])
def test_mad_kernel_equals_numpy_median_with_ties_and_constant_rows(n):
    from neuroit._kernels.noise import mad_cols

    rng = np.random.default_rng(n)
    x = np.concatenate([
        rng.normal(0, 3, (3, n)),  # distinct values
        rng.integers(-3, 4, (3, n)),  # many ties, either side of zero
        np.full((1, n), 2.5),  # constant: 0 by convention
    ]).astype(np.float32)
    out = np.empty(x.shape[0])
    mad_cols(np.ascontiguousarray(x.T), out)
    ref = np.median(np.abs(x).astype(np.float64), axis=1)
    ref[np.ptp(x, axis=1) == 0] = 0.0
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("n", [25600, 25601])
def test_mad_kernel_when_the_sample_misses_the_median(n):
    """Values the evenly spaced sample cannot see (a period aligned with its stride) put the bracket off the
    median; the kernel must notice and still return np.median exactly."""
    from neuroit._kernels.noise import mad_cols

    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (n, 17)).astype(np.float32)
    x[::100, :8] = 1000.0  # every sampled value is 1000: the bracket is [1000, 1000]
    x[:, 16] = np.arange(n) % 7  # ties only, one column of a partial group
    out = np.empty(x.shape[1])
    mad_cols(x, out)
    np.testing.assert_array_equal(out, np.median(np.abs(x).astype(np.float64), axis=0))
