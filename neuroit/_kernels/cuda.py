"""CUDA kernels (Numba) of the zero-phase filter and threshold crossings: the GPU path of
:func:`neuroit.dsp.detect_crossings` (``device="cuda"``).

Private: no validation here; :mod:`neuroit.dsp.gpu` checks and prepares every argument.

One GPU thread runs one channel over one *segment* of ``L`` samples on a fixed grid (segment ``j`` is
``[j L, (j + 1) L)``); the threads of a warp take neighbouring channels, so that each of their reads of a
row is one coalesced access. The arithmetic is that of the CPU kernel (:mod:`neuroit._kernels.iir`,
same b0-normalised cascade): the first section in direct form I on the second difference of the codes
(taken in float64, exact), every other section and the backward pass in direct form II transposed, in
float32. Where the CPU kernel carries the forward state from chunk to chunk, a segment's forward pass
starts ``margin`` samples before it from the steady state (or at the start of the odd extension, exactly,
when that is nearer), as the backward pass starts ``margin`` samples after it (or at the true end): over a
margin the impulse response decays by 1e-7, so the two paths differ by float32 rounding and that decay.
Rows are sample indices; ``-p .. -1`` and ``n .. n + p - 1`` are the odd extensions (``head``/``tail``).
"""
from __future__ import annotations

import math

from numba import cuda, float32, float64, int64

#: most sections a cascade may have on the GPU (the per-thread state lives in fixed-size local arrays)
MAX_SECTIONS = 32


@cuda.jit(device=True)
def _value(raw, r0, code0, head, tail, n, p, r, ch):  # pragma: no cover - compiled
    if r < 0:
        return float64(head[r + p, ch])
    if r >= n:
        return float64(tail[r - n, ch])
    return float64(raw[r - r0, ch]) - code0[ch]


@cuda.jit(device=True)
def _bounds(j0, k, seg, n):  # pragma: no cover - compiled
    """Rows ``[s0, s1)`` of segment ``j0 + k``."""
    s0 = (j0 + k) * seg
    return s0, min(s0 + seg, n)


@cuda.jit(device=True)
def _cascade(w, s1, s2, coef, q0, n_sections):  # pragma: no cover - compiled
    """Sections ``q0 ..`` in direct form II transposed (states ``s1``/``s2`` updated); returns the output."""
    for q in range(q0, n_sections):
        o = w + s1[q]
        s1[q] = float32(-coef[6 * q + 4]) * o + (float32(coef[6 * q + 1]) * w + s2[q])
        s2[q] = float32(-coef[6 * q + 5]) * o + float32(coef[6 * q + 2]) * w
        w = o
    return w


@cuda.jit
def forward(raw, r0, code0, head, tail, n, p, seg, margin, j0, n_seg, coef, zi, g0, n_sections, yf, y0,
            slo, shi, n_sat, j_rails):  # pragma: no cover - compiled
    """Forward pass of segments ``j0 .. j0 + n_seg - 1``: writes ``yf[r - y0, ch]`` for the segment's rows
    (the last segment's through the end of the odd extension) and counts the samples at the rails in the
    segments before ``j_rails`` (the others are counted by the next upload)."""
    ch, k = cuda.grid(2)
    if ch >= raw.shape[1] or k >= n_seg:
        return
    s0, s1 = _bounds(j0, k, seg, n)
    stop = n + p if s1 == n else s1
    start = s0 - margin
    if start <= 0:
        start = -p
    s1s = cuda.local.array(MAX_SECTIONS, float32)
    s2s = cuda.local.array(MAX_SECTIONS, float32)
    x = _value(raw, r0, code0, head, tail, n, p, start, ch)
    p1 = x
    p2 = x
    y1 = float32(g0 * x)
    y2 = y1
    for q in range(1, n_sections):
        s1s[q] = float32(zi[2 * q] * x)
        s2s[q] = float32(zi[2 * q + 1] * x)
    e1 = coef[1] + 2.0
    e2 = coef[2] - 1.0
    f4 = float32(coef[4])
    f5 = float32(coef[5])
    rails = 0
    for r in range(start, stop):
        x = _value(raw, r0, code0, head, tail, n, p, r, ch)
        w = float32(((x + p2) - (p1 + p1)) + (e1 * p1 + e2 * p2))
        o = (w - f5 * y2) - f4 * y1
        p2 = p1
        p1 = x
        y2 = y1
        y1 = o
        w = _cascade(o, s1s, s2s, coef, 1, n_sections)
        if r >= s0:
            yf[r - y0, ch] = w
            if r < s1 and j0 + k < j_rails:
                c = raw[r - r0, ch]
                rails += (c == slo) | (c == shi)
    if rails:
        cuda.atomic.add(n_sat, ch, rails)


@cuda.jit
def backward(yf, y0, n, p, seg, margin, j0, n_seg, coef, zi, n_sections, gain, dc, zf, z0):  # pragma: no cover
    """Backward pass of segments ``j0 .. j0 + n_seg - 1`` from the forward rows ``yf``: writes the filtered
    rows, in physical units, to ``zf[r - z0, ch]``."""
    ch, k = cuda.grid(2)
    if ch >= yf.shape[1] or k >= n_seg:
        return
    s0, s1 = _bounds(j0, k, seg, n)
    top = s1 + margin
    if top >= n:
        top = n + p
    t1 = cuda.local.array(MAX_SECTIONS, float32)
    t2 = cuda.local.array(MAX_SECTIONS, float32)
    v = yf[top - 1 - y0, ch]
    for q in range(n_sections):
        t1[q] = float32(zi[2 * q]) * v
        t2[q] = float32(zi[2 * q + 1]) * v
    ga = gain[ch]
    d = dc[ch]
    for r in range(top - 1, s0 - 1, -1):
        u = _cascade(yf[r - y0, ch], t1, t2, coef, 0, n_sections)
        if r < s1:
            zf[r - z0, ch] = u * ga + d


@cuda.jit
def crossings(zf, z0, n, seg, j0, n_seg, z_prev, lo, hi, counts, offsets, out):  # pragma: no cover - compiled
    """Crossings of segment ``j0 + k`` (the row before ``z0`` is ``z_prev``): their number to ``counts[k, ch]``,
    or, where ``out`` is not empty, their sample indices to ``out`` from ``offsets[k, ch]`` on."""
    ch, k = cuda.grid(2)
    if ch >= zf.shape[1] or k >= n_seg:
        return
    s0, s1 = _bounds(j0, k, seg, n)
    zp = z_prev[ch] if s0 == z0 else zf[s0 - 1 - z0, ch]
    lo_c = lo[ch]
    hi_c = hi[ch]
    write = out.shape[0] > 0
    m = offsets[k, ch] if write else int64(0)
    for r in range(s0, s1):
        z = zf[r - z0, ch]
        if ((z < lo_c) and (zp >= lo_c)) or ((z > hi_c) and (zp <= hi_c)):
            if write:
                out[m] = r
            m += 1
        zp = z
    if not write:
        counts[k, ch] = m


def grid(n_channels: int, n_segments: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Blocks and threads per block for a (channels, segments) launch: 32 channels a warp."""
    tpb = (32, 4)
    return (math.ceil(n_channels / tpb[0]), math.ceil(n_segments / tpb[1])), tpb
