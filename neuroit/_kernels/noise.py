"""Numba kernels: per-column noise statistics and CSR assembly of spike samples."""
from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(nogil=True)
def _select(src, dst, k):  # pragma: no cover - compiled
    """The k-th smallest value of ``src`` (``src`` and ``dst``: scratch arrays of one length, both overwritten).

    Quickselect around a median-of-three pivot. Each partition writes every value to both ends of the other
    buffer and lets the comparison advance one end, so that no branch depends on the data (random data would
    mispredict half of them). A range whose values are all >= the pivot splits off the values equal to it.
    """
    lo, hi = 0, src.shape[0]
    while hi - lo > 32:
        x, y, z = src[lo], src[(lo + hi) >> 1], src[hi - 1]
        p = max(min(x, y), min(max(x, y), z))
        nl, nr = lo, hi
        for i in range(lo, hi):
            v = src[i]
            dst[nl] = v
            dst[nr - 1] = v
            lt = v < p
            nl += lt
            nr -= 1 - lt
        src, dst = dst, src
        if k < nl:
            hi = nl
        elif nl > lo:
            lo = nl
        else:
            ne, nr = lo, hi
            for i in range(lo, hi):
                v = src[i]
                dst[ne] = v
                dst[nr - 1] = v
                eq = v <= p
                ne += eq
                nr -= 1 - eq
            src, dst = dst, src
            if k < ne:
                return p
            lo = ne
    return np.sort(src[lo:hi])[k - lo]


@nb.njit(nogil=True, parallel=True)
def mad_rows(x, out):  # pragma: no cover - compiled
    """out[c] = median(|x[c]|) for a (channels, samples) float32 array (as ``np.median``); 0 for a constant row."""
    n_ch, n = x.shape
    k = n // 2
    for c in nb.prange(n_ch):
        col = np.empty(n, dtype=np.float32)
        tmp = np.empty(n, dtype=np.float32)
        lo = x[c, 0]
        hi = x[c, 0]
        for i in range(n):
            v = x[c, i]
            col[i] = abs(v)
            lo = min(lo, v)
            hi = max(hi, v)
        if hi > lo:
            m = _select(col, tmp, k)
            med = np.float64(m)
            if n % 2 == 0:  # the mean of the two middle values: the largest value below m, unless m repeats
                below = 0
                prev = -np.inf
                for i in range(n):
                    v = abs(x[c, i])
                    lt = v < m
                    below += lt
                    prev = max(prev, v if lt else -np.inf)
                med = 0.5 * (med + (np.float64(m) if below < k else np.float64(prev)))
            out[c] = med
        else:
            out[c] = 0.0


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
def keep_every(filtered, first, step, rows, pos):  # pragma: no cover - compiled
    """rows[:, pos + j] = filtered[first + j * step, :] for every such row; returns the number of rows kept.

    Row by row, so that the reads are contiguous and the written columns stay in cache.
    """
    n, n_ch = filtered.shape
    k = 0
    for i in range(first, n, step):
        for c in range(n_ch):
            rows[c, pos + k] = filtered[i, c]
        k += 1
    return k


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
