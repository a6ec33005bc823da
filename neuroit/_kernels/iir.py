"""Generated Numba kernel of the streaming zero-phase filter and threshold-crossing detector.

Private: no validation here; :mod:`neuroit.dsp.engine` checks and prepares every argument.

Layout. A chunk is a *virtual* signal ``v`` of ``h + n + t`` rows (samples) by ``C`` channels::

    v[i] = head[i]                         for i < h           (float32, physical units)
    v[i] = (raw[i - h] - code0) * gain     for h <= i < h + n  (int16/uint16/float32 codes)
    v[i] = tail[i - h - n]                 for i >= h + n      (float32, physical units)

``head`` holds scipy's odd extension before the first sample of a recording, ``tail`` the odd
extension after its last one. The forward pass of the second-order-section cascade (direct form
II transposed, float32) runs over every row once; its state after row ``n_keep - 1`` is written
back to ``state`` for the next chunk. The backward pass runs per output block ``[bs, be)``,
starting at row ``bst - 1`` from the steady-state initial condition ``zi * yf[bst - 1]`` as scipy
does at the true end; the caller places ``bst`` far enough beyond the block for the error to
decay below tolerance (or at the true end, where it is exact). Forward outputs live in a
per-thread ring buffer of ``mask + 1`` rows, so the backward pass reads them from cache.

Speed. The code for one block of ``W`` channels is generated with every channel's filter state in
its own local variable (``s1_<section>_<lane>``), so the state stays in registers and LLVM's SLP
vectoriser turns the ``W`` identical recursions into SIMD instructions. Numba leaves the SLP
vectoriser off by default; :func:`slp_vectorize` switches it on only while these kernels compile.
C must be a multiple of ``W`` (the caller pads).
"""
from __future__ import annotations

import threading
from contextlib import contextmanager

import numba as nb
import numpy as np

WIDTH = 8
_CACHE: dict = {}
_LOCK = threading.Lock()


@contextmanager
def slp_vectorize():
    """Compile with LLVM's SLP vectoriser on (numba.config is restored afterwards)."""
    with _LOCK:
        old = nb.config.SLP_VECTORIZE
        nb.config.SLP_VECTORIZE = 1
        try:
            yield
        finally:
            nb.config.SLP_VECTORIZE = old


def get_kernel(n_sections: int, width: int = WIDTH):
    """The parallel chunk kernel for ``n_sections`` biquads and ``width`` lanes (generated once)."""
    key = (n_sections, width)
    if key not in _CACHE:
        ns = {"np": np, "nb": nb}
        exec(compile(_source(n_sections, width), f"<neuroit-iir-{n_sections}x{width}>", "exec"), ns)
        block = nb.njit(nogil=True)(ns["_block"])
        ns["_block"] = block
        ns["_finish_block"] = _finish_block
        exec(compile(_driver_source(width), f"<neuroit-iir-driver-{n_sections}x{width}>", "exec"), ns)
        _CACHE[key] = nb.njit(nogil=True, parallel=True)(ns["run_chunk"])
    return _CACHE[key]


def _source(S: int, W: int) -> str:
    L = range(W)
    out: list[str] = []

    def emit(ind: int, text: str) -> None:
        out.append("    " * ind + text)

    def cascade(ind: int, s: str) -> None:
        # forward (s): float64 coefficients, state and values x; backward (t): float32, values u
        # DF2T rewritten with y substituted into the state updates (c1 = b1 - a1 b0, c2 = b2 - a2 b0), so the
        # loop-carried chain per row is one multiply and one subtract: the recursion is latency-bound
        q, x, y, o = ("d", "x", "y", "v") if s == "s" else ("q", "u", "yb", "vb")
        for k in range(S):
            for c in L:
                emit(ind, f"{o} = {s}1_{k}_{c}")
                emit(ind, f"{y} = {q}{k}_0 * {x}{c} + {o}")
                emit(ind, f"{s}1_{k}_{c} = ({q}{k}_c1 * {x}{c} + {s}2_{k}_{c}) - {q}{k}_4 * {o}")
                emit(ind, f"{s}2_{k}_{c} = {q}{k}_c2 * {x}{c} - {q}{k}_5 * {o}")
                emit(ind, f"{x}{c} = {y}")

    def forward_row(ind: int) -> None:
        emit(ind, "i = nf")
        emit(ind, "if i < h:")
        emit(ind + 1, "o = i * C + c0")
        emit(ind + 1, "rw = headf[o:o + W]")
        for c in L:
            emit(ind + 1, f"x{c} = np.float64(rw[{c}])")
        emit(ind, "elif i < h + n:")
        emit(ind + 1, "o = (i - h) * C + c0")
        emit(ind + 1, "rr = rawf[o:o + W]")
        for c in L:
            emit(ind + 1, f"r{c} = rr[{c}]")
        for c in L:
            emit(ind + 1, f"x{c} = (np.float64(r{c}) - kk{c}) * g{c}")
        emit(ind + 1, "if i < n_keep:")
        for c in L:
            emit(ind + 2, f"sat{c} += (r{c} == sat_lo) | (r{c} == sat_hi)")
        emit(ind, "else:")
        emit(ind + 1, "o = (i - h - n) * C + c0")
        emit(ind + 1, "rw = tailf[o:o + W]")
        for c in L:
            emit(ind + 1, f"x{c} = np.float64(rw[{c}])")
        emit(ind, "if i == 0 and init_forward:")
        for k in range(S):
            for c in L:
                emit(ind + 1, f"s1_{k}_{c} = zd{k}_0 * x{c}")
                emit(ind + 1, f"s2_{k}_{c} = zd{k}_1 * x{c}")
        cascade(ind, "s")
        emit(ind, "o = (i & mask) * W")
        emit(ind, "yr = yf[o:o + W]")
        for c in L:
            emit(ind, f"yr[{c}] = np.float32(x{c})")
        emit(ind, "if i == n_keep - 1:")
        for k in range(S):
            for c in L:
                emit(ind + 1, f"state[{2 * k} * C + c0 + {c}] = s1_{k}_{c}")
                emit(ind + 1, f"state[{2 * k + 1} * C + c0 + {c}] = s2_{k}_{c}")
        emit(ind, "nf += 1")

    def crossing(c: int, z_new: str, z_old: str) -> str:
        return (f"((({z_new} < lo{c}) & ({z_old} >= lo{c})) | (({z_new} > hi{c}) & ({z_old} <= hi{c})))")

    emit(0, "def _block(rawf, C, n, h, headf, tailf, code0, gain, coef, zi, state, init_forward, n_keep,")
    emit(0, "           bstart, bstop, bback, outf, has_out, out_start, detect, lo_thr, hi_thr, z_prev,")
    emit(0, "           last_spike, dead, spikes, n_spikes, sample0, sat_lo, sat_hi, n_sat, c0, yf, mask):")
    emit(1, f"W = {W}")
    for k in range(S):
        for j in (0, 1, 2, 4, 5):
            emit(1, f"d{k}_{j} = coef[{6 * k + j}]")
            emit(1, f"q{k}_{j} = np.float32(coef[{6 * k + j}])")
        emit(1, f"d{k}_c1 = d{k}_1 - d{k}_4 * d{k}_0")
        emit(1, f"d{k}_c2 = d{k}_2 - d{k}_5 * d{k}_0")
        emit(1, f"q{k}_c1 = np.float32(d{k}_c1)")
        emit(1, f"q{k}_c2 = np.float32(d{k}_c2)")
        emit(1, f"zd{k}_0 = zi[{2 * k}]")
        emit(1, f"zd{k}_1 = zi[{2 * k + 1}]")
        emit(1, f"zi{k}_0 = np.float32(zi[{2 * k}])")
        emit(1, f"zi{k}_1 = np.float32(zi[{2 * k + 1}])")
        for c in L:
            emit(1, f"s1_{k}_{c} = state[{2 * k} * C + c0 + {c}]")
            emit(1, f"s2_{k}_{c} = state[{2 * k + 1} * C + c0 + {c}]")
            emit(1, f"t1_{k}_{c} = np.float32(0.0)")  # backward state
            emit(1, f"t2_{k}_{c} = np.float32(0.0)")
    for c in L:
        emit(1, f"g{c} = np.float64(gain[c0 + {c}])")
        emit(1, f"kk{c} = np.float64(code0[c0 + {c}])")
        emit(1, f"lo{c} = lo_thr[c0 + {c}]")
        emit(1, f"hi{c} = hi_thr[c0 + {c}]")
        emit(1, f"sat{c} = 0")
        emit(1, f"zn{c} = np.float32(0.0)")
        emit(1, f"zl{c} = np.float32(0.0)")
        emit(1, f"x{c} = np.float64(0.0)")
        emit(1, f"u{c} = np.float32(0.0)")
    emit(1, "zna = np.empty(W, dtype=np.float32)")
    emit(1, "zla = np.empty(W, dtype=np.float32)")
    emit(1, "base = np.empty(W, dtype=np.int64)")
    emit(1, "nf = 0")
    emit(1, "for b in range(bstart.shape[0]):")
    emit(2, "bs = bstart[b]")
    emit(2, "be = bstop[b]")
    emit(2, "bst = bback[b]")
    emit(2, "while nf < bst:")
    forward_row(3)
    emit(2, "o = ((bst - 1) & mask) * W")
    emit(2, "yr = yf[o:o + W]")
    for c in L:
        emit(2, f"v = yr[{c}]")
        for k in range(S):
            emit(2, f"t1_{k}_{c} = zi{k}_0 * v")
            emit(2, f"t2_{k}_{c} = zi{k}_1 * v")
    for c in L:
        emit(2, f"base[{c}] = n_spikes[c0 + {c}]")
    emit(2, "i = bst - 1")
    emit(2, "while i >= bs:")
    emit(3, "o = (i & mask) * W")
    emit(3, "yr = yf[o:o + W]")
    for c in L:
        emit(3, f"u{c} = yr[{c}]")
    cascade(3, "t")
    emit(3, "if i < be:")
    emit(4, "if has_out:")
    emit(5, "oo = (i - out_start) * C + c0")
    emit(5, "orow = outf[oo:oo + W]")
    for c in L:
        emit(5, f"orow[{c}] = u{c}")
    emit(4, "if detect:")
    emit(5, "if i == be - 1:")
    for c in L:
        emit(6, f"zl{c} = u{c}")
    emit(5, "else:")
    emit(6, "hit = " + " | ".join(crossing(c, f"zn{c}", f"u{c}") for c in L))
    emit(6, "if hit:")
    for c in L:
        emit(7, f"if {crossing(c, f'zn{c}', f'u{c}')}:")
        emit(8, f"spikes[c0 + {c}, n_spikes[c0 + {c}]] = sample0 + i + 1")
        emit(8, f"n_spikes[c0 + {c}] += 1")
    for c in L:
        emit(5, f"zn{c} = u{c}")
    emit(3, "i -= 1")
    emit(2, "if detect:")
    for c in L:
        emit(3, f"zna[{c}] = zn{c}")
        emit(3, f"zla[{c}] = zl{c}")
    emit(3, "_finish_block(zna, zla, base, c0, bs, sample0, lo_thr, hi_thr, z_prev, last_spike, dead, "
            "spikes, n_spikes)")
    emit(1, "while nf < n_keep:")
    forward_row(2)
    for c in L:
        emit(1, f"n_sat[c0 + {c}] += sat{c}")
    return "\n".join(out) + "\n"


def _driver_source(W: int) -> str:
    return f'''
def run_chunk(raw, head, tail, code0, gain, coef, zi, state, init_forward, n_keep, bstart, bstop, bback,
              out, out_start, detect, lo_thr, hi_thr, z_prev, last_spike, dead, spikes, n_spikes, sample0,
              sat_lo, sat_hi, n_sat, yf_all, mask):
    n, C = raw.shape
    rawf = raw.reshape(-1)
    headf = head.reshape(-1)
    tailf = tail.reshape(-1)
    outf = out.reshape(-1)
    has_out = out.shape[0] > 0
    state_f = state.reshape(-1)
    for cb in nb.prange(C // {W}):
        yf = yf_all[nb.get_thread_id()]
        _block(rawf, C, n, head.shape[0], headf, tailf, code0, gain, coef, zi, state_f, init_forward, n_keep,
               bstart, bstop, bback, outf, has_out, out_start, detect, lo_thr, hi_thr, z_prev,
               last_spike, dead, spikes, n_spikes, sample0, sat_lo, sat_hi, n_sat, cb * {W}, yf, mask)
'''


@nb.njit(nogil=True)
def _finish_block(zn, zl, base, c0, bs, sample0, lo_thr, hi_thr, z_prev, last_spike, dead, spikes, n_spikes):
    """Crossing at a block's first row, reverse the (backward-found) candidates, apply the dead time."""
    for c in range(zn.shape[0]):  # pragma: no cover - compiled
        ch = c0 + c
        lo = lo_thr[ch]
        hi = hi_thr[ch]
        z = zn[c]
        zp = z_prev[ch]
        if ((z < lo) & (zp >= lo)) | ((z > hi) & (zp <= hi)):
            spikes[ch, n_spikes[ch]] = sample0 + bs
            n_spikes[ch] += 1
        z_prev[ch] = zl[c]
        a = base[c]
        b = n_spikes[ch] - 1
        while a < b:
            t = spikes[ch, a]
            spikes[ch, a] = spikes[ch, b]
            spikes[ch, b] = t
            a += 1
            b -= 1
        m = base[c]
        last = last_spike[ch]
        for j in range(base[c], n_spikes[ch]):
            s = spikes[ch, j]
            if s - last >= dead:
                spikes[ch, m] = s
                m += 1
                last = s
        n_spikes[ch] = m
        last_spike[ch] = last
