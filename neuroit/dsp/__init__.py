"""Signal processing: zero-phase bandpass, noise, threshold crossings (streaming, Numba).

    from neuroit.dsp import SpikeTrains, bandpass, detect_crossings, design_filter, estimate_noise

Numba is imported only when a kernel first runs.
"""
from neuroit.dsp.crossings import detect_crossings
from neuroit.dsp.design import FilterDesign, design_filter
from neuroit.dsp.engine import bandpass
from neuroit.dsp.noise import estimate_noise, noise_windows
from neuroit.dsp.spiketrains import SpikeTrains

__all__ = ["FilterDesign", "SpikeTrains", "bandpass", "design_filter", "detect_crossings", "estimate_noise",
           "noise_windows"]
