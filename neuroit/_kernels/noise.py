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


#: columns gathered together (one 64-byte cache line of float32 per row)
_GROUP = 16
#: values sampled to bracket the wanted rank in each round of :func:`_kth`, and the size below which it
#: selects directly
_N_SAMPLE = 256
_SMALL = 1024


@nb.njit(nogil=True)
def _kth(a, k, even, b1, b2, t):  # pragma: no cover - compiled
    """The k-th smallest value of ``a`` (1-D float32, left unchanged) and, when ``even``, the (k-1)-th too.

    Floyd-Rivest style: each round brackets rank k between two order statistics of ``_N_SAMPLE`` evenly
    spaced values (3 binomial standard deviations either side), and one branch-free pass counts the values
    below the bracket and gathers those inside it (about a fifth), until at most ``_SMALL`` remain, which
    :func:`_select` finishes. A bracket that misses rank k (rare; the counts tell) or keeps every value
    (ties) ends the rounds early: the selection then runs on all remaining values. ``b1``, ``b2``: scratch
    of ``len(a)`` values; ``t``: of ``max(len(a), 3 * _N_SAMPLE)``.
    """
    m = _N_SAMPLE
    d = int(3.0 * np.sqrt(m) / 2.0) + 1
    src = a
    n = a.shape[0]
    below = np.float32(-np.inf)  # the largest value dropped below the bracket so far
    rounds = 0
    while n > _SMALL:
        dst = b1 if rounds % 2 == 0 else b2  # never src
        for j in range(m):
            t[j] = t[m + j] = src[(j * n) // m]
        r = (k * m) // n
        plo = _select(t[:m], t[2 * m:3 * m], r - d) if r - d > 0 else np.float32(-np.inf)
        phi = _select(t[m:2 * m], t[2 * m:3 * m], r + d) if r + d < m - 1 else np.float32(np.inf)
        kept = 0
        nlo = 0
        blo = np.float32(-np.inf)
        for i in range(n):
            v = src[i]
            dst[kept] = v
            kept += (v >= plo) & (v <= phi)
            under = v < plo
            nlo += under
            blo = max(blo, v if under else np.float32(-np.inf))
        if not (nlo <= k < nlo + kept) or kept == n:
            break
        k -= nlo
        n = kept
        below = max(below, blo)
        src = dst
        rounds += 1
    dst = b1 if rounds % 2 == 0 else b2
    for i in range(n):  # keep src intact for the even case
        dst[i] = src[i]
    med = _select(dst[:n], t, k)
    if not even:
        return med, med
    lt = 0
    prev = below
    for i in range(n):
        v = src[i]
        w = v < med
        lt += w
        prev = max(prev, v if w else np.float32(-np.inf))
    return med, (med if lt < k else prev)


@nb.njit(nogil=True)
def _abs_varies(r):  # pragma: no cover - compiled
    """r[:] = |r|; whether r held more than one value (an integer reduction, so that it vectorises)."""
    first = r[0]
    varies = 0
    for i in range(r.shape[0]):
        v = r[i]
        varies |= np.int32(v != first)
        r[i] = abs(v)
    return varies != 0


@nb.njit(nogil=True, parallel=True)
def mad_cols(x, out):  # pragma: no cover - compiled
    """out[c] = median(|x[:, c]|) of a C-contiguous (samples, channels) float32 array, as ``np.median``
    gives it (the mean of the two middle values for an even count); 0 for a constant column.

    Columns are copied ``_GROUP`` at a time (each row's cache line read once), then each one's median is
    found by :func:`_kth`.
    """
    n, n_ch = x.shape
    n_thr = nb.get_num_threads()
    cols = np.empty((n_thr, _GROUP, n), dtype=np.float32)
    scratch = np.empty((n_thr, 3, max(n, 3 * _N_SAMPLE)), dtype=np.float32)
    for g in nb.prange((n_ch + _GROUP - 1) // _GROUP):
        tid = nb.get_thread_id()
        c0 = g * _GROUP
        w = min(_GROUP, n_ch - c0)
        cg = cols[tid]
        if w == _GROUP:  # a fixed count: the lane loop becomes one vector load
            for i in range(n):
                for j in range(_GROUP):
                    cg[j, i] = x[i, c0 + j]
        else:
            for i in range(n):
                for j in range(w):
                    cg[j, i] = x[i, c0 + j]
        sc = scratch[tid]
        for j in range(w):
            if _abs_varies(cg[j]):
                a, b = _kth(cg[j], n // 2, n % 2 == 0, sc[0, :n], sc[1, :n], sc[2])
                out[c0 + j] = 0.5 * (np.float64(a) + np.float64(b))
            else:
                out[c0 + j] = 0.0


@nb.njit(nogil=True, parallel=True)
def std_cols(x, out):  # pragma: no cover - compiled
    """out[c] = population standard deviation of x[:, c], accumulated in float64; 0 for a constant column."""
    n, n_ch = x.shape
    for c in nb.prange(n_ch):
        s = 0.0
        for i in range(n):
            s += x[i, c]
        mean = s / n
        ss = 0.0
        lo = x[0, c]
        hi = x[0, c]
        for i in range(n):
            d = x[i, c] - mean
            ss += d * d
            lo = min(lo, x[i, c])
            hi = max(hi, x[i, c])
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
