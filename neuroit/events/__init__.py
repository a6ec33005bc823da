"""Events: stimulus presentations, their onsets on the Intan clock, and spike counts after them.

    from neuroit.events import read_presentations, detect_digital_edges, detect_photodiode_onsets
    from neuroit.events import align_to_photodiode, bin_counts
"""
from __future__ import annotations

from neuroit.events.align import (
    align_to_photodiode,
    detect_digital_edges,
    detect_photodiode_onsets,
    estimate_levels,
    fit_clock,
)
from neuroit.events.binning import bin_counts, bin_edges, count_spikes
from neuroit.events.presentations import read_presentations

__all__ = [
    "align_to_photodiode",
    "bin_counts",
    "bin_edges",
    "count_spikes",
    "detect_digital_edges",
    "detect_photodiode_onsets",
    "estimate_levels",
    "fit_clock",
    "read_presentations",
]
