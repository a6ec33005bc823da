"""The GPU path (``device="cuda"``) of :func:`~neuroit.dsp.detect_crossings` and :func:`~neuroit.dsp.bandpass`.

The same filter and crossings as the CPU path, as Numba CUDA kernels (:mod:`neuroit._kernels.cuda`): the
session goes to the GPU in uploads of :data:`UPLOAD_SEGMENTS` segments of :data:`SEGMENT` samples, one
GPU thread per channel and segment, each segment filtered with margins on a fixed grid (so the result does
not depend on the uploads), then crossings are counted and written per segment and only they come back.
It agrees with the CPU path to float32 rounding and the filter's 1e-7 decay over a margin (the CPU path
carries the forward state exactly; the GPU starts each segment's forward pass a margin early instead):
filtered samples within 1e-3 of the noise SD (typically ~5e-5), crossings identical but for samples that
close to the threshold. GPU memory: a few hundred MB per upload whatever the session length.
"""
from __future__ import annotations

import math

import numpy as np

from neuroit.dsp.design import FilterDesign
from neuroit.dsp.engine import Source, _left_extension, _right_extension
from neuroit.errors import NeuroitError

#: samples of one channel that one GPU thread filters (plus a margin either side)
SEGMENT = 4096
#: segments per upload to the GPU (2**18 samples: 151 MB of int16 codes for 288 channels)
UPLOAD_SEGMENTS = 64


def check_device(device: str) -> None:
    """Raise a clear error for a ``device`` other than "cpu"/"cuda", or for "cuda" unless Numba sees a CUDA GPU."""
    if device not in ("cpu", "cuda"):
        raise NeuroitError(f"The 'device' parameter must be 'cpu' or 'cuda'; got {device!r}.")
    if device == "cpu":
        return
    try:
        from numba import cuda
    except ImportError as exc:  # pragma: no cover - numba ships its CUDA target
        raise NeuroitError(f"device='cuda' needs numba's CUDA target: {exc}") from None
    if not cuda.is_available():
        raise NeuroitError("device='cuda' needs an NVIDIA GPU and its driver; numba.cuda.is_available() is False "
                           "(use device='cpu').")


def run_cuda(source: Source, design: FilterDesign, *, start: int = 0, stop: int | None = None,
             lo=None, hi=None, sink=None, want_output: bool = False) -> tuple[np.ndarray | None, np.ndarray]:
    """Filter samples ``[start, stop)`` on the GPU; with thresholds ``lo``/``hi`` (physical units per channel),
    hand each upload's crossings to ``sink.add`` (compacted channel after channel). Returns the filtered rows
    (float32, physical units) when ``want_output``, else None, and the samples at the rails per channel."""
    from numba import cuda

    from neuroit._kernels import cuda as K

    check_device("cuda")
    n, C = source.n_samples, source.n_channels
    stop = n if stop is None else stop
    p, m, L = design.padlen, design.margin, SEGMENT
    sos, _, _, zi, g0 = design.kernel
    if len(sos) > K.MAX_SECTIONS:
        raise NeuroitError(f"device='cuda' filters at most {K.MAX_SECTIONS} sections; this design has {len(sos)}.")
    d_coef = cuda.to_device(np.ascontiguousarray(sos.reshape(-1)))
    d_zi = cuda.to_device(np.ascontiguousarray(zi))
    d_code0 = cuda.to_device(source.kernel_ref.astype(np.float64))
    d_head = cuda.to_device(_left_extension(source, p))
    d_tail = cuda.to_device(_right_extension(source, p))
    gain, dc = source.to_physical(design)
    d_gain = cuda.to_device(gain.astype(np.float32))
    d_dc = cuda.to_device(dc.astype(np.float32))
    detect = lo is not None
    if detect:
        d_lo = cuda.to_device(np.asarray(lo, dtype=np.float32))
        d_hi = cuda.to_device(np.asarray(hi, dtype=np.float32))
        d_prev = cuda.to_device(np.full(C, np.nan, dtype=np.float32))  # sample 0 has no previous sample
        d_none = cuda.device_array(0, dtype=np.int64)
    slo, shi = source.rails
    d_sat = cuda.to_device(np.zeros(C, dtype=np.int64))
    n_seg = -(-n // L)
    out = np.empty((stop - start, C), dtype=np.float32) if want_output else None
    for ja in range(start // L, -(-stop // L), UPLOAD_SEGMENTS):
        jb = min(ja + UPLOAD_SEGMENTS, -(-stop // L))
        a, b = ja * L, min(jb * L, n)
        jf = min(n_seg, -(-min(b + m, n) // L))  # forward passes: every segment the backward passes read
        y1 = n + p if jf == n_seg else jf * L
        r0, r1 = max(0, a - m), min(n, jf * L)
        d_raw = cuda.to_device(source.read_checked(r0, r1))
        d_yf = cuda.device_array((y1 - a, C), dtype=np.float32)
        d_zf = cuda.device_array((b - a, C), dtype=np.float32)
        blocks, threads = K.grid(C, jf - ja)
        K.forward[blocks, threads](d_raw, r0, d_code0, d_head, d_tail, n, p, L, m, ja, jf - ja, d_coef, d_zi, g0,
                                   len(sos), d_yf, a, slo, shi, d_sat, jb)
        blocks, threads = K.grid(C, jb - ja)
        K.backward[blocks, threads](d_yf, a, n, p, L, m, ja, jb - ja, d_coef, d_zi, len(sos), d_gain, d_dc,
                                    d_zf, a)
        if want_output:
            lo_row, hi_row = max(a, start), min(b, stop)
            out[lo_row - start:hi_row - start] = d_zf[lo_row - a:hi_row - a].copy_to_host()
        if detect:
            d_counts = cuda.device_array((jb - ja, C), dtype=np.int64)
            K.crossings[blocks, threads](d_zf, a, n, L, ja, jb - ja, d_prev, d_lo, d_hi, d_counts, d_counts, d_none)
            counts = d_counts.copy_to_host()
            per_ch = counts.sum(axis=0)
            offsets = np.cumsum(counts, axis=0) - counts + (np.cumsum(per_ch) - per_ch)[None, :]
            total = int(per_ch.sum())
            if total:
                d_out = cuda.device_array(total, dtype=np.int64)
                K.crossings[blocks, threads](d_zf, a, n, L, ja, jb - ja, d_prev, d_lo, d_hi, d_counts,
                                             cuda.to_device(offsets), d_out)
                sink.add(d_out.copy_to_host(), per_ch)
            else:
                sink.add(np.zeros(0, dtype=np.int64), per_ch)
            d_prev.copy_to_device(d_zf[b - 1 - a])
    return out, d_sat.copy_to_host()

