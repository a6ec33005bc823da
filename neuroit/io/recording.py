"""The lazy recording handle shared by every reader.

A :class:`Recording` holds one or more *streams* (``amplifier``, ``aux``, ``supply``,
``temperature``, ``adc``, ``digital_in``, ``digital_out``, ``stim``, ``dc_amplifier`` …), each a
(samples × channels) signal with its own sampling rate. Samples stay on disk (memory-mapped)
until :meth:`Recording.traces` is asked for a slice; a slice costs what the slice costs.

Raw samples are stored as integer codes. Physical values follow Neo/SpikeInterface's
convention, per channel::

    physical = raw * gain + offset        # µV, V, °C, or 0/1 for digital bits

so ``traces(..., scaled=False)`` plus ``stream.gain`` / ``stream.offset`` is everything a
fused kernel needs to work on the integer codes directly.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import NamedTuple, Sequence

import numpy as np

from neuroit.errors import NeuroitError


@dataclass(frozen=True)
class Stream:
    """Description of one stream of a recording (no samples)."""

    name: str
    sampling_rate: float
    n_samples: int
    channel_names: tuple[str, ...]
    units: str
    gain: np.ndarray  # (n_channels,) float64
    offset: np.ndarray  # (n_channels,) float64
    raw_dtype: np.dtype
    channel_info: dict = field(default_factory=dict, compare=False)  # extra per-channel arrays (port, native order, …)

    @property
    def n_channels(self) -> int:
        return len(self.channel_names)

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sampling_rate


class Gap(NamedTuple):
    """A discontinuity in the sample timestamps: ``n_missing`` samples are absent before ``sample``."""

    sample: int  # index (in the concatenated recording) of the first sample after the gap
    n_missing: int  # samples that the timestamps say are missing (negative: overlap)
    file: str  # the file that starts after the gap (or holds it)


class Recording(abc.ABC):
    """Base class of lazy recordings.

    Subclasses fill :attr:`streams` (name → :class:`Stream`) and implement
    :meth:`_read_raw`. Everything else (argument checks, channel selection by name,
    scaling) lives here, once.
    """

    streams: dict[str, Stream]
    files: tuple[str, ...] = ()
    gaps: tuple[Gap, ...] = ()
    annotations: dict

    # -- convenience views ---------------------------------------------------------------
    @property
    def sampling_rate(self) -> float:
        """Sampling rate of the main (``amplifier``) stream in Hz."""
        return self._main().sampling_rate

    @property
    def n_samples(self) -> int:
        """Number of samples of the main (``amplifier``) stream."""
        return self._main().n_samples

    @property
    def duration_s(self) -> float:
        return self._main().duration_s

    @property
    def channel_names(self) -> dict[str, tuple[str, ...]]:
        """Channel names per stream."""
        return {name: s.channel_names for name, s in self.streams.items()}

    def _main(self) -> Stream:
        if "amplifier" in self.streams:
            return self.streams["amplifier"]
        return next(iter(self.streams.values()))

    def stream(self, name: str) -> Stream:
        try:
            return self.streams[name]
        except KeyError:
            raise NeuroitError(
                f"This recording has no stream {name!r}; it has {sorted(self.streams)}."
            ) from None

    # -- samples -------------------------------------------------------------------------
    def traces(
        self,
        stream: str = "amplifier",
        start: int | None = None,
        stop: int | None = None,
        channels: Sequence[int] | Sequence[str] | slice | None = None,
        scaled: bool = True,
    ) -> np.ndarray:
        """Samples ``start:stop`` of ``channels`` of ``stream`` as a (samples, channels) array.

        ``scaled=True`` returns float64 physical units (µV, V, °C, 0/1); ``scaled=False``
        returns the stored integer codes. ``channels`` takes indices or names.
        """
        s = self.stream(stream)
        start, stop = _check_range(start, stop, s.n_samples)
        idx = self._channel_indices(s, channels)
        raw = self._read_raw(stream, start, stop, idx)
        if not scaled:
            return raw
        out = raw.astype(np.float64)
        out *= s.gain[idx]
        out += s.offset[idx]
        return out

    def _channel_indices(self, s: Stream, channels) -> np.ndarray:
        if channels is None:
            return np.arange(s.n_channels)
        if isinstance(channels, slice):
            return np.arange(s.n_channels)[channels]
        channels = list(channels) if not isinstance(channels, (str, int, np.integer)) else [channels]
        if all(isinstance(c, str) for c in channels):
            lookup = {n: i for i, n in enumerate(s.channel_names)}
            missing = [c for c in channels if c not in lookup]
            if missing:
                raise NeuroitError(f"Stream {s.name!r} has no channel(s) {missing}.")
            return np.array([lookup[c] for c in channels], dtype=np.intp)
        idx = np.asarray(channels, dtype=np.intp)
        if idx.size and (idx.min() < -s.n_channels or idx.max() >= s.n_channels):
            raise NeuroitError(
                f"Channel indices must be in [0, {s.n_channels}) for stream {s.name!r}; got {idx.tolist()}."
            )
        return idx % max(s.n_channels, 1)

    @abc.abstractmethod
    def _read_raw(self, stream: str, start: int, stop: int, channel_idx: np.ndarray) -> np.ndarray:
        """Return raw codes, shape (stop - start, len(channel_idx)), dtype ``stream.raw_dtype``."""

    def _view(self, stream: str) -> np.ndarray | None:
        """The stream's codes, every channel and sample, as a plain array viewing the storage without a copy
        (memory map or in-memory array; C-ordered samples × channels), or None where it does not hold them
        that way."""
        return None

    def __repr__(self) -> str:
        parts = ", ".join(f"{n}: {s.n_channels} ch" for n, s in self.streams.items())
        return (
            f"<{type(self).__name__} {self.sampling_rate:g} Hz, {self.duration_s:.2f} s, {parts}>"
        )


def _check_range(start, stop, n: int) -> tuple[int, int]:
    start = 0 if start is None else int(start)
    stop = n if stop is None else int(stop)
    if not (0 <= start <= stop <= n):
        raise NeuroitError(f"Sample range must satisfy 0 <= start <= stop <= {n}; got start={start}, stop={stop}.")
    return start, stop


class NumpyRecording(Recording):
    """An in-memory recording: arrays (samples × channels) per stream.

    >>> rec = NumpyRecording({"amplifier": codes}, sampling_rate=20000.0, gain=0.195)
    """

    def __init__(
        self,
        arrays: dict[str, np.ndarray] | np.ndarray,
        sampling_rate: float | dict[str, float],
        *,
        gain: float | dict[str, float | np.ndarray] = 1.0,
        offset: float | dict[str, float | np.ndarray] = 0.0,
        units: str | dict[str, str] = "uV",
        channel_names: dict[str, Sequence[str]] | None = None,
    ):
        if isinstance(arrays, np.ndarray):
            arrays = {"amplifier": arrays}
        self._arrays = {}
        self.streams = {}
        for name, a in arrays.items():
            a = np.asarray(a)
            if a.ndim != 2:
                raise NeuroitError(f"Stream {name!r} must be a 2-D (samples, channels) array; got shape {a.shape}.")
            self._arrays[name] = a
            pick = lambda v, default=None: v.get(name, default) if isinstance(v, dict) else v  # noqa: E731
            n_ch = a.shape[1]
            names = tuple((channel_names or {}).get(name, [f"{name}-{i:03d}" for i in range(n_ch)]))
            self.streams[name] = Stream(
                name=name,
                sampling_rate=float(pick(sampling_rate)),
                n_samples=a.shape[0],
                channel_names=names,
                units=pick(units, "uV"),
                gain=np.broadcast_to(np.asarray(pick(gain, 1.0), dtype=np.float64), (n_ch,)).copy(),
                offset=np.broadcast_to(np.asarray(pick(offset, 0.0), dtype=np.float64), (n_ch,)).copy(),
                raw_dtype=a.dtype,
            )
        self.annotations = {}

    def _read_raw(self, stream, start, stop, channel_idx):
        return self._arrays[stream][start:stop, channel_idx]

    def _view(self, stream):
        a = self._arrays[stream]
        return a.view(np.ndarray) if a.flags.c_contiguous else None
