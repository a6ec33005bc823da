"""Threshold crossings of the bandpassed signal: raw codes in, :class:`SpikeTrains` out.

Definition. With threshold ``T = threshold × noise`` per channel, sample ``i`` is a
negative-going crossing when ``z[i] < -T`` and ``z[i-1] >= -T`` (positive-going: ``z[i] > T`` and
``z[i-1] <= T``; ``sign="both"`` takes either). Sample 0 never counts (it has no previous sample).
With a dead time of ``d`` samples, a crossing less than ``d`` samples after the last *kept* one is
dropped. Channels whose noise is 0 (constant signal) or not finite get no crossings (and a warning).
The state (previous value, last spike) is carried across chunks, so a crossing at a chunk seam is
counted exactly once and the result does not depend on ``chunk_s``.
"""
from __future__ import annotations

import logging
import os
import tempfile
import warnings

import numpy as np

from neuroit.dsp.design import design_filter
from neuroit.dsp.gpu import check_device, run_cuda
from neuroit.dsp.engine import (Detector, Sink, cache_chunk, check_length, numba_threads, run, source_from_array,
                                source_from_recording)
from neuroit.dsp.noise import noise_of, noise_windows, session_noise
from neuroit.dsp.spiketrains import SpikeTrains
from neuroit.errors import NeuroitError

log = logging.getLogger(__name__)


class _SpikeSink(Sink):
    """Collects each chunk's crossings (compacted channel after channel), in memory or in a file."""

    def __init__(self, n_ch: int, folder: str | None):
        self.n_ch = n_ch
        self.counts: list[np.ndarray] = []
        self.pieces: list[np.ndarray] = []
        self.file = None
        if folder is not None:
            fd, self.file_path = tempfile.mkstemp(prefix=".neuroit-spikes-", suffix=".bin", dir=folder)
            self.file = os.fdopen(fd, "wb")

    def chunk(self, start, stop, filtered, spikes, n_spikes):
        from neuroit._kernels.noise import compact_spikes

        flat = np.empty(int(n_spikes.sum()), dtype=np.int64)
        compact_spikes(spikes, n_spikes, flat)
        self.add(flat, n_spikes.copy())

    def add(self, flat: np.ndarray, counts: np.ndarray) -> None:
        """Take crossings already compacted channel after channel (``counts[c]`` of channel c)."""
        self.counts.append(counts)
        if self.file is not None:
            self.file.write(flat.tobytes())
        else:
            self.pieces.append(flat)

    def assemble(self):
        from neuroit._kernels.noise import assemble_csr

        counts = np.stack(self.counts) if self.counts else np.zeros((0, self.n_ch), np.int64)
        offsets = np.zeros(self.n_ch + 1, dtype=np.int64)
        np.cumsum(counts.sum(axis=0), out=offsets[1:])
        if self.file is not None:
            self.file.close()
            flat = (np.memmap(self.file_path, dtype=np.int64, mode="r") if offsets[-1]
                    else np.zeros(0, np.int64))
        else:
            flat = np.concatenate(self.pieces) if self.pieces else np.zeros(0, np.int64)
        if len(counts) == 1 and self.file is None:  # one hand-over: already channel after channel
            return flat, offsets
        samples = np.empty(int(offsets[-1]), dtype=np.int64)
        assemble_csr(flat, counts, offsets, samples)
        return samples, offsets

    def discard(self):
        if self.file is not None:
            if not self.file.closed:
                self.file.close()
            if os.path.exists(self.file_path):
                os.unlink(self.file_path)


class _ChunkNoiseSink(_SpikeSink):
    """Per-chunk noise (the lab scripts' way): filtered rows in, thresholds from this chunk only."""

    want_output = True

    def __init__(self, n_ch, folder, *, threshold, sign, method, detector):
        super().__init__(n_ch, folder)
        self.threshold, self.sign, self.method, self.det = threshold, sign, method, detector
        self.noise: list[np.ndarray] = []
        self.starts: list[int] = []

    def chunk(self, start, stop, filtered, spikes, n_spikes):
        from neuroit._kernels.dsp import detect_rows

        noise = noise_of(filtered, self.method)
        lo, hi = _thresholds(noise, self.threshold, self.sign)
        self.det.lo[:] = lo
        self.det.hi[:] = hi
        n_spikes[:] = 0
        buf = np.empty((self.n_ch, filtered.shape[0] // 2 + 2), dtype=np.int64)
        detect_rows(filtered, self.det.lo, self.det.hi, self.det.z_prev, self.det.last_spike,
                    np.int64(self.det.dead), np.int64(start), buf, n_spikes)
        self.noise.append(noise)
        self.starts.append(start)
        super().chunk(start, stop, None, buf, n_spikes)


def _dead_time(samples: np.ndarray, offsets: np.ndarray, dead: int):
    """The crossings (CSR) without those within ``dead`` samples of the last kept one of their channel."""
    if dead <= 0 or not len(samples):
        return samples, offsets
    from neuroit._kernels.dsp import dead_time_keep

    keep = np.empty(len(samples), dtype=np.bool_)
    dead_time_keep(samples, offsets, np.int64(dead), keep)
    kept = np.concatenate([[0], np.cumsum(keep)])
    return samples[keep], kept[offsets]


def _thresholds(noise: np.ndarray, threshold: float, sign: str):
    t = threshold * noise
    ok = np.isfinite(t) & (t > 0)
    lo = np.where(ok & (sign in ("neg", "both")), -t, -np.inf)
    hi = np.where(ok & (sign in ("pos", "both")), t, np.inf)
    return lo, hi


def detect_crossings(
    recording,
    *,
    sampling_rate: float | None = None,
    stream: str = "amplifier",
    channels=None,
    band: tuple[float, float] = (300.0, 6000.0),
    ftype: str = "ellip",
    order: int = 2,
    ripple_db: float = 0.1,
    stop_db: float = 50.0,
    notch=None,
    threshold: float = 3.0,
    sign: str = "neg",
    noise: str = "mad",
    noise_scope: str = "session",
    noise_uv=None,
    noise_windows_n: int = 16,
    noise_window_s: float = 0.25,
    dead_time_ms: float = 0.0,
    chunk_s: float = 1.0,
    n_jobs: int | None = None,
    progress: bool | None = None,
    out=None,
    device: str = "cpu",
) -> SpikeTrains:
    """Threshold crossings of the zero-phase bandpassed signal, per channel, streaming.

    ``recording`` is a neuroit :class:`~neuroit.io.Recording`, a SpikeInterface recording, or a
    (samples, channels) array with ``sampling_rate``. Integer codes are scaled to µV inside the
    kernels (``stream.gain``/``offset``), filtered (notch, then bandpass, forward-backward as
    ``scipy.signal.sosfiltfilt``) and thresholded chunk by chunk, in parallel over channel blocks.

    Noise: ``noise="mad"`` (median|x|/0.6745) or ``"std"``; ``noise_scope="session"`` estimates it
    once from ``noise_windows_n`` windows of ``noise_window_s`` s spread evenly through the session
    (a small first pass); ``"chunk"`` estimates it per chunk, as the lab scripts did; ``noise_uv``
    (one value per channel) skips the estimate. Thresholds are ``threshold × noise``; ``sign`` is
    ``"neg"`` (default), ``"pos"`` or ``"both"``; ``dead_time_ms`` drops crossings closer than that
    to the previous kept one. ``chunk_s`` is rounded up to whole output blocks of the filter
    (8192 samples for the default filter); results do not depend on it with session noise.

    ``device="cuda"`` runs the filter and crossings on an NVIDIA GPU (Numba CUDA, :mod:`neuroit.dsp.gpu`;
    the session-wide noise estimate stays on the CPU): the same spikes but for samples within 1e-3 of the
    noise SD of the threshold. ``noise_scope="chunk"`` is CPU-only.

    ``out`` (a ``.npz`` path) streams the crossings to a temporary file beside it during the run
    and saves the result there (atomically); memory then stays bounded by the chunk whatever the
    session length. Progress bar (tqdm) when ``progress`` is true, or by default for sessions of
    10 minutes or more.
    """
    if isinstance(recording, np.ndarray):
        if sampling_rate is None:
            raise NeuroitError("The 'sampling_rate' parameter is required when the recording is an array.")
        src = source_from_array(recording if channels is None else np.asarray(recording)[:, channels], sampling_rate)
    else:
        src = source_from_recording(recording, stream=stream, channels=channels)
    if sign not in ("neg", "pos", "both"):
        raise NeuroitError(f"The 'sign' parameter must be 'neg', 'pos' or 'both'; got {sign!r}.")
    check_device(device)
    if device == "cuda" and noise_scope != "session" and noise_uv is None:
        raise NeuroitError("device='cuda' needs the session-wide noise (noise_scope='session') or noise_uv.")
    if noise not in ("mad", "std"):
        raise NeuroitError(f"The 'noise' parameter must be 'mad' or 'std'; got {noise!r}.")
    if noise_scope not in ("session", "chunk"):
        raise NeuroitError(f"The 'noise_scope' parameter must be 'session' or 'chunk'; got {noise_scope!r}.")
    if not (np.isfinite(threshold) and threshold > 0):
        raise NeuroitError(f"The 'threshold' parameter must be a positive number of noise units; got {threshold!r}.")
    if not (np.isfinite(dead_time_ms) and dead_time_ms >= 0):
        raise NeuroitError(f"The 'dead_time_ms' parameter must be >= 0; got {dead_time_ms!r}.")
    if not (np.isfinite(chunk_s) and chunk_s > 0):
        raise NeuroitError(f"The 'chunk_s' parameter must be a positive number of seconds; got {chunk_s!r}.")
    design = design_filter(src.sampling_rate, band=band, ftype=ftype, order=order, ripple_db=ripple_db,
                           stop_db=stop_db, notch=notch)
    check_length(src.n_samples, design)
    n_ch = src.n_channels
    fs = src.sampling_rate
    dead = int(round(dead_time_ms * fs / 1000.0))
    folder = None
    if out is not None:
        out = os.fspath(out)
        folder = os.path.dirname(os.path.abspath(out))
        os.makedirs(folder, exist_ok=True)

    with numba_threads(n_jobs) as n_threads:
        windows = None
        if noise_uv is not None:
            noise_arr = np.broadcast_to(np.asarray(noise_uv, dtype=np.float64), (n_ch,)).copy()
        elif noise_scope == "session":
            windows = noise_windows(src.n_samples, fs, n_windows=noise_windows_n, window_s=noise_window_s)
            noise_arr = session_noise(src, design, method=noise, n_windows=noise_windows_n, window_s=noise_window_s)
        else:
            noise_arr = None
        if noise_arr is not None:
            lo, hi = _thresholds(noise_arr, threshold, sign)
            det = Detector(lo, hi, dead)
            sink = _SpikeSink(n_ch, folder)
        else:
            det = Detector(np.full(n_ch, -np.inf), np.full(n_ch, np.inf), dead)
            sink = _ChunkNoiseSink(n_ch, folder, threshold=threshold, sign=sign, method=noise, detector=det)
        try:
            step = int(round(chunk_s * fs))
            if noise_arr is not None:  # spikes do not depend on the chunking: keep each chunk's codes in cache
                step = min(step, cache_chunk(n_ch, src.dtype.itemsize))
            if device == "cuda":
                _, n_sat = run_cuda(src, design, lo=lo, hi=hi, sink=sink)
                samples, offsets = _dead_time(*sink.assemble(), dead)
            else:
                n_sat = run(src, design, chunk=step, sink=sink,
                            detector=det if noise_arr is not None else None, progress=progress)
                samples, offsets = sink.assemble()
        finally:
            sink.discard()

    chunk = max(design.block, int(np.ceil(int(round(chunk_s * fs)) / design.block)) * design.block)
    attrs = dict(
        design.params,
        stream=stream,
        threshold=float(threshold),
        sign=sign,
        noise=noise,
        noise_scope=noise_scope if noise_uv is None else "given",
        noise_windows=[list(w) for w in windows] if windows else None,
        dead_time_ms=float(dead_time_ms),
        dead_time_samples=dead,
        chunk_s=float(chunk_s),
        chunk_samples=chunk,
        filter_block_samples=design.block,
        filter_margin_samples=design.margin,
        filter_padlen=design.padlen,
        sos=design.sos.tolist(),
        n_jobs=n_threads,
        n_samples=src.n_samples,
        duration_s=src.n_samples / fs,
        saturated_samples=n_sat.tolist(),
        crossing_rule="z[i] beyond threshold and z[i-1] not; sample 0 never counts",
        device=device,
    )
    if noise_arr is not None:
        attrs["noise_uv"] = noise_arr.tolist()
        attrs["thresholds_uv"] = (threshold * noise_arr).tolist()
        bad = ~(np.isfinite(noise_arr) & (noise_arr > 0))
    else:
        nz = np.stack(sink.noise)
        attrs["noise_uv"] = nz.tolist()  # (n_chunks, n_channels)
        attrs["thresholds_uv"] = (threshold * nz).tolist()
        attrs["chunk_starts"] = list(sink.starts)
        bad = ~(np.isfinite(nz) & (nz > 0)).any(axis=0)
    names = src.channel_names
    if bad.any():
        which = [names[i] for i in np.flatnonzero(bad)]
        warnings.warn(f"Channels with zero or undefined noise get no crossings: {which[:10]}"
                      f"{' …' if len(which) > 10 else ''}.", stacklevel=2)
    attrs["zero_noise_channels"] = [names[i] for i in np.flatnonzero(bad)]
    if n_sat.any():
        log.warning("%d channel(s) have samples at the ADC rails (saturated); crossings near them are kept.",
                    int((n_sat > 0).sum()))
    st = SpikeTrains(samples, offsets, sampling_rate=fs, channel_names=names, attrs=attrs)
    if out is not None:
        st.save(out)
    return st
