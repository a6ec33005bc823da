"""Let any SpikeInterface recording (Neo's Blackrock, Open Ephys, … readers) stand in for an Intan one.

>>> import spikeinterface.extractors as se
>>> rec = from_spikeinterface(se.read_openephys("data/"))
>>> rec.traces("amplifier", 0, 30000)      # µV, via SpikeInterface's gains/offsets

The adapter is lazy: samples are fetched with ``get_traces(..., return_in_uV=False)`` (raw codes)
and scaled by ``physical = raw * gain + offset`` with SpikeInterface's per-channel
``get_channel_gains()``/``get_channel_offsets()`` (µV). Recordings without gains are exposed
unscaled (gain 1, offset 0).
"""
from __future__ import annotations

import numpy as np

from neuroit.errors import NeuroitError
from neuroit.io.recording import Recording, Stream


class SpikeInterfaceRecording(Recording):
    """A :class:`~neuroit.io.recording.Recording` backed by one segment of a SpikeInterface recording."""

    def __init__(self, si_recording, *, segment_index: int = 0, stream: str = "amplifier"):
        n_seg = si_recording.get_num_segments()
        if not 0 <= segment_index < n_seg:
            raise NeuroitError(f"segment_index must be in [0, {n_seg}) for this SpikeInterface recording; "
                               f"got {segment_index}.")
        self._si = si_recording
        self._segment = int(segment_index)
        self._ids = np.asarray(si_recording.get_channel_ids())
        n_ch = len(self._ids)
        if si_recording.has_scaleable_traces():
            gain = np.asarray(si_recording.get_channel_gains(), dtype=np.float64)
            offset = np.asarray(si_recording.get_channel_offsets(), dtype=np.float64)
            units = "uV"
        else:
            gain, offset, units = np.ones(n_ch), np.zeros(n_ch), "raw"
        self.streams = {stream: Stream(
            name=stream, sampling_rate=float(si_recording.get_sampling_frequency()),
            n_samples=int(si_recording.get_num_samples(segment_index=self._segment)),
            channel_names=tuple(str(c) for c in self._ids), units=units, gain=gain, offset=offset,
            raw_dtype=np.dtype(si_recording.get_dtype()))}
        self.annotations = {"source": f"SpikeInterface {type(si_recording).__name__}",
                            "segment_index": self._segment, "n_segments": n_seg}
        self.files = ()
        self.gaps = ()

    def _read_raw(self, stream, start, stop, channel_idx):
        traces = self._si.get_traces(segment_index=self._segment, start_frame=start, end_frame=stop,
                                     channel_ids=self._ids[channel_idx], return_in_uV=False)
        return np.asarray(traces)


def from_spikeinterface(si_recording, *, segment_index: int = 0, stream: str = "amplifier") -> Recording:
    """Wrap a SpikeInterface ``BaseRecording`` (one segment) as a lazy neuroit recording."""
    return SpikeInterfaceRecording(si_recording, segment_index=segment_index, stream=stream)
