"""The streaming zero-phase filter engine shared by :func:`bandpass`, the noise estimate and
:func:`~neuroit.dsp.detect_crossings`.

Why chunk seams are invisible
-----------------------------
``scipy.signal.sosfiltfilt`` filters the odd-extended signal forward (a causal recursion) and
then backward from its end. neuroit does the same in chunks:

* the forward pass is causal, so its state after the last sample of a chunk is carried into the
  next chunk exactly (the recursion is the same arithmetic whatever the chunking);
* the backward pass cannot start at the end of the recording, so it is restarted for every
  *output block* of ``design.block`` samples on a fixed grid, ``design.margin`` samples after the
  block (scipy's steady-state initial condition at that point). The margin is computed from the
  filter's largest pole radius so that the impulse response has decayed by 1e-7 over it; blocks
  that end within one margin of the recording's end run from the true end of the odd extension,
  exactly as scipy does.

Because the grid of blocks, not the chunk, decides where each backward pass starts, every
output sample is the same whatever the chunk size (chunk lengths are rounded up to whole
blocks), and it differs from ``sosfiltfilt`` in float64 only by float32 rounding and the
1e-7 decay, far below 1e-3 of the noise.
"""
from __future__ import annotations

import abc

import logging
import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import numpy as np

from neuroit.dsp.design import FilterDesign, design_filter
from neuroit.errors import NeuroitError

log = logging.getLogger(__name__)

_COMPILED: set = set()  # kernel variants (and raw dtypes) already compiled with the SLP vectoriser on
_KERNEL_DTYPES = (np.dtype(np.int16), np.dtype(np.float32))
#: chunks of codes up to this size stay in the last-level cache while the kernel's channel blocks read them in
#: turn (and, for sources that copy them, from that copy to the kernel)
#: (``detect_crossings`` caps its chunks at this when the result does not depend on the chunking; the engine
#: still rounds a chunk up to whole output blocks)
CACHE_CHUNK_BYTES = 4 << 20


@dataclass
class Source:
    """Raw codes of some channels, read by sample range, with their scaling to physical units."""

    read: Callable[[int, int], np.ndarray]  # (start, stop) -> (samples, channels) codes
    n_samples: int
    sampling_rate: float
    gain: np.ndarray  # (channels,) float64
    offset: np.ndarray  # (channels,) float64
    dtype: np.dtype  # dtype handed to the kernel (int16, uint16 or float32)
    channel_names: tuple
    check_finite: bool = False
    #: the whole (samples, channels) C-ordered storage when ``read`` just slices it (a memory map or an in-memory
    #: array): the kernel then prefetches the next chunk's rows from it while it computes
    store: np.ndarray | None = None

    def __post_init__(self):
        # Every channel is filtered relative to its first sample (subtracted in integer codes, exact), so
        # that float32 arithmetic never carries a large offset; the offset's tiny filtered value (the
        # cascade's DC gain squared, times the offset) is added back to outputs and thresholds.
        first = self.read_raw(0, min(1, self.n_samples))
        # uint16 codes go to the int16 kernel as code - 32768 (exact); other dtypes as float32(code - ref)
        self.shifted = first.dtype == np.uint16 and self.dtype == np.int16
        self.converted = first.dtype != self.dtype and not self.shifted
        self.ref_code = first[0].astype(np.float64) if self.n_samples else np.zeros(len(self.gain))

    @property
    def n_channels(self) -> int:
        return len(self.channel_names)

    def read_raw(self, start: int, stop: int) -> np.ndarray:
        raw = np.asarray(self.read(start, stop))
        if self.check_finite and not np.isfinite(raw).all():
            bad_t, bad_c = np.argwhere(~np.isfinite(raw))[0]
            raise NeuroitError(
                f"The traces must be finite; channel {self.channel_names[bad_c]!r} has "
                f"{raw[bad_t, bad_c]} at sample {start + bad_t}."
            )
        return raw

    def read_checked(self, start: int, stop: int) -> np.ndarray:
        """Codes for the kernel: the stored dtype if it is int16/uint16/float32, else float32 of code - ref."""
        raw = self.read_raw(start, stop)
        if self.shifted:
            raw = (raw ^ np.uint16(0x8000)).view(np.int16)
        elif raw.dtype != self.dtype:
            raw = (raw.astype(np.float64) - self.ref_code).astype(np.float32)
        return np.ascontiguousarray(raw)

    def codes(self, start: int, stop: int) -> np.ndarray:
        """float64 codes of a few samples relative to the first one (for the odd extensions)."""
        return self.read_raw(start, stop).astype(np.float64) - self.ref_code

    @property
    def kernel_ref(self) -> np.ndarray:
        """The code the kernel subtracts before scaling (0 where read_checked already did)."""
        if self.converted:
            return np.zeros(len(self.gain), dtype=np.float32)
        return (self.ref_code - (32768 if self.shifted else 0)).astype(np.float32)

    @property
    def rails(self) -> np.ndarray:
        """The kernel dtype's two extreme codes (saturation); NaN, equal to no code, for float input."""
        if self.dtype.kind in "iu":
            info = np.iinfo(self.dtype)
            return np.array([info.min, info.max], dtype=self.dtype)
        return np.full(2, np.nan, dtype=self.dtype)

    def to_physical(self, design: FilterDesign) -> tuple[np.ndarray, np.ndarray]:
        """``(gain, dc)`` per channel: physical units per unit of the kernels' output (which filter codes with
        the cascade's b0 divided out) and the filtered value of the subtracted offset (physical units)."""
        scale = design.kernel[1]
        return self.gain * scale**2, design.dc_gain ** 2 * self.shift

    @property
    def shift(self) -> np.ndarray:
        """Physical value subtracted from every sample before filtering (float64, per channel)."""
        return self.ref_code * self.gain + self.offset


def _kernel_dtype(dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype == np.uint16:
        return np.dtype(np.int16)
    return dtype if dtype in _KERNEL_DTYPES else np.dtype(np.float32)


def source_from_array(traces, sampling_rate: float) -> Source:
    a = np.asarray(traces)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise NeuroitError(f"The traces must be a (samples, channels) array; got shape {a.shape}.")
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise NeuroitError(f"The traces must be numbers (int or float); got dtype {a.dtype}.")
    dtype = _kernel_dtype(a.dtype)
    n_ch = a.shape[1]
    return Source(
        store=a if a.flags.c_contiguous else None,
        read=lambda s, e: a[s:e],
        n_samples=a.shape[0],
        sampling_rate=float(sampling_rate),
        gain=np.ones(n_ch),
        offset=np.zeros(n_ch),
        dtype=dtype,
        channel_names=tuple(str(i) for i in range(n_ch)),
        check_finite=np.issubdtype(a.dtype, np.floating),
    )


def source_from_recording(recording, *, stream: str = "amplifier", channels=None) -> Source:
    from neuroit.io.recording import Recording

    if not isinstance(recording, Recording):
        if hasattr(recording, "get_traces") and hasattr(recording, "get_sampling_frequency"):
            try:
                from neuroit.io import from_spikeinterface
            except ImportError as exc:  # pragma: no cover - depends on helper A's module
                raise NeuroitError("Reading a SpikeInterface recording needs neuroit.io.from_spikeinterface.") from exc
            recording = from_spikeinterface(recording)
        else:
            raise NeuroitError(
                f"The recording must be a neuroit Recording or a SpikeInterface recording; got {type(recording).__name__}."
            )
    s = recording.stream(stream)
    idx = recording._channel_indices(s, channels)
    raw_dtype = np.dtype(s.raw_dtype)
    dtype = _kernel_dtype(raw_dtype)
    whole = np.array_equal(idx, np.arange(s.n_channels))
    full = recording._view(stream) if whole else None
    if full is not None:  # no copy: the kernel reads the map (a plain array: cheap to slice per chunk)
        read = lambda a, b: full[a:b]  # noqa: E731
    else:
        read = lambda a, b: recording.traces(stream, a, b, channels=idx, scaled=False)  # noqa: E731
    return Source(
        store=full,
        read=read,
        n_samples=s.n_samples,
        sampling_rate=s.sampling_rate,
        gain=np.asarray(s.gain, dtype=np.float64)[idx],
        offset=np.asarray(s.offset, dtype=np.float64)[idx],
        dtype=dtype,
        channel_names=tuple(s.channel_names[i] for i in idx),
        check_finite=np.issubdtype(raw_dtype, np.floating),
    )


@contextmanager
def numba_threads(n_jobs: int | None):
    """Run numba's parallel kernels on ``n_jobs`` threads (default: all), restoring the setting."""
    import numba

    old = numba.get_num_threads()
    n = numba.config.NUMBA_NUM_THREADS if n_jobs in (None, -1) else int(n_jobs)
    if not 1 <= n <= numba.config.NUMBA_NUM_THREADS:
        raise NeuroitError(
            f"The 'n_jobs' parameter must be between 1 and {numba.config.NUMBA_NUM_THREADS} (or None/-1 for all); got {n_jobs!r}."
        )
    numba.set_num_threads(n)
    try:
        yield n
    finally:
        numba.set_num_threads(old)


class Detector:
    """Per-channel detection state carried across chunks (thresholds, last value, last spike)."""

    def __init__(self, lo_thr, hi_thr, dead: int):
        n = len(lo_thr)
        self.lo = np.asarray(lo_thr, dtype=np.float32)
        self.hi = np.asarray(hi_thr, dtype=np.float32)
        self.z_prev = np.full(n, np.nan, dtype=np.float32)  # sample 0 has no previous sample
        self.last_spike = np.full(n, np.iinfo(np.int64).min // 2, dtype=np.int64)
        self.dead = int(dead)


class Sink(abc.ABC):
    """Where the engine puts each chunk's output rows and crossings."""

    want_output = False
    #: the engine hands over every ``out_step``-th filtered row of each range, counted from its first sample
    out_step = 1

    def out_rows(self, n_rows: int) -> np.ndarray | None:
        """Where the engine may write the next chunk's ``n_rows`` output rows (a C-ordered float32 array of
        (n_rows, channels), then handed back as ``filtered``), or None for a buffer of the engine's."""
        return None

    @abc.abstractmethod
    def chunk(self, start: int, stop: int, filtered, spikes, n_spikes) -> None:
        """Take one chunk's filtered rows (if ``want_output``) and its crossings; a sink that wants no output
        gets the crossings of several consecutive chunks at once (``start``/``stop`` span them)."""


def run(
    source: Source,
    design: FilterDesign,
    *,
    segments: list[tuple[int, int]] | None = None,
    chunk: int,
    sink: Sink,
    detector: Detector | None = None,
    progress=None,
) -> np.ndarray:
    """Filter the sample ranges ``segments`` (default: the whole source) chunk by chunk; hand each chunk to ``sink``.

    Each range's samples equal those of the whole filtered source. Returns the number of samples at the
    raw-code rails (saturated) per channel.
    """
    import numba

    from neuroit._kernels.iir import get_kernel, slp_vectorize, width_for

    n_total = source.n_samples
    segments = [(0, n_total)] if segments is None else segments
    p, m, blk = design.padlen, design.margin, design.block
    check_length(n_total, design)
    chunk = max(blk, int(math.ceil(chunk / blk)) * blk)
    n_ch = source.n_channels
    sos, _, symmetric, zi, g0 = design.kernel
    WIDTH = width_for(len(sos))
    n_pad = -n_ch % WIDTH
    cp = n_ch + n_pad
    float_input = source.dtype.kind == "f"
    coef = sos.reshape(-1)
    state = np.zeros((len(sos) + 1, 2, cp), dtype=np.float64)  # forward state, carried across chunks
    code0 = _pad(source.kernel_ref, n_pad)
    gain, dc = source.to_physical(design)
    gain32 = _pad(gain.astype(np.float32), n_pad)
    dc32 = _pad(dc.astype(np.float32), n_pad)
    step = int(sink.out_step)
    ring = 1 << int(math.ceil(math.log2(blk + m + p + 2)))
    yf_all = np.empty((numba.config.NUMBA_NUM_THREADS, ring * WIDTH), dtype=np.float32)
    empty_ext = np.zeros((0, cp), dtype=np.float32)
    head = _pad_cols(_left_extension(source, p), n_pad)
    tail_cache = []

    def tail():
        if not tail_cache:
            tail_cache.append(_pad_cols(_right_extension(source, p), n_pad))
        return tail_cache[0]

    sat = source.rails
    n_sat = np.zeros(cp, dtype=np.int64)
    # the kernel compares filtered codes: thresholds and the carried previous value go to codes and back
    if detector is None:
        det = Detector(np.full(cp, -np.inf), np.full(cp, np.inf), 0)
    else:
        lo, hi = _to_codes(detector.lo - dc, gain), _to_codes(detector.hi - dc, gain)
        neg = gain < 0  # a negative gain turns the two thresholds round
        lo[neg], hi[neg] = hi[neg], lo[neg]
        det = Detector(_pad(lo, n_pad, -np.inf), _pad(hi, n_pad, np.inf), detector.dead)
        det.z_prev[:n_ch] = _to_codes(detector.z_prev - dc, gain)
        det.last_spike[:n_ch] = detector.last_spike
    one_sided = bool(np.isposinf(det.hi).all())  # no upper thresholds: a kernel that compares the lower only
    kernel = get_kernel(len(sos), WIDTH, float_input, symmetric, one_sided)
    no_out = np.zeros((0, cp), dtype=np.float32)
    no_spikes = np.zeros((cp, 1), dtype=np.int64)
    n_spk = np.zeros(cp, dtype=np.int64)

    def call(raw, h_arr, t_arr, init, n_keep, bs, be, bst, out, out_start, spikes, sample0, ahead):
        raw = _pad_cols(raw, n_pad).view(np.ndarray)  # a plain read-only view: one compiled signature
        raw.flags.writeable = False
        args = (raw, h_arr, t_arr, code0, gain32, coef, zi, g0, state, bool(init), np.int64(n_keep), bs, be, bst,
                out, np.int64(out_start), np.int64(step), dc32, detector is not None, det.lo, det.hi, det.z_prev,
                det.last_spike, np.int64(det.dead), spikes, n_spk, np.int64(sample0), sat, n_sat,
                yf_all, np.int64(ring - 1), ahead, np.int64(lane_bytes))
        key = (len(sos), WIDTH, float_input, symmetric, one_sided, raw.dtype.str)
        if key in _COMPILED:
            kernel(*args)
        else:
            with slp_vectorize():
                kernel(*args)
            _COMPILED.add(key)

    # The first chunk also runs the forward pass over the warm-up rows [pos, start): from the start
    # of the odd extension when start is within one margin of the recording's start (exact), else
    # from the steady state at pos (the transient decays over the margin).
    out_buf = None
    # crossings: a chunk fills at most cap_max per channel (one needs a sample on the near side before it);
    # without output rows they pile up over chunks in a buffer twice that size, handed over when it might fill
    batch = detector is not None and not sink.want_output
    cap_max = chunk // 2 + -(-chunk // blk) + 1
    spikes = no_spikes if detector is None else np.empty((cp, 2 * cap_max if batch else cap_max), dtype=np.int64)
    held = None  # first sample of the crossings held in the buffer
    # each chunk [a, b) of a range [start, stop) reads rows [r0, r1): from the warm-up row pos (first chunk) or
    # a, to one margin past b
    chunks = []
    for start, stop in segments:
        pos = 0 if start - m <= 0 else start - m
        for a in range(start, stop, chunk):
            b = min(stop, a + chunk)
            chunks.append((a, b, start, pos if a == start else a, min(n_total, b + m)))
    # the rows that the next chunk reads and this one does not, as bytes, for the kernel to prefetch
    store = source.store
    lane_bytes = 0 if store is None else store.dtype.itemsize
    no_ahead = np.zeros((0, 1), dtype=np.uint8)
    no_ahead.flags.writeable = False

    def ahead(j):
        if store is None or j + 1 == len(chunks):
            return no_ahead
        r0, r1 = chunks[j][3:]
        n0, n1 = chunks[j + 1][3:]
        v = store[r1 if r0 <= n0 < r1 else n0:n1].view(np.ndarray).view(np.uint8)
        v.flags.writeable = False
        return v

    bar = _progress(progress, len(chunks), n_total / source.sampling_rate)
    for j, (a, b, start, r0, read_end) in enumerate(chunks):
        first_fwd = a == start
        bounds = np.arange(a, b, blk).tolist() + [b]
        bs = np.array(bounds[:-1], dtype=np.int64)
        be = np.array(bounds[1:], dtype=np.int64)
        bst = be + m
        at_end = read_end == n_total
        bst[bst >= n_total] = n_total + p  # the true end of the odd extension: exact, as scipy
        raw = source.read_checked(r0, read_end)
        h = p if r0 == 0 else 0
        off = r0 - h  # sample index of virtual row 0
        f = a + (start - a) % step  # first output row: a multiple of step after the range's start
        if sink.want_output:  # the sink's rows, or one buffer for every chunk (sinks copy what they keep)
            n_out = len(range(f, b, step))
            out = sink.out_rows(n_out) if not n_pad else None
            if out is None:
                if out_buf is None or out_buf.shape[0] < n_out:
                    out_buf = np.empty((n_out, cp), dtype=np.float32)
                out = out_buf[:n_out]
        else:
            out = no_out
        if batch and held is not None and n_spk.max() + cap_max > spikes.shape[1]:
            sink.chunk(held, a, None, spikes[:n_ch], n_spk[:n_ch])
            held = None
        if held is None or not batch:
            n_spk[:] = 0
            held = a
        call(raw, head if h else empty_ext, tail() if at_end else empty_ext, first_fwd, b - off,
             bs - off, be - off, bst - off, out, f - off, spikes, off, ahead(j))
        if not batch:
            sink.chunk(a, b, out[:, :n_ch] if sink.want_output else None,
                       spikes[:n_ch] if detector is not None else None, n_spk[:n_ch])
        if bar is not None:
            bar.update(1)
    if batch and held is not None:
        sink.chunk(held, b, None, spikes[:n_ch], n_spk[:n_ch])
    if bar is not None:
        bar.close()
    if detector is not None:
        detector.z_prev[:] = det.z_prev[:n_ch] * gain + dc
        detector.last_spike[:] = det.last_spike[:n_ch]
    return n_sat[:n_ch]


def _to_codes(values: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """Physical values (relative to the channel's first sample) in codes; +-inf where the gain is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(gain != 0, values / np.where(gain != 0, gain, 1.0), values * np.inf)


def cache_chunk(n_channels: int, itemsize: int) -> int:
    """Samples per chunk whose codes fit in :data:`CACHE_CHUNK_BYTES` (the kernel then reads them from cache)."""
    return max(1, CACHE_CHUNK_BYTES // max(1, n_channels * itemsize))


def _pad(a: np.ndarray, n_pad: int, value=0.0) -> np.ndarray:
    a = np.asarray(a, dtype=np.float32) if a.dtype.kind == "f" else a
    return np.concatenate([a, np.full(n_pad, value, dtype=a.dtype)]) if n_pad else np.ascontiguousarray(a)


def _pad_cols(a: np.ndarray, n_pad: int) -> np.ndarray:
    if not n_pad:
        return a
    out = np.zeros((a.shape[0], a.shape[1] + n_pad), dtype=a.dtype)
    out[:, : a.shape[1]] = a
    return out


def check_length(n_samples: int, design: FilterDesign) -> None:
    if n_samples <= design.padlen:
        raise NeuroitError(
            f"The recording must be longer than the filter's padding ({design.padlen} samples, "
            f"as scipy.signal.sosfiltfilt needs); got {n_samples} samples."
        )


def _left_extension(source: Source, p: int) -> np.ndarray:
    x = source.codes(0, min(source.n_samples, p + 1))
    if x.shape[0] < p + 1:
        return np.zeros((0, source.n_channels), np.float32)
    return (2 * x[0] - x[p:0:-1]).astype(np.float32)


def _right_extension(source: Source, p: int) -> np.ndarray:
    n = source.n_samples
    x = source.codes(n - p - 1, n)
    return (2 * x[-1] - x[-2::-1]).astype(np.float32)


def _progress(progress, n_chunks: int, duration_s: float):
    show = duration_s >= 600 if progress is None else bool(progress)
    if not show or n_chunks < 2:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=n_chunks, unit="chunk", desc="neuroit.dsp", leave=False)


class ArraySink(Sink):
    """Collects filtered rows into one (samples, channels) float32 array."""

    want_output = True

    def __init__(self, start: int, stop: int, n_ch: int, out: np.ndarray | None = None):
        self.start = start
        self.out = np.empty((stop - start, n_ch), dtype=np.float32) if out is None else out

    def chunk(self, start, stop, filtered, spikes, n_spikes):
        self.out[start - self.start: stop - self.start] = filtered


def bandpass(
    traces,
    sampling_rate: float | None = None,
    *,
    band: tuple[float, float] = (300.0, 6000.0),
    ftype: str = "ellip",
    order: int = 2,
    ripple_db: float = 0.1,
    stop_db: float = 50.0,
    notch: float | str | None = None,
    stream: str = "amplifier",
    channels=None,
    start: int | None = None,
    stop: int | None = None,
    chunk_s: float = 1.0,
    n_jobs: int | None = None,
    design: FilterDesign | None = None,
    device: str = "cpu",
) -> np.ndarray:
    """Zero-phase bandpass of ``traces`` (samples × channels), like ``scipy.signal.sosfiltfilt``.

    ``traces`` is an array (then ``sampling_rate`` is required) or a lazy
    :class:`~neuroit.io.Recording` (then ``stream``/``channels`` pick the signal and it is read in
    chunks). ``start``/``stop`` (samples) return just that part of the filtered session, computed
    with margins so that it equals the same rows of the whole filtered session. Returns float32
    in physical units (µV for the amplifier stream); memory beyond the result stays bounded.
    ``device="cuda"`` filters on an NVIDIA GPU (:mod:`neuroit.dsp.gpu`; equal to the CPU path within
    1e-3 of the noise SD).
    """
    src = _source(traces, sampling_rate, stream=stream, channels=channels)
    if design is None:
        design = design_filter(src.sampling_rate, band=band, ftype=ftype, order=order,
                               ripple_db=ripple_db, stop_db=stop_db, notch=notch)
    n = src.n_samples
    check_length(n, design)
    start = 0 if start is None else int(start)
    stop = n if stop is None else int(stop)
    if not 0 <= start < stop <= n:
        raise NeuroitError(f"The sample range must satisfy 0 <= start < stop <= {n}; got start={start}, stop={stop}.")
    from neuroit.dsp.gpu import check_device, run_cuda

    check_device(device)
    if device == "cuda":
        return run_cuda(src, design, start=start, stop=stop, want_output=True)[0]
    sink = ArraySink(start, stop, src.n_channels)
    with numba_threads(n_jobs):
        run(src, design, segments=[(start, stop)], chunk=int(chunk_s * src.sampling_rate), sink=sink)
    return sink.out


def _source(traces, sampling_rate, *, stream, channels) -> Source:
    from neuroit.io.recording import Recording

    if isinstance(traces, Recording) or hasattr(traces, "get_traces"):
        return source_from_recording(traces, stream=stream, channels=channels)
    if sampling_rate is None:
        raise NeuroitError("The 'sampling_rate' parameter is required when traces is an array.")
    src = source_from_array(traces, sampling_rate)
    if channels is not None:
        sel = np.asarray(channels, dtype=np.intp)
        a = np.asarray(traces)
        return source_from_array(a[:, sel], sampling_rate)
    return src
