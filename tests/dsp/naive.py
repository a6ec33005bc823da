"""Plain NumPy/scipy references for the dsp kernels (no streaming, no Numba)."""
from __future__ import annotations

import numpy as np
from scipy import signal


def filtfilt_ref(x, fs, *, band=(300.0, 6000.0), ftype="ellip", order=2, ripple_db=0.1, stop_db=50.0, notch=None):
    """scipy's own design + sosfiltfilt (padtype='odd', default padlen), float64."""
    nyq = fs / 2
    if ftype == "ellip":
        sos = signal.ellip(order, ripple_db, stop_db, band, btype="bandpass", output="sos", fs=fs)
    else:
        sos = signal.butter(order, band, btype="bandpass", output="sos", fs=fs)
    if notch:
        rows = []
        for m in (1, 2, 3):
            if notch * m < nyq:
                b, a = signal.iirnotch(notch * m, 30.0, fs=fs)
                rows.append(np.concatenate([b, a]))
        sos = np.vstack([np.array(rows), sos])
    return signal.sosfiltfilt(sos, np.asarray(x, dtype=np.float64), axis=0)


def mad_ref(z):
    return np.median(np.abs(z), axis=0) / 0.6745


def crossings_ref(z, lo, hi, dead=0):
    """Crossing sample indices per column: z[i] beyond the threshold, z[i-1] not; dead time after kept ones."""
    z = np.asarray(z, dtype=np.float64)
    out = []
    for c in range(z.shape[1]):
        x = z[:, c]
        hit = np.zeros(x.size, dtype=bool)
        hit[1:] = ((x[1:] < lo[c]) & (x[:-1] >= lo[c])) | ((x[1:] > hi[c]) & (x[:-1] <= hi[c]))
        idx = np.flatnonzero(hit)
        kept, last = [], -(10**18)
        for i in idx:
            if i - last >= dead:
                kept.append(i)
                last = i
        out.append(np.array(kept, dtype=np.int64))
    return out


def spiky(n, n_ch, *, seed=0, sd=20.0, rate_hz=30.0, fs=20000.0, amp=150.0, lfp=300.0):
    """White noise + slow 'LFP' drift + negative spike waveforms, in µV (float64)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, sd, (n, n_ch))
    t = np.arange(n) / fs
    for c in range(n_ch):
        x[:, c] += lfp * np.sin(2 * np.pi * (3 + c) * t + c)
        k = rng.poisson(rate_hz * n / fs)
        for s in rng.integers(20, max(21, n - 20), k):
            x[s: s + 16, c] -= amp * np.hanning(16)
    return x
