"""Noise level of the filtered signal per channel.

Conventions
-----------
* ``method="mad"`` (default, the labs' convention): ``median(|x|) / 0.6745`` of the filtered
  signal, which equals the standard deviation for Gaussian noise and is barely moved by spikes.
* ``method="std"``: the standard deviation of the filtered signal (spikes inflate it).

The session-wide estimate uses ``n_windows`` windows of ``window_s`` seconds at evenly spaced,
fixed positions through the session (window *k* is centred at ``(k + 0.5) / n_windows`` of the
duration; nothing random, so no seed). Each window is filtered with margins so that its samples
equal those of the whole filtered session. When the windows would cover the whole session, the
whole session is used. The statistic is taken over every k-th filtered sample of each window
(starting with its first), k chosen so that at most :data:`MAX_SAMPLES` (20 000) samples per
channel enter it.
"""
from __future__ import annotations

import numpy as np

from neuroit.dsp.design import FilterDesign, design_filter
from neuroit.dsp.engine import Sink, Source, _source, check_length, numba_threads, run
from neuroit.errors import NeuroitError

MAD_TO_SD = 0.6745
#: the statistic uses every k-th filtered sample of the windows so that at most this many per channel
#: enter it (the default 16 × 0.25 s windows at 20 kHz: every 4th sample; spikes and noise are
#: correlated over a few samples only, so little information is lost)
MAX_SAMPLES = 20000


def noise_windows(n_samples: int, sampling_rate: float, *, n_windows: int, window_s: float) -> list[tuple[int, int]]:
    """The (start, stop) sample ranges used for the session-wide noise estimate."""
    if not (isinstance(n_windows, (int, np.integer)) and n_windows >= 1):
        raise NeuroitError(f"The 'n_windows' parameter must be a positive integer; got {n_windows!r}.")
    length = int(round(window_s * sampling_rate))
    if length < 1:
        raise NeuroitError(f"The 'window_s' parameter must be positive; got {window_s!r}.")
    if n_windows * length >= n_samples:
        return [(0, n_samples)]
    out = []
    for k in range(n_windows):
        s = int(round((k + 0.5) * n_samples / n_windows - length / 2))
        s = min(max(s, 0), n_samples - length)
        out.append((s, s + length))
    return out


def noise_of(filtered: np.ndarray, method: str = "mad", *, max_samples: int | None = None) -> np.ndarray:
    """Noise per column of an already filtered (samples, channels) array (float64; 0 where a column is constant).

    With ``max_samples``, every k-th row is used, k = ceil(rows / max_samples).
    """
    if method not in ("mad", "std"):
        raise NeuroitError(f"The 'noise' method must be 'mad' or 'std'; got {method!r}.")
    step = 1 if not max_samples else max(1, -(-filtered.shape[0] // max_samples))
    return noise_cols(np.ascontiguousarray(np.asarray(filtered, dtype=np.float32)[::step]), method)


def estimate_noise(
    traces,
    sampling_rate: float | None = None,
    *,
    method: str = "mad",
    band: tuple[float, float] = (300.0, 6000.0),
    ftype: str = "ellip",
    order: int = 2,
    ripple_db: float = 0.1,
    stop_db: float = 50.0,
    notch=None,
    n_windows: int = 16,
    window_s: float = 0.25,
    stream: str = "amplifier",
    channels=None,
    n_jobs: int | None = None,
    max_samples: int = MAX_SAMPLES,
    design: FilterDesign | None = None,
) -> np.ndarray:
    """Noise of the bandpassed signal per channel (µV for the amplifier stream), session-wide.

    Filters ``n_windows`` windows of ``window_s`` seconds spread evenly through the session (see
    the module docstring) and returns ``median(|x|)/0.6745`` (``method="mad"``) or the standard
    deviation (``method="std"``) of their samples (every k-th, at most ``max_samples`` per channel),
    one value per channel (float64).
    """
    src = _source(traces, sampling_rate, stream=stream, channels=channels)
    if design is None:
        design = design_filter(src.sampling_rate, band=band, ftype=ftype, order=order,
                               ripple_db=ripple_db, stop_db=stop_db, notch=notch)
    with numba_threads(n_jobs):
        return session_noise(src, design, method=method, n_windows=n_windows, window_s=window_s,
                             max_samples=max_samples)


def session_noise(src: Source, design: FilterDesign, *, method: str, n_windows: int, window_s: float,
                  max_samples: int | None = MAX_SAMPLES) -> np.ndarray:
    if method not in ("mad", "std"):
        raise NeuroitError(f"The 'noise' method must be 'mad' or 'std'; got {method!r}.")
    check_length(src.n_samples, design)
    wins = noise_windows(src.n_samples, src.sampling_rate, n_windows=n_windows, window_s=window_s)
    total = sum(e - s for s, e in wins)
    step = 1 if not max_samples else max(1, -(-total // int(max_samples)))
    sink = _KeepEvery(step, src.n_channels, sum(-(-(e - s) // step) for s, e in wins))
    run(src, design, segments=wins, chunk=max(e - s for s, e in wins), sink=sink)
    assert sink.pos == sink.rows.shape[0]
    return noise_cols(sink.rows, method)


def noise_cols(x: np.ndarray, method: str) -> np.ndarray:
    """Noise per column of a C-contiguous (samples, channels) float32 array."""
    from neuroit._kernels.noise import mad_cols, std_cols

    out = np.empty(x.shape[1], dtype=np.float64)
    if method == "mad":
        mad_cols(x, out)
        out /= MAD_TO_SD
    else:
        std_cols(x, out)
    return out


class _KeepEvery(Sink):
    """Keeps every ``step``-th filtered sample of each window (the engine decimates)."""

    want_output = True

    def __init__(self, step: int, n_ch: int, n_keep: int):
        self.out_step = step
        self.rows = np.empty((n_keep, n_ch), dtype=np.float32)
        self.pos = 0

    def out_rows(self, n_rows):
        return self.rows[self.pos:self.pos + n_rows]

    def chunk(self, start, stop, filtered, spikes, n_spikes):
        k = filtered.shape[0]
        dst = self.rows[self.pos:self.pos + k]
        if not np.shares_memory(dst, filtered):
            dst[...] = filtered
        self.pos += k
