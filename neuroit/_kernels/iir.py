"""Generated Numba kernel of the streaming zero-phase filter and threshold-crossing detector.

Private: no validation here; :mod:`neuroit.dsp.engine` checks and prepares every argument.

Layout. A chunk is a *virtual* signal ``v`` of ``h + n + t`` rows (samples) by ``C`` channels::

    v[i] = head[i]                         for i < h           (float32, physical units)
    v[i] = (raw[i - h] - code0) * gain     for h <= i < h + n  (int16/uint16/float32 codes)
    v[i] = tail[i - h - n]                 for i >= h + n      (float32, physical units)

``head`` holds scipy's odd extension before the first sample of a recording, ``tail`` the odd
extension after its last one. The forward pass of the second-order-section cascade (direct form
II transposed) runs over every row once; its state after row ``n_keep - 1`` is written back to
``state`` for the next chunk. The backward pass runs per output block ``[bs, be)``, starting at
row ``bst - 1`` from the steady-state initial condition ``zi * yf[bst - 1]`` as scipy does at the
true end; the caller places ``bst`` far enough beyond the block for the error to decay below
tolerance (or at the true end, where it is exact). Forward outputs live in a per-thread ring
buffer of ``mask + 1`` rows, so the backward pass reads them from cache.

Precision. The backward pass and the forward sections whose poles are not near the unit circle
run in float32; forward sections with a pole radius above :data:`WIDE_RADIUS` (the bandpass's
high-pass pole pair, notches) run in float64, because they carry large slow inputs (LFP) whose
float32 rounding they amplify (all-float32 reaches ~0.8e-3 of the noise SD with a 2 mV LFP, the
mixed cascade ~0.05e-3). Products and sums are contracted into fused multiply-adds
(``fastmath={"contract"}``): fewer roundings and instructions. Every row is computed by the same
code whatever the chunking, so the output stays exactly chunk-invariant.

Speed. The code for one block of ``W`` channels (16: one AVX-512 register of float32) is
generated with every channel's filter state in its own local variable (``s1_<section>_<lane>``),
so the state stays in registers and LLVM's SLP vectoriser turns the ``W`` identical recursions into
SIMD instructions. Numba leaves the SLP vectoriser off by default; :func:`slp_vectorize` switches
it on only while these kernels compile. Rows are processed in segments without a branch per row
(odd-extension rows, which occur in the first and last chunk only, in plain lane loops; raw rows;
backward warm-up rows; output rows). C must be a multiple of ``W`` (the caller pads).
"""
from __future__ import annotations

import threading
from contextlib import contextmanager

import numba as nb
import numpy as np

WIDTH = 16
#: forward sections with a pole radius above this run in float64 (see :func:`wide_sections`)
WIDE_RADIUS = 0.9
#: floating-point contraction (a * b + c as one fused multiply-add, rounded once) in the block kernels
FASTMATH = {"contract"}
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


def width_for(n_sections: int) -> int:
    """Lanes per block: :data:`WIDTH`, or half of it for long cascades (notch filters), whose fully unrolled
    code would otherwise take Numba/LLVM far longer to compile for little gain."""
    return WIDTH if n_sections <= 2 else WIDTH // 2


def get_kernel(wide: tuple, width: int = WIDTH):
    """The parallel chunk kernel for a cascade of ``len(wide)`` biquads and ``width`` lanes (generated once).

    ``wide[k]`` is true for the sections whose forward pass runs in float64 (see :func:`wide_sections`).
    """
    n_sections = len(wide)
    key = (tuple(bool(w) for w in wide), width)
    if key not in _CACHE:
        ns = {"np": np, "nb": nb}
        exec(compile(_source(n_sections, width, key[0]), f"<neuroit-iir-{n_sections}x{width}>", "exec"), ns)
        block = nb.njit(nogil=True, fastmath=FASTMATH)(ns["_block"])
        ns["_block"] = block
        ns["_finish_block"] = _finish_block
        exec(compile(_driver_source(width), f"<neuroit-iir-driver-{n_sections}x{width}>", "exec"), ns)
        _CACHE[key] = nb.njit(nogil=True, parallel=True)(ns["run_chunk"])
    return _CACHE[key]


def wide_sections(sos: np.ndarray) -> tuple:
    """Sections whose forward pass runs in float64: poles of radius > :data:`WIDE_RADIUS`.

    Such a section (the bandpass's high-pass pole pair, a notch) passes slow, large inputs (LFP,
    offsets) and amplifies the rounding of its state; float32 there costs ~1e-3 of the noise.
    """
    out = []
    for s in np.asarray(sos, dtype=np.float64):
        out.append(bool(np.abs(np.roots(s[3:])).max(initial=0.0) > WIDE_RADIUS))
    return tuple(out)


def _source(S: int, W: int, P64: tuple) -> str:
    L = range(W)
    X64 = P64[0]  # the first section's input (scaled codes) is float64 too
    tx = "float64" if X64 else "float32"
    xi = "xd" if X64 else "x"  # the variable holding the first section's input
    out: list[str] = []

    def emit(ind: int, text: str) -> None:
        out.append("    " * ind + text)

    def section(ind: int, k: int, s: str, x: str, c, f: str) -> None:
        # DF2T with y substituted into the state updates (c1 = b1 - a1 b0, c2 = b2 - a2 b0); with contraction
        # each row and section is five fused multiply-adds or multiplies
        st1, st2 = (f"{s}1_{k}_{c}", f"{s}2_{k}_{c}") if isinstance(c, int) else (f"{s}[{k}, 0, c]", f"{s}[{k}, 1, c]")
        xc = f"{x}{c}" if isinstance(c, int) else f"{x}[c]"
        o = "qd" if f == "d" else "q"
        emit(ind, f"{o} = {st1}")
        emit(ind, f"{st1} = ({f}{k}_c1 * {xc} + {st2}) - {f}{k}_4 * {o}")
        emit(ind, f"{st2} = {f}{k}_c2 * {xc} - {f}{k}_5 * {o}")
        emit(ind, f"{xc} = {f}{k}_0 * {xc} + {o}")

    def forward(ind: int, lanes) -> None:
        # the forward cascade of one row: float32, except the sections in P64 (float64: their poles lie near the
        # unit circle, where float32 rounding of large slow inputs would be amplified beyond tolerance); float64
        # values live in variables of their own (xd, od) so that Numba never unifies the two types
        for k in range(S):
            wide, prev = P64[k], (P64[k - 1] if k else X64)
            xv = "xd" if wide else "x"
            for c in lanes:
                if wide != prev:
                    src = f"{'x' if wide else 'xd'}{c}" if isinstance(c, int) else f"{'x' if wide else 'xd'}[c]"
                    dst = f"{xv}{c}" if isinstance(c, int) else f"{xv}[c]"
                    emit(ind, f"{dst} = np.{'float64' if wide else 'float32'}({src})")
                section(ind, k, "s" if isinstance(c, int) else "sa", xv, c, "d" if wide else "f")
        if P64[S - 1]:
            for c in lanes:
                emit(ind, f"x{c} = np.float32(xd{c})" if isinstance(c, int) else "x[c] = np.float32(xd[c])")

    def store_forward(ind: int, lanes) -> None:
        emit(ind, "oy = (i & mask) * W")
        emit(ind, "yr = yf[oy:oy + W]")
        if isinstance(lanes, range):
            for c in lanes:
                emit(ind, f"yr[{c}] = x{c}")
        else:
            emit(ind, "for c in range(W):")
            emit(ind + 1, "yr[c] = x[c]")

    def crossing(c: int, z_new: str, z_old: str) -> str:
        return f"((({z_new} < lo{c}) & ({z_old} >= lo{c})) | (({z_new} > hi{c}) & ({z_old} <= hi{c})))"

    emit(0, "def _block(rawf, C, n, h, headf, tailf, code0, gain, coef, zi, state, init_forward, n_keep,")
    emit(0, "           bstart, bstop, bback, outf, has_out, out_start, detect, lo_thr, hi_thr, z_prev,")
    emit(0, "           last_spike, dead, spikes, n_spikes, sample0, sat, n_sat, c0, yf, mask):")
    emit(1, f"W = {W}")
    emit(1, "slo = sat[0]")
    emit(1, "shi = sat[1]")
    for k in range(S):
        for j in (0, 1, 2, 4, 5):
            emit(1, f"d{k}_{j} = coef[{6 * k + j}]")
        emit(1, f"d{k}_c1 = d{k}_1 - d{k}_4 * d{k}_0")
        emit(1, f"d{k}_c2 = d{k}_2 - d{k}_5 * d{k}_0")
        for j in ("0", "4", "5", "c1", "c2"):
            emit(1, f"f{k}_{j} = np.float32(d{k}_{j})")
        emit(1, f"zd{k}_0 = zi[{2 * k}]")
        emit(1, f"zd{k}_1 = zi[{2 * k + 1}]")
        emit(1, f"z{k}_0 = np.float32(zd{k}_0)")
        emit(1, f"z{k}_1 = np.float32(zd{k}_1)")
        for c in L:
            cast = "np.float64" if P64[k] else "np.float32"
            emit(1, f"s1_{k}_{c} = {cast}(state[{2 * k} * C + c0 + {c}])")
            emit(1, f"s2_{k}_{c} = {cast}(state[{2 * k + 1} * C + c0 + {c}])")
            emit(1, f"t1_{k}_{c} = np.float32(0.0)")  # backward state
            emit(1, f"t2_{k}_{c} = np.float32(0.0)")
    for c in L:
        emit(1, f"g{c} = np.{tx}(gain[c0 + {c}])")
        emit(1, f"kk{c} = np.{tx}(code0[c0 + {c}])")
        emit(1, f"lo{c} = lo_thr[c0 + {c}]")
        emit(1, f"hi{c} = hi_thr[c0 + {c}]")
        emit(1, f"sat{c} = 0")
        emit(1, f"satk{c} = 0")
        emit(1, f"x{c} = np.float32(0.0)")
        emit(1, f"xd{c} = 0.0")
        emit(1, f"u{c} = np.float32(0.0)")
    # rows of the odd extensions (head, tail: first and last chunk only) run in lane loops over arrays
    emit(1, "sa32 = np.zeros((S, 2, W), dtype=np.float32)")
    emit(1, "sa64 = np.zeros((S, 2, W), dtype=np.float64)")
    emit(1, "x = np.empty(W, dtype=np.float32)")
    emit(1, "xd = np.empty(W, dtype=np.float64)")
    emit(1, "zna = np.empty(W, dtype=np.float32)")
    emit(1, "zla = np.empty(W, dtype=np.float32)")
    emit(1, "base = np.empty(W, dtype=np.int64)")
    # steady-state start of the forward pass at row 0 (scipy: zi * x[0] for every section)
    emit(1, "if init_forward:")
    emit(2, "if h > 0:")
    for c in L:
        emit(3, f"{xi}{c} = np.{tx}(headf[c0 + {c}])")
    emit(2, "else:")
    for c in L:
        emit(3, f"{xi}{c} = (np.{tx}(rawf[c0 + {c}]) - kk{c}) * g{c}")
    for k in range(S):
        for c in L:
            zz, cast = ("zd", "np.float64") if P64[k] else ("z", "np.float32")
            emit(2, f"s1_{k}_{c} = {zz}{k}_0 * {cast}({xi}{c})")
            emit(2, f"s2_{k}_{c} = {zz}{k}_1 * {cast}({xi}{c})")
    emit(1, "nf = 0")
    emit(1, "n_blocks = bstart.shape[0]")
    emit(1, "b = 0")
    emit(1, "while True:")
    emit(2, "target = bback[b] if b < n_blocks else n_keep")
    # forward pass up to row target, in segments without a branch per row
    emit(2, "while nf < target:")
    emit(3, "if nf < h or nf >= h + n:")
    emit(4, "if nf < h:")
    emit(5, "src = headf")
    emit(5, "rb = 0")
    emit(5, "e = min(target, h)")
    emit(4, "else:")
    emit(5, "src = tailf")
    emit(5, "rb = h + n")
    emit(5, "e = target")
    emit(4, "if nf < n_keep:")
    emit(5, "e = min(e, n_keep)")
    for k in range(S):
        for c in L:
            arr = "sa64" if P64[k] else "sa32"
            emit(4, f"{arr}[{k}, 0, {c}] = s1_{k}_{c}")
            emit(4, f"{arr}[{k}, 1, {c}] = s2_{k}_{c}")
    emit(4, "for i in range(nf, e):")
    emit(5, "o = (i - rb) * C + c0")
    emit(5, "for c in range(W):")
    emit(6, f"{xi}[c] = np.{tx}(src[o + c])")
    for k in range(S):
        wide, prev = P64[k], (P64[k - 1] if k else X64)
        xv, f, arr = ("xd", "d", "sa64") if wide else ("x", "f", "sa32")
        emit(5, "for c in range(W):")
        if wide != prev:
            emit(6, f"{xv}[c] = np.{'float64' if wide else 'float32'}({'x' if wide else 'xd'}[c])")
        ov = "qd" if wide else "q"
        emit(6, f"{ov} = {arr}[{k}, 0, c]")
        emit(6, f"{arr}[{k}, 0, c] = ({f}{k}_c1 * {xv}[c] + {arr}[{k}, 1, c]) - {f}{k}_4 * {ov}")
        emit(6, f"{arr}[{k}, 1, c] = {f}{k}_c2 * {xv}[c] - {f}{k}_5 * {ov}")
        emit(6, f"{xv}[c] = {f}{k}_0 * {xv}[c] + {ov}")
    if P64[S - 1]:
        emit(5, "for c in range(W):")
        emit(6, "x[c] = np.float32(xd[c])")
    emit(5, "oy = (i & mask) * W")
    emit(5, "for c in range(W):")
    emit(6, "yf[oy + c] = x[c]")
    for k in range(S):
        for c in L:
            arr = "sa64" if P64[k] else "sa32"
            emit(4, f"s1_{k}_{c} = {arr}[{k}, 0, {c}]")
            emit(4, f"s2_{k}_{c} = {arr}[{k}, 1, {c}]")
    emit(3, "else:")
    emit(4, "e = min(target, h + n)")
    emit(4, "if nf < n_keep:")
    emit(5, "e = min(e, n_keep)")
    emit(4, "for i in range(nf, e):")
    emit(5, "o = (i - h) * C + c0")
    emit(5, "rr = rawf[o:o + W]")
    for c in L:
        emit(5, f"r{c} = rr[{c}]")
    for c in L:
        emit(5, f"sat{c} += (r{c} == slo) | (r{c} == shi)")
    for c in L:
        emit(5, f"{xi}{c} = (np.{tx}(r{c}) - kk{c}) * g{c}")
    forward(5, L)
    store_forward(5, L)
    emit(3, "nf = e")
    emit(3, "if nf == n_keep:")  # the state carried into the next chunk, and the saturation of the kept rows
    for k in range(S):
        for c in L:
            emit(4, f"state[{2 * k} * C + c0 + {c}] = s1_{k}_{c}")
            emit(4, f"state[{2 * k + 1} * C + c0 + {c}] = s2_{k}_{c}")
    for c in L:
        emit(4, f"satk{c} = sat{c}")
    emit(2, "if b == n_blocks:")
    emit(3, "break")
    # backward pass of block b: from row bst - 1 (steady state), output rows [bs, be)
    emit(2, "bs = bstart[b]")
    emit(2, "be = bstop[b]")
    emit(2, "bst = bback[b]")
    emit(2, "oy = ((bst - 1) & mask) * W")
    emit(2, "yr = yf[oy:oy + W]")
    for c in L:
        emit(2, f"v = yr[{c}]")
        for k in range(S):
            emit(2, f"t1_{k}_{c} = z{k}_0 * v")
            emit(2, f"t2_{k}_{c} = z{k}_1 * v")
    for c in L:
        emit(2, f"base[{c}] = n_spikes[c0 + {c}]")
        emit(2, f"zn{c} = np.float32(np.nan)")  # no crossing at row be from this block
    emit(2, "for i in range(bst - 1, be - 1, -1):")  # warm-up rows after the block
    emit(3, "oy = (i & mask) * W")
    emit(3, "yr = yf[oy:oy + W]")
    for c in L:
        emit(3, f"u{c} = yr[{c}]")
    for k in range(S):
        for c in L:
            section(3, k, "t", "u", c, "f")
    emit(2, "for i in range(be - 1, bs - 1, -1):")  # rows of the block
    emit(3, "oy = (i & mask) * W")
    emit(3, "yr = yf[oy:oy + W]")
    for c in L:
        emit(3, f"u{c} = yr[{c}]")
    for k in range(S):
        for c in L:
            section(3, k, "t", "u", c, "f")
    for c in L:
        emit(3, f"yr[{c}] = u{c}")  # the filtered value stays in the ring (the block's last one is read below)
    emit(3, "if has_out:")
    emit(4, "oo = (i - out_start) * C + c0")
    emit(4, "orow = outf[oo:oo + W]")
    for c in L:
        emit(4, f"orow[{c}] = u{c}")
    emit(3, "if detect:")
    emit(4, "hit = " + " | ".join(crossing(c, f"zn{c}", f"u{c}") for c in L))
    emit(4, "if hit:")
    for c in L:
        emit(5, f"if {crossing(c, f'zn{c}', f'u{c}')}:")
        emit(6, f"spikes[c0 + {c}, n_spikes[c0 + {c}]] = sample0 + i + 1")
        emit(6, f"n_spikes[c0 + {c}] += 1")
    for c in L:
        emit(3, f"zn{c} = u{c}")
    emit(2, "if detect:")
    emit(3, "oy = ((be - 1) & mask) * W")
    for c in L:
        emit(3, f"zna[{c}] = u{c}")
        emit(3, f"zla[{c}] = yf[oy + {c}]")
    emit(3, "_finish_block(zna, zla, base, c0, bs, sample0, lo_thr, hi_thr, z_prev, last_spike, dead, "
            "spikes, n_spikes)")
    emit(2, "b += 1")
    for c in L:
        emit(1, f"n_sat[c0 + {c}] += satk{c}")
    return "\n".join(out).replace("S, 2, W", f"{S}, 2, {W}") + "\n"


def _driver_source(W: int) -> str:
    return f'''
def run_chunk(raw, head, tail, code0, gain, coef, zi, state, init_forward, n_keep, bstart, bstop, bback,
              out, out_start, detect, lo_thr, hi_thr, z_prev, last_spike, dead, spikes, n_spikes, sample0,
              sat, n_sat, yf_all, mask):
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
               last_spike, dead, spikes, n_spikes, sample0, sat, n_sat, cb * {W}, yf, mask)
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
