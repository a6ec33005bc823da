"""The compact spike-train container produced by :func:`neuroit.dsp.detect_crossings`."""
from __future__ import annotations

import json
import os
from typing import Sequence

import numpy as np

from neuroit.errors import FileFormatError, NeuroitError


class SpikeTrains:
    """Sample indices of events per channel, stored CSR-like.

    ``samples`` holds every channel's sorted sample indices one channel after the other;
    channel ``i`` owns ``samples[offsets[i]:offsets[i + 1]]``. ``st[i]`` or ``st["A-000"]``
    returns that slice; ``len(st)`` is the number of channels; ``attrs`` records every
    parameter that produced the trains (thresholds, noise, filter, ...).
    """

    def __init__(
        self,
        samples: np.ndarray,
        offsets: np.ndarray,
        *,
        sampling_rate: float,
        channel_names: Sequence[str],
        attrs: dict | None = None,
    ):
        self.samples = np.asarray(samples, dtype=np.int64)
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.sampling_rate = float(sampling_rate)
        self.channel_names = tuple(str(c) for c in channel_names)
        self.attrs = dict(attrs or {})
        n = len(self.channel_names)
        if self.samples.ndim != 1 or self.offsets.shape != (n + 1,):
            raise NeuroitError(
                f"SpikeTrains needs 1-D samples and offsets of length n_channels + 1 ({n + 1}); "
                f"got samples {self.samples.shape} and offsets {self.offsets.shape}."
            )
        if self.offsets[0] != 0 or self.offsets[-1] != self.samples.size or np.any(np.diff(self.offsets) < 0):
            raise NeuroitError("SpikeTrains offsets must rise from 0 to len(samples).")
        self._index = {c: i for i, c in enumerate(self.channel_names)}

    @classmethod
    def from_lists(cls, trains: Sequence[np.ndarray], *, sampling_rate: float, channel_names=None, attrs=None):
        """Build from one array of sample indices per channel (each is sorted here)."""
        trains = [np.sort(np.asarray(t, dtype=np.int64)) for t in trains]
        offsets = np.zeros(len(trains) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([t.size for t in trains])
        samples = np.concatenate(trains) if trains else np.zeros(0, np.int64)
        names = channel_names if channel_names is not None else [str(i) for i in range(len(trains))]
        return cls(samples, offsets, sampling_rate=sampling_rate, channel_names=names, attrs=attrs)

    def __len__(self) -> int:
        return len(self.channel_names)

    def _channel(self, key) -> int:
        if isinstance(key, str):
            try:
                return self._index[key]
            except KeyError:
                raise NeuroitError(f"These spike trains have no channel {key!r}.") from None
        i = int(key)
        n = len(self)
        if not -n <= i < n:
            raise NeuroitError(f"Channel index must be in [-{n}, {n}); got {key!r}.")
        return i % n

    def __getitem__(self, key) -> np.ndarray:
        i = self._channel(key)
        return self.samples[self.offsets[i]: self.offsets[i + 1]]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def counts(self) -> np.ndarray:
        """Number of events per channel (int64, n_channels)."""
        return np.diff(self.offsets)

    def rates(self, duration_s: float | None = None) -> np.ndarray:
        """Mean event rate per channel in events/s over ``duration_s`` (default: attrs['duration_s'])."""
        d = self.attrs.get("duration_s") if duration_s is None else duration_s
        if not d:
            raise NeuroitError("rates() needs duration_s (not recorded in attrs).")
        return self.counts() / float(d)

    def times_s(self, key) -> np.ndarray:
        """Event times of one channel in seconds from the first sample."""
        return self[key] / self.sampling_rate

    def __repr__(self) -> str:
        return (
            f"<SpikeTrains {len(self)} channels, {self.samples.size} events, {self.sampling_rate:g} Hz>"
        )

    def __eq__(self, other) -> bool:
        if not isinstance(other, SpikeTrains):
            return NotImplemented
        return (
            self.channel_names == other.channel_names
            and self.sampling_rate == other.sampling_rate
            and np.array_equal(self.offsets, other.offsets)
            and np.array_equal(self.samples, other.samples)
        )

    __hash__ = None

    # -- files -------------------------------------------------------------------------
    def save(self, path) -> None:
        """Write to an ``.npz`` file (atomically); ``attrs`` go in as JSON."""
        from neuroit._atomic import atomic_path

        path = os.fspath(path)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(
                    f,
                    samples=self.samples,
                    offsets=self.offsets,
                    sampling_rate=np.float64(self.sampling_rate),
                    channel_names=np.array(self.channel_names, dtype=str),
                    attrs_json=np.array(json.dumps(_jsonable(self.attrs))),
                )

    @classmethod
    def load(cls, path) -> "SpikeTrains":
        path = os.fspath(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                names = tuple(str(c) for c in z["channel_names"])
                return cls(
                    z["samples"], z["offsets"], sampling_rate=float(z["sampling_rate"]),
                    channel_names=names, attrs=json.loads(str(z["attrs_json"])),
                )
        except FileNotFoundError:
            raise
        except (KeyError, ValueError, OSError) as exc:
            raise FileFormatError(path, f"not a neuroit SpikeTrains .npz file ({exc}).") from None


def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return _jsonable(v.tolist())
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None if np.isnan(v) else ("inf" if v > 0 else "-inf")
    return v
