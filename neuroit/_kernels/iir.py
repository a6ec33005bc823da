"""Generated Numba kernel of the streaming zero-phase filter and threshold-crossing detector.

Private: no validation here; :mod:`neuroit.dsp.engine` checks and prepares every argument.

Layout. A chunk is a *virtual* signal ``v`` of ``h + n + t`` rows (samples) by ``C`` channels, in
code units relative to each channel's first code::

    v[i] = head[i]                  for i < h           (float32: scipy's odd extension before sample 0)
    v[i] = raw[i - h] - code0       for h <= i < h + n  (int16 or float32 codes)
    v[i] = tail[i - h - n]          for i >= h + n      (float32: the odd extension after the last sample)

The forward pass of the second-order-section cascade runs over every row once; its state after
row ``n_keep - 1`` is written back to ``state`` for the next chunk. The backward pass runs per
output block ``[bs, be)``, starting at row ``bst - 1`` from the steady-state initial condition
``zi * yf[bst - 1]`` as scipy does at the true end; the caller places ``bst`` far enough beyond
the block for the error to decay below tolerance (or at the true end, where it is exact).
Forward outputs live in a per-thread ring buffer of ``mask + 1`` rows, so the backward pass reads
them from cache. Filtered values are in (scaled) codes: output rows, every ``out_step``-th from row
``out_start``, are written as ``value * gain + dc`` (physical units); thresholds come in the kernel's
units. ``raw`` may be a read-only view of a memory-mapped file (no copy).

Precision. Everything runs in float32 except one step. The cascade comes from
:func:`kernel_cascade`: every numerator divided by its ``b0`` (the caller folds the product of the
``b0`` into ``gain`` and the thresholds), palindromic numerators (``b2 = b0``) marked ``symmetric``.
The first section is the one whose zeros lie nearest 0 Hz (the bandpass's high-pass pair): it runs
in direct form I with its numerator written as ``(x[i] - 2 x[i-1] + x[i-2]) + e1 x[i-1] + e2 x[i-2]``
(``e1 = b1 + 2``, ``e2 = b2 - 1``: tiny, and ``e2 = 0`` when symmetric). On integer codes the
second difference is exact in float32, so the large slow inputs (LFP, offsets) that a float32
recursion would otherwise amplify near its poles never enter the recursion: the error stays ~3e-5
of the noise SD with a 5 mV LFP (scipy's float64 ``sosfiltfilt`` as reference). Float inputs (not
integer codes) take the second difference in float64 (``float_input``). The later sections and the
backward pass see band-limited signals and use direct form II transposed (``o = x + s1``, then
``s1 = b1 x - a1 o + s2``, ``s2 = b2 x - a2 o``: three fused multiply-adds and one addition when
symmetric). Products and sums are contracted into fused multiply-adds (``fastmath={"contract"}``).
Every row is computed by the same code whatever the chunking, so the output is exactly
chunk-invariant.

Speed. The code for one block of ``W`` channels (16: one AVX-512 register of float32) is
generated with every channel's filter state in its own local variable (``s1_<section>_<lane>``),
so the state stays in registers and LLVM's SLP vectoriser turns the ``W`` identical recursions into
SIMD instructions. Numba leaves the SLP vectoriser off by default; :func:`slp_vectorize` switches
it on only while these kernels compile. The hot loops carry little besides the filter: saturation
is found from running minima/maxima (counted exactly afterwards only where a rail was reached),
row offsets are unsigned so that Numba emits no negative-index wraparound code (~20 % of the
time otherwise), odd-extension rows (first and last chunk only) run in plain lane loops, and
with ``one_sided`` (no upper thresholds: the default negative crossings) each row is compared with
the threshold once and the result carried to the next row. The forward pass waits on memory (it
reads 32 bytes of every row of codes) and the backward pass on arithmetic, so while a block's backward
pass runs it asks for the next chunk's rows of its channels (``ahead``, one software prefetch a row,
into the L2 cache, from where they go on to the shared L3): the next forward pass then reads them from
cache (~8 % of the kernel's time per 288 ch × 60 s). The SLP vectoriser's output is
sensitive to the shape of this code (a form with shorter carried chains but one more multiply,
direct form I in the backward pass, or even an unused constant made it up to 2x slower when
measured): time ``benchmarks/bench_dsp.py`` after changing it.
C must be a multiple of ``W``.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager

import numba as nb
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

WIDTH = 16
#: floating-point contraction (a * b + c as one fused multiply-add, rounded once) in the block kernels
FASTMATH = {"contract"}
_CACHE: dict = {}
_LOCK = threading.Lock()


@intrinsic
def prefetch(typingctx, arr, idx):
    """Ask the CPU to bring the cache line of ``arr[idx]`` (1-D) towards its L2 cache (``prefetcht2``); a hint
    that never faults and returns nothing."""

    def codegen(context, builder, sig, args):
        ptr = builder.gep(context.make_array(sig.args[0])(context, builder, args[0]).data, [args[1]])
        i32 = ir.IntType(32)
        fn = builder.module.declare_intrinsic("llvm.prefetch", [ptr.type],
                                              ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32]))
        builder.call(fn, [ptr, i32(0), i32(1), i32(1)])  # read, locality 1, data cache
        return context.get_dummy_value()

    return types.void(arr, idx), codegen


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


def kernel_cascade(sos: np.ndarray) -> tuple[np.ndarray, float, bool]:
    """The cascade as the kernel runs it: ``(sections, scale, symmetric)``.

    The section whose zeros lie nearest 0 Hz comes first; every numerator is divided by its ``b0``
    (the filter is ``scale`` times the returned cascade, ``scale`` the product of the ``b0``);
    ``symmetric`` when every numerator is palindromic (``b2 == b0``: zeros on the unit circle, as for
    elliptic, Butterworth and notch sections), which the kernel then uses (``b2 / b0`` set to exactly 1).
    """
    sos = np.array(sos, dtype=np.float64)
    if np.any(sos[:, 0] == 0):
        raise ValueError("every section's b0 must be non-zero")
    near_dc = np.abs(sos[:, :3].sum(axis=1)) / np.abs(sos[:, :3]).sum(axis=1)
    k = int(np.argmin(near_dc))
    sos = np.concatenate([sos[k:k + 1], np.delete(sos, k, axis=0)])
    scale = float(np.prod(sos[:, 0]))
    sos[:, :3] /= sos[:, :1]
    symmetric = bool(np.all(np.abs(sos[:, 2] - 1.0) <= 1e-12))
    if symmetric:
        sos[:, 2] = 1.0
    return sos, scale, symmetric


def get_kernel(n_sections: int, width: int = WIDTH, float_input: bool = False, symmetric: bool = True,
               one_sided: bool = True):
    """The parallel chunk kernel for a cascade of ``n_sections`` biquads and ``width`` lanes (generated once)."""
    key = (int(n_sections), int(width), bool(float_input), bool(symmetric), bool(one_sided))
    if key not in _CACHE:
        ns = {"np": np, "nb": nb}
        exec(compile(_source(*key), f"<neuroit-iir-{n_sections}x{width}>", "exec"), ns)
        ns["_block"] = nb.njit(nogil=True, fastmath=FASTMATH)(ns["_block"])
        ns["_finish_block"] = _finish_block
        ns["_count_rails"] = _count_rails
        ns["prefetch"] = prefetch
        exec(compile(_driver_source(width), f"<neuroit-iir-driver-{n_sections}x{width}>", "exec"), ns)
        _CACHE[key] = nb.njit(nogil=True, parallel=True)(ns["run_chunk"])
    return _CACHE[key]


def _source(S: int, W: int, float_input: bool, symmetric: bool, one_sided: bool) -> str:
    L = range(W)
    T0 = "np.float64" if float_input else "np.float32"  # type of the first section's input and its history
    out: list[str] = []

    def emit(ind: int, text: str) -> None:
        out.append("    " * ind + text)

    def first(ind: int, c) -> None:
        # section 0, direct form I; its numerator (b0 = 1) as an (exact on integer codes) second difference plus
        # a tiny rest: x[i] + b1 x[i-1] + b2 x[i-2] = (x[i] - 2 x[i-1] + x[i-2]) + e1 x[i-1] (+ e2 x[i-2])
        x, p1, p2, y1, y2, w = (f"x{c}", f"p1_{c}", f"p2_{c}", f"y1_{c}", f"y2_{c}", f"w{c}") if isinstance(c, int) \
            else ("x[c]", "sp[0, c]", "sp[1, c]", "sa[0, 0, c]", "sa[0, 1, c]", "w[c]")
        rest = f"e1 * {p1}" if symmetric else f"(e1 * {p1} + e2 * {p2})"
        emit(ind, f"v = np.float32((({x} + {p2}) - ({p1} + {p1})) + {rest})")
        emit(ind, f"{p2} = {p1}")
        emit(ind, f"{p1} = {x}")
        emit(ind, f"o = (v - f0_5 * {y2}) - f0_4 * {y1}")
        emit(ind, f"{y2} = {y1}")
        emit(ind, f"{y1} = o")
        emit(ind, f"{w} = o")

    def section(ind: int, k: int, st: str, w: str, c) -> None:
        # direct form II transposed with b0 = 1 (and b2 = 1 when symmetric): three fused multiply-adds and one
        # addition per row and section
        s1, s2, wc = (f"{st}1_{k}_{c}", f"{st}2_{k}_{c}", f"{w}{c}") if isinstance(c, int) else \
            (f"sa[{k}, 0, c]", f"sa[{k}, 1, c]", f"{w}[c]")
        emit(ind, f"o = {wc} + {s1}")
        emit(ind, f"{s1} = m{k}_4 * o + (f{k}_1 * {wc} + {s2})")
        emit(ind, f"{s2} = m{k}_5 * o + " + (wc if symmetric else f"f{k}_2 * {wc}"))
        emit(ind, f"{wc} = o")

    def forward(ind: int, c) -> None:
        first(ind, c)
        for k in range(1, S):
            section(ind, k, "s", "w", c)

    def backward_row(ind: int) -> None:
        # row i of the backward pass: the forward output from the ring, through every section, into u<lane>
        emit(ind, "oy = np.uint64((i & mask) * W)")
        for c in L:
            emit(ind, f"u{c} = yf[oy + U{c}]")
        for k in range(S):
            for c in L:
                section(ind, k, "t", "u", c)

    def write_out(ind: int) -> None:
        # an output row, in physical units: codes times the gain plus the filtered offset
        for c in L:
            emit(ind, f"outf[np.uint64(oo) + U{c}] = u{c} * ga{c} + dc{c}")
        emit(ind, "ko -= out_step")
        emit(ind, "oo -= C")

    def state_vars(c: int) -> list[tuple[str, int, str, str]]:
        # lane c's forward state: (variable, row in the carried state array, type, element of the lane-loop
        # arrays). Rows 0-1: section 0's inputs x[i-1], x[i-2]; rows 2-3: its outputs y[i-1], y[i-2];
        # rows 2k+2, 2k+3: section k's (k >= 1) two state variables
        out = [(f"p1_{c}", 0, T0, f"sp[0, {c}]"), (f"p2_{c}", 1, T0, f"sp[1, {c}]"),
               (f"y1_{c}", 2, "np.float32", f"sa[0, 0, {c}]"), (f"y2_{c}", 3, "np.float32", f"sa[0, 1, {c}]")]
        for k in range(1, S):
            out += [(f"s1_{k}_{c}", 2 * k + 2, "np.float32", f"sa[{k}, 0, {c}]"),
                    (f"s2_{k}_{c}", 2 * k + 3, "np.float32", f"sa[{k}, 1, {c}]")]
        return out

    def crossing(c: int) -> str:
        if one_sided:
            return f"(zb{c} & ~nb{c})"
        return f"(((zn{c} < lo{c}) & (u{c} >= lo{c})) | ((zn{c} > hi{c}) & (u{c} <= hi{c})))"

    emit(0, "def _block(rawf, C, n, h, headf, tailf, code0, gain, coef, zi, g0, state, init_forward, n_keep,")
    emit(0, "           bstart, bstop, bback, outf, has_out, out_start, out_step, dc, detect, lo_thr, hi_thr, z_prev,")
    emit(0, "           last_spike, dead, spikes, n_spikes, sample0, sat, n_sat, c0, yf, mask, ahead, n_ahead, ahead_row,")
    emit(0, "           ahead_col):")
    emit(1, f"W = {W}")
    emit(1, "slo = sat[0]")
    emit(1, "shi = sat[1]")
    emit(1, f"e1 = {T0}(coef[1] + 2.0)")
    emit(1, f"e2 = {T0}(coef[2] - 1.0)")
    for k in range(S):
        emit(1, f"f{k}_1 = np.float32(coef[{6 * k + 1}])")
        emit(1, f"f{k}_2 = np.float32(coef[{6 * k + 2}])")
        emit(1, f"f{k}_4 = np.float32(coef[{6 * k + 4}])")
        emit(1, f"f{k}_5 = np.float32(coef[{6 * k + 5}])")
        emit(1, f"m{k}_4 = np.float32(-coef[{6 * k + 4}])")
        emit(1, f"m{k}_5 = np.float32(-coef[{6 * k + 5}])")
        emit(1, f"z{k}_0 = np.float32(zi[{2 * k}])")
        emit(1, f"z{k}_1 = np.float32(zi[{2 * k + 1}])")
    # the forward state carried across chunks (float64 array, exact for every value it holds)
    for c in L:
        for var, row, typ, _ in state_vars(c):
            emit(1, f"{var} = {typ}(state[{row} * C + c0 + {c}])")
        emit(1, f"kk{c} = {T0}(code0[c0 + {c}])")
        emit(1, f"U{c} = np.uint64({c})")
        emit(1, f"ga{c} = gain[c0 + {c}]")
        emit(1, f"dc{c} = dc[c0 + {c}]")
        emit(1, f"lo{c} = lo_thr[c0 + {c}]")
        emit(1, f"hi{c} = hi_thr[c0 + {c}]")
        emit(1, f"mn{c} = {T0}(np.inf)")
        emit(1, f"mx{c} = {T0}(-np.inf)")
        emit(1, f"x{c} = {T0}(0.0)")
        emit(1, f"w{c} = np.float32(0.0)")
        emit(1, f"u{c} = np.float32(0.0)")
    # odd-extension rows (first and last chunk only) run in lane loops over these arrays
    emit(1, f"sa = np.zeros(({S}, 2, W), dtype=np.float32)")
    emit(1, f"sp = np.zeros((2, W), dtype={T0})")
    emit(1, f"x = np.empty(W, dtype={T0})")
    emit(1, "w = np.empty(W, dtype=np.float32)")
    emit(1, "zna = np.empty(W, dtype=np.float32)")
    emit(1, "zla = np.empty(W, dtype=np.float32)")
    emit(1, "base = np.empty(W, dtype=np.int64)")
    # steady-state start of the forward pass at row 0 (scipy: the steady state of a constant input x[0])
    emit(1, "if init_forward:")
    emit(2, "if h > 0:")
    for c in L:
        emit(3, f"x{c} = {T0}(headf[c0 + {c}])")
    emit(2, "else:")
    for c in L:
        emit(3, f"x{c} = {T0}(rawf[c0 + {c}]) - kk{c}")
    for c in L:
        emit(2, f"p1_{c} = x{c}")
        emit(2, f"p2_{c} = x{c}")
        emit(2, f"y1_{c} = np.float32(g0 * x{c})")
        emit(2, f"y2_{c} = y1_{c}")
        for k in range(1, S):
            emit(2, f"s1_{k}_{c} = np.float32(zi[{2 * k}] * x{c})")
            emit(2, f"s2_{k}_{c} = np.float32(zi[{2 * k + 1}] * x{c})")
    emit(1, "nf = 0")
    emit(1, "pa = 0")
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
    for c in L:
        for var, _, _, elem in state_vars(c):
            emit(4, f"{elem} = {var}")
    emit(4, "for i in range(nf, e):")
    emit(5, "oi = (i - rb) * C + c0")
    emit(5, "oy = (i & mask) * W")
    emit(5, "for c in range(W):")
    emit(6, f"x[c] = {T0}(src[oi + c])")
    forward(6, "c")
    emit(6, "yf[oy + c] = w[c]")
    for c in L:
        for var, _, _, elem in state_vars(c):
            emit(4, f"{var} = {elem}")
    emit(3, "else:")
    emit(4, "e = min(target, h + n)")
    emit(4, "if nf < n_keep:")
    emit(5, "e = min(e, n_keep)")
    emit(4, "for i in range(nf, e):")
    emit(5, "ro = np.uint64((i - h) * C + c0)")
    for c in L:
        emit(5, f"r{c} = rawf[ro + U{c}]")
    for c in L:
        emit(5, f"x{c} = {T0}(r{c}) - kk{c}")
    for c in L:
        emit(5, f"mn{c} = min(mn{c}, x{c})")
        emit(5, f"mx{c} = max(mx{c}, x{c})")
    for c in L:
        forward(5, c)
    emit(5, "oy = np.uint64((i & mask) * W)")
    for c in L:
        emit(5, f"yf[oy + U{c}] = w{c}")
    emit(3, "nf = e")
    emit(3, "if nf == n_keep:")  # the state carried into the next chunk
    for c in L:
        for var, row, _, _ in state_vars(c):
            emit(4, f"state[{row} * C + c0 + {c}] = {var}")
    emit(2, "if b == n_blocks:")
    emit(3, "break")
    # backward pass of block b: from row bst - 1 (steady state) down to row be - 1, the block's last row ...
    emit(2, "bs = bstart[b]")
    emit(2, "be = bstop[b]")
    emit(2, "bst = bback[b]")
    emit(2, "yr = yf[((bst - 1) & mask) * W:((bst - 1) & mask) * W + W]")
    for c in L:
        emit(2, f"v = yr[{c}]")
        for k in range(S):
            emit(2, f"t1_{k}_{c} = z{k}_0 * v")
            emit(2, f"t2_{k}_{c} = z{k}_1 * v")
        emit(2, f"base[{c}] = n_spikes[c0 + {c}]")
    emit(2, "for i in range(bst - 1, be - 2, -1):")
    backward_row(3)
    for c in L:
        emit(2, f"zla[{c}] = u{c}")
        emit(2, f"zb{c} = u{c} < lo{c}" if one_sided else f"zn{c} = u{c}")
    # output rows: out_start, out_start + out_step, ... (ko: the next one going down, oo: its offset in outf)
    emit(2, "ko = -1")
    emit(2, "oo = 0")
    emit(2, "if has_out and be - 1 >= out_start:")
    emit(3, "ko = out_start + ((be - 1 - out_start) // out_step) * out_step")
    emit(3, "oo = ((be - 1 - out_start) // out_step) * C + c0")
    emit(2, "if be - 1 == ko:")
    write_out(3)
    # ... then the block's other rows, each row's crossing found from its comparison with the row after it
    emit(2, "for i in range(be - 2, bs - 1, -1):")
    backward_row(3)
    # while the arithmetic runs, the next chunk's rows of these channels are fetched from memory, one a row
    emit(3, "if pa < n_ahead:")
    emit(4, "prefetch(ahead, np.uint64(pa * ahead_row + ahead_col))")
    emit(4, "pa += 1")
    emit(3, "if i == ko:")
    write_out(4)
    emit(3, "if detect:")
    if one_sided:  # a crossing at row i + 1: below the threshold there (zb, carried) and not at row i (nb)
        for c in L:
            emit(4, f"nb{c} = u{c} < lo{c}")
    emit(4, "if " + " | ".join(crossing(c) for c in L) + ":")
    for c in L:
        emit(5, f"if {crossing(c)}:")
        emit(6, f"spikes[c0 + {c}, n_spikes[c0 + {c}]] = sample0 + i + 1")
        emit(6, f"n_spikes[c0 + {c}] += 1")
    for c in L:
        emit(4, f"zb{c} = nb{c}" if one_sided else f"zn{c} = u{c}")
    emit(2, "if detect:")
    for c in L:
        emit(3, f"zna[{c}] = u{c}")
    emit(3, "_finish_block(zna, zla, base, c0, bs, sample0, lo_thr, hi_thr, z_prev, last_spike, dead, "
            "spikes, n_spikes)")
    emit(2, "b += 1")
    # samples at the rails, counted exactly (over the kept rows) only where the extremes reached them
    emit(1, "kept = max(0, min(n, n_keep - h))")
    for c in L:
        emit(1, f"if (mn{c} <= {T0}(slo) - kk{c}) | (mx{c} >= {T0}(shi) - kk{c}):")
        emit(2, f"n_sat[c0 + {c}] += _count_rails(rawf, C, c0 + {c}, kept, slo, shi)")
    return "\n".join(out) + "\n"


def _driver_source(W: int) -> str:
    return f'''
def run_chunk(raw, head, tail, code0, gain, coef, zi, g0, state, init_forward, n_keep, bstart, bstop, bback,
              out, out_start, out_step, dc, detect, lo_thr, hi_thr, z_prev, last_spike, dead, spikes, n_spikes, sample0,
              sat, n_sat, yf_all, mask, ahead, lane_bytes):
    n, C = raw.shape
    rawf = raw.reshape(-1)
    headf = head.reshape(-1)
    tailf = tail.reshape(-1)
    outf = out.reshape(-1)
    has_out = out.shape[0] > 0
    state_f = state.reshape(-1)
    aheadf = ahead.reshape(-1)
    n_ahead, ahead_row = ahead.shape
    for cb in nb.prange(C // {W}):
        yf = yf_all[nb.get_thread_id()]
        col = min(cb * {W} * lane_bytes, max(ahead_row - 1, 0))
        _block(rawf, C, n, head.shape[0], headf, tailf, code0, gain, coef, zi, g0, state_f, init_forward, n_keep,
               bstart, bstop, bback, outf, has_out, out_start, out_step, dc, detect, lo_thr, hi_thr, z_prev,
               last_spike, dead, spikes, n_spikes, sample0, sat, n_sat, cb * {W}, yf, mask, aheadf, n_ahead,
               ahead_row, col)
'''


@nb.njit(nogil=True)
def _count_rails(rawf, C, ch, n, lo, hi):  # pragma: no cover - compiled
    k = 0
    for i in range(n):
        v = rawf[i * C + ch]
        k += (v == lo) | (v == hi)
    return k


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
