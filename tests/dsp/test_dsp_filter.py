"""Filter design and the streaming zero-phase bandpass, against scipy."""
import numpy as np
import pytest
from scipy import signal

from naive import filtfilt_ref, spiky
from neuroit.dsp import FilterDesign, bandpass, design_filter
from neuroit.errors import NeuroitError
from neuroit.io.recording import NumpyRecording

FS = 20000.0


def _noise_sd(ref):
    return np.median(np.abs(ref), axis=0) / 0.6745


def test_design_matches_scipy_ellip_and_butter():
    d = design_filter(FS)
    ref = signal.ellip(2, 0.1, 50, [300, 6000], btype="bandpass", output="sos", fs=FS)
    assert isinstance(d, FilterDesign)
    np.testing.assert_allclose(d.sos, ref)
    assert d.notch_sos.shape == (0, 6)
    assert d.params["band"] == (300.0, 6000.0) and d.params["ftype"] == "ellip"
    assert d.padlen == 15  # sosfiltfilt's default for two sections
    assert d.margin > 0 and d.block % 4096 == 0 and d.block >= 4 * d.margin
    b = design_filter(FS, ftype="butter", order=3, band=(500, 5000))
    np.testing.assert_allclose(b.sos, signal.butter(3, [500, 5000], btype="bandpass", output="sos", fs=FS))


def test_designs_are_computed_once_but_handed_out_as_copies():
    """The scipy design is kept per parameters; each call still returns its own writable arrays (scipy's sosfilt
    needs writable sections) and parameters, so changing one design never changes the next."""
    a = design_filter(FS, band=(350, 5000))
    a.sos[:] = 0.0
    a.params["band"] = None
    b = design_filter(FS, band=(350.0, 5000.0))
    np.testing.assert_allclose(b.sos, signal.ellip(2, 0.1, 50, [350, 5000], btype="bandpass", output="sos", fs=FS))
    assert b.params["band"] == (350.0, 5000.0) and b.sos.flags.writeable
    signal.sosfiltfilt(b.sos, np.ones(100))


def test_design_notch_sections_ahead_of_bandpass():
    d = design_filter(FS, notch="60hz")
    assert d.notch_sos.shape == (3, 6)
    np.testing.assert_allclose(d.sos[:3], d.notch_sos)
    w, h = signal.sosfreqz(d.sos, worN=[60.0, 120.0, 1000.0], fs=FS)
    assert abs(h[0]) < 1e-3 and abs(h[1]) < 1e-3 and abs(h[2]) > 0.9
    assert design_filter(FS, notch=50).params["notch"] == 50.0


@pytest.mark.parametrize(
    "kwargs",
    [dict(band=(300, 10000)), dict(band=(300, 12000)), dict(band=(6000, 300)), dict(band=(0, 300)),
     dict(band=300), dict(ftype="cheby"), dict(order=0), dict(notch=55), dict(ripple_db=0.0)],
)
def test_design_rejects_bad_parameters(kwargs):
    with pytest.raises(NeuroitError):
        design_filter(FS, **kwargs)


def test_design_rejects_bad_sampling_rate():
    with pytest.raises(NeuroitError, match="sampling rate"):
        design_filter(0.0)


@pytest.mark.parametrize("n_ch", [1, 3, 17])
@pytest.mark.parametrize("n", [16, 200, 700, 5000, 30011])
def test_bandpass_matches_sosfiltfilt(n, n_ch):
    x = spiky(n, n_ch, seed=n + n_ch)
    ref = filtfilt_ref(x, FS)
    y = bandpass(x, FS)
    assert y.shape == x.shape and y.dtype == np.float32
    err = np.abs(y - ref).max(axis=0)
    assert np.all(err <= 1e-3 * _noise_sd(ref)), err / _noise_sd(ref)


def test_bandpass_large_lfp_and_offset_within_tolerance():
    # a 2 mV slow wave riding on a 5 mV offset: float32 inside must still be within 1e-3 of the noise
    x = spiky(40000, 4, seed=3, lfp=2000.0) + 5000.0
    ref = filtfilt_ref(x, FS)
    y = bandpass(x, FS)
    assert np.all(np.abs(y - ref).max(axis=0) <= 1e-3 * _noise_sd(ref))


@pytest.mark.parametrize("integer", [True, False])
def test_bandpass_5mv_lfp_stays_far_inside_tolerance(integer):
    # float32 throughout, yet a 5 mV slow wave (250x the noise) costs nothing: the first section takes the
    # exact second difference of the input before its recursion (see neuroit._kernels.iir)
    x = spiky(40000, 4, seed=7, lfp=5000.0) + 400.0
    if integer:
        codes = np.round(x / 0.195).astype(np.int16)
        x, y = codes * 0.195, bandpass(NumpyRecording(codes, FS, gain=0.195))
    else:
        y = bandpass(x, FS)
    ref = filtfilt_ref(x, FS)
    assert np.all(np.abs(y - ref).max(axis=0) <= 2e-4 * _noise_sd(ref)), np.abs(y - ref).max(axis=0) / _noise_sd(ref)


def test_bandpass_int16_recording_scaled_like_scipy():
    codes = np.round(spiky(25000, 9, seed=5) / 0.195).astype(np.int16)
    rec = NumpyRecording(codes, FS, gain=0.195)
    ref = filtfilt_ref(codes * 0.195, FS)
    y = bandpass(rec)
    assert np.all(np.abs(y - ref).max(axis=0) <= 1e-3 * _noise_sd(ref))
    # a channel subset by name gives the same columns
    names = rec.channel_names["amplifier"]
    y2 = bandpass(rec, channels=[names[4], names[1]])
    np.testing.assert_array_equal(y2, y[:, [4, 1]])


def test_bandpass_uint16_codes_with_offset():
    codes = np.round(spiky(12000, 3, seed=6) / 0.195 + 32768).astype(np.uint16)
    rec = NumpyRecording(codes, FS, gain=0.195, offset=-32768 * 0.195)
    ref = filtfilt_ref((codes.astype(np.float64) - 32768) * 0.195, FS)
    y = bandpass(rec)
    assert np.all(np.abs(y - ref).max(axis=0) <= 1e-3 * _noise_sd(ref))


def test_bandpass_chunk_size_does_not_change_output():
    x = spiky(50000, 5, seed=7)
    y = bandpass(x, FS)
    for chunk_s in (0.1, 0.5, 1.3, 7.3):
        np.testing.assert_array_equal(bandpass(x, FS, chunk_s=chunk_s), y)


def test_bandpass_range_equals_rows_of_whole():
    x = spiky(40000, 3, seed=8)
    ref = filtfilt_ref(x, FS)
    sd = _noise_sd(ref)
    for start, stop in [(0, 100), (300, 3000), (12345, 30000), (39000, 40000)]:
        y = bandpass(x, FS, start=start, stop=stop)
        assert y.shape == (stop - start, 3)
        assert np.all(np.abs(y - ref[start:stop]).max(axis=0) <= 1e-3 * sd)


def test_bandpass_butter_and_notch_match_scipy():
    t = np.arange(30000) / FS
    x = spiky(30000, 2, seed=9) + 80 * np.sin(2 * np.pi * 60 * t)[:, None]
    for kw in (dict(ftype="butter", order=2), dict(notch=60)):
        ref = filtfilt_ref(x, FS, **kw)
        y = bandpass(x, FS, **kw)
        assert np.all(np.abs(y - ref).max(axis=0) <= 1e-3 * _noise_sd(ref)), kw


def test_bandpass_rejects_bad_input():
    x = spiky(1000, 2)
    with pytest.raises(NeuroitError, match="longer than the filter's padding"):
        bandpass(x[:15], FS)
    bad = x.copy()
    bad[500, 1] = np.nan
    with pytest.raises(NeuroitError, match="finite"):
        bandpass(bad, FS)
    with pytest.raises(NeuroitError, match="sampling_rate"):
        bandpass(x)
    with pytest.raises(NeuroitError, match="Nyquist"):
        bandpass(x, 10000.0)
    with pytest.raises(NeuroitError):
        bandpass(x, FS, start=10, stop=5)


def test_cascade_with_non_palindromic_numerators_matches_scipy():
    """The kernel divides each numerator by b0 and uses b2 == b0 where it holds; a cascade where it does not
    (zeros off the unit circle) takes the general form and still matches sosfiltfilt."""
    sos = design_filter(FS).sos.copy()
    sos[1, 2] *= 0.9  # zeros of the second section moved inside the unit circle
    sos[0, :3] *= 3.0  # and a b0 far from 1
    d = FilterDesign(sos=sos, bandpass_sos=sos, notch_sos=np.zeros((0, 6)), sampling_rate=FS)
    x = spiky(30000, 3, seed=7)
    ref = signal.sosfiltfilt(sos, x, axis=0)
    y = bandpass(x, FS, design=d)
    assert np.abs(y - ref).max() / _noise_sd(ref).min() < 1e-3
