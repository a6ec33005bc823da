"""Numba kernels: threshold crossings of already filtered rows (the per-chunk-noise path), the dead time of the GPU path."""
from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(nogil=True, parallel=True)
def detect_rows(z, lo_thr, hi_thr, z_prev, last_spike, dead, sample0, spikes, n_spikes):  # pragma: no cover
    """Threshold crossings of already filtered rows ``z`` (samples, channels), one channel per task.

    Same rule as :func:`filter_chunk`: a crossing at row i when z[i] is beyond the threshold and
    z[i - 1] (``z_prev`` for the first row) is not; crossings within ``dead`` samples of the last
    kept one are dropped. ``z_prev``/``last_spike`` carry the state to the next rows.
    """
    n, n_ch = z.shape
    for c in nb.prange(n_ch):
        lo = lo_thr[c]
        hi = hi_thr[c]
        zp = z_prev[c]
        last = last_spike[c]
        m = n_spikes[c]
        for i in range(n):
            zc = z[i, c]
            if ((zc < lo) & (zp >= lo)) | ((zc > hi) & (zp <= hi)):
                s = sample0 + i
                if s - last >= dead:
                    spikes[c, m] = s
                    m += 1
                    last = s
            zp = zc
        n_spikes[c] = m
        z_prev[c] = zp
        last_spike[c] = last


@nb.njit(nogil=True)
def dead_time_keep(samples, offsets, dead, keep):  # pragma: no cover - compiled
    """keep[i]: whether CSR spike i is at least ``dead`` samples after the last kept spike of its channel."""
    for c in range(offsets.shape[0] - 1):
        last = np.iinfo(np.int64).min // 2
        for i in range(offsets[c], offsets[c + 1]):
            keep[i] = samples[i] - last >= dead
            if keep[i]:
                last = samples[i]
