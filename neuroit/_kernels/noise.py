"""Numba kernels: per-column noise statistics and CSR assembly of spike samples."""
from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(nogil=True, parallel=True)
def mad_rows(x, out):  # pragma: no cover - compiled
    """out[c] = median(|x[c]|) for a (channels, samples) float32 array; 0 for a constant row."""
    n_ch, n = x.shape
    for c in nb.prange(n_ch):
        col = np.empty(n, dtype=np.float32)
        lo = x[c, 0]
        hi = x[c, 0]
        for i in range(n):
            v = x[c, i]
            col[i] = abs(v)
            lo = min(lo, v)
            hi = max(hi, v)
        out[c] = np.median(col) if hi > lo else 0.0


@nb.njit(nogil=True, parallel=True)
def std_rows(x, out):  # pragma: no cover - compiled
    """out[c] = population standard deviation of x[c], accumulated in float64; 0 for a constant row."""
    n_ch, n = x.shape
    for c in nb.prange(n_ch):
        s = 0.0
        for i in range(n):
            s += x[c, i]
        mean = s / n
        ss = 0.0
        lo = x[c, 0]
        hi = x[c, 0]
        for i in range(n):
            d = x[c, i] - mean
            ss += d * d
            lo = min(lo, x[c, i])
            hi = max(hi, x[c, i])
        out[c] = np.sqrt(ss / n) if hi > lo else 0.0


@nb.njit(nogil=True)
def compact_spikes(spikes, n_spikes, out):  # pragma: no cover - compiled
    """Concatenate spikes[c, :n_spikes[c]] channel after channel into ``out``."""
    k = 0
    for c in range(spikes.shape[0]):
        for j in range(n_spikes[c]):
            out[k] = spikes[c, j]
            k += 1


@nb.njit(nogil=True)
def assemble_csr(chunk_samples, chunk_counts, offsets, out):  # pragma: no cover - compiled
    """Reorder chunk-major pieces (chunk, channel) into channel-major CSR ``out``.

    ``chunk_samples`` holds, chunk after chunk, each chunk's spikes channel after channel;
    ``chunk_counts`` is (n_chunks, n_channels); ``offsets`` the CSR offsets (n_channels + 1).
    """
    n_chunks, n_ch = chunk_counts.shape
    fill = offsets[:-1].copy()
    k = 0
    for i in range(n_chunks):
        for c in range(n_ch):
            m = chunk_counts[i, c]
            for j in range(m):
                out[fill[c] + j] = chunk_samples[k + j]
            fill[c] += m
            k += m
