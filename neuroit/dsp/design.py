"""Filter design: the bandpass (and optional notch) as second-order sections, plus what the
streaming engine needs to know about it (scipy's padding, margins, output blocks)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from types import MappingProxyType

import numpy as np

from neuroit.errors import NeuroitError

#: relative size to which the impulse response must decay over a margin (see :attr:`FilterDesign.margin`)
MARGIN_DECAY = 1e-7
#: output block of the streaming backward pass, in samples (a power of two; grows for long filters)
BASE_BLOCK = 8192
_NOTCH_Q = 30.0


@dataclass(frozen=True)
class FilterDesign:
    """A zero-phase filter ready for the streaming engine.

    ``sos`` is the whole cascade (notch sections first, then the bandpass), which is filtered
    forward then backward exactly like ``scipy.signal.sosfiltfilt(sos, x, padtype="odd")``.
    """

    sos: np.ndarray  # (n_sections, 6) float64: notch sections then bandpass sections
    bandpass_sos: np.ndarray
    notch_sos: np.ndarray  # (n_notch_sections, 6), possibly empty
    sampling_rate: float
    params: dict = field(default_factory=dict)

    @cached_property
    def padlen(self) -> int:
        """Samples of odd extension at each end, as ``sosfiltfilt``'s default."""
        sos = self.sos
        ntaps = 2 * len(sos) + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
        return 3 * ntaps

    @cached_property
    def dc_gain(self) -> float:
        """Gain of the cascade at 0 Hz (tiny for a bandpass, not exactly 0 for an elliptic one)."""
        return float(np.prod(self.sos[:, :3].sum(axis=1) / self.sos[:, 3:].sum(axis=1)))

    @cached_property
    def pole_radius(self) -> float:
        poles = np.concatenate([np.roots(s[3:]) for s in self.sos])
        return float(np.abs(poles).max())

    @cached_property
    def margin(self) -> int:
        """Samples over which the impulse response decays by :data:`MARGIN_DECAY`.

        Computed from the largest pole radius r as ``log(decay) / log(r)``, plus 25 % to cover the
        polynomial growth of repeated poles and the cascade.
        """
        r = self.pole_radius
        return int(math.ceil(1.25 * math.log(MARGIN_DECAY) / math.log(r))) + 16

    @cached_property
    def kernel(self) -> tuple:
        """The cascade as the kernels (CPU and GPU) run it, scipy's steady-state initial conditions for it and
        the DC gain of its first section: ``(sections, scale, symmetric, zi, g0)`` (see
        :func:`neuroit._kernels.iir.kernel_cascade`)."""
        from scipy import signal

        from neuroit._kernels.iir import kernel_cascade

        sections, scale, symmetric = kernel_cascade(self.sos)
        g0 = float(sections[0, :3].sum() / sections[0, 3:].sum())
        return sections, scale, symmetric, signal.sosfilt_zi(sections).reshape(-1), g0

    @cached_property
    def block(self) -> int:
        """Output block of the backward pass: ``BASE_BLOCK`` doubled until it is ≥ 4 × margin."""
        b = BASE_BLOCK
        while b < 4 * self.margin:
            b *= 2
        return b


def design_filter(
    sampling_rate: float,
    *,
    band: tuple[float, float] = (300.0, 6000.0),
    ftype: str = "ellip",
    order: int = 2,
    ripple_db: float = 0.1,
    stop_db: float = 50.0,
    notch: float | str | None = None,
    notch_harmonics: int | None = None,
) -> FilterDesign:
    """Design the bandpass (and optional notch) as second-order sections.

    ``ftype`` is ``"ellip"`` (default: order 2, 0.1 dB passband ripple, 50 dB stopband
    attenuation, the lab recipe) or ``"butter"``. ``notch`` is ``None``, ``50``/``60`` (Hz) or
    ``"50hz"``/``"60hz"``: an IIR notch (Q = 30) at the line frequency and its harmonics below
    the bandpass's upper edge (``notch_harmonics`` caps how many, default 3 for 60 Hz and 50 Hz),
    placed ahead of the bandpass in the cascade.
    """
    fs = _check_rate(sampling_rate)
    nyq = fs / 2
    try:
        lo, hi = (float(b) for b in band)
    except (TypeError, ValueError):
        raise NeuroitError(f"The 'band' parameter must be two frequencies (low, high) in Hz; got {band!r}.") from None
    if not (0 < lo < hi < nyq):
        raise NeuroitError(
            f"The 'band' parameter must be two frequencies 0 < low < high below Nyquist ({nyq:g} Hz); "
            f"got {tuple(band)!r}."
        )
    if not isinstance(order, (int, np.integer)) or not 1 <= order <= 10:
        raise NeuroitError(f"The 'order' parameter must be an integer from 1 to 10; got {order!r}.")
    if ftype == "ellip":
        if not (ripple_db > 0 and stop_db > ripple_db):
            raise NeuroitError(
                f"An elliptic filter needs ripple_db > 0 and stop_db > ripple_db; got {ripple_db!r}, {stop_db!r}."
            )
        ripple_db, stop_db = float(ripple_db), float(stop_db)
    elif ftype == "butter":
        ripple_db = stop_db = None
    else:
        raise NeuroitError(f"The 'ftype' parameter must be 'ellip' or 'butter'; got {ftype!r}.")
    notch_freq = _parse_notch(notch)
    n_h = 3 if notch_harmonics is None else int(notch_harmonics)
    if notch_freq is not None and n_h < 1:
        raise NeuroitError(f"The 'notch_harmonics' parameter must be at least 1; got {notch_harmonics!r}.")
    sos, bp, notch_sos, params = _design(fs, lo, hi, ftype, int(order), ripple_db, stop_db, notch_freq, n_h)
    return FilterDesign(sos=sos.copy(), bandpass_sos=bp.copy(), notch_sos=notch_sos.copy(), sampling_rate=fs,
                        params=dict(params))


@lru_cache(maxsize=64)
def _design(fs, lo, hi, ftype, order, ripple_db, stop_db, notch_freq, n_h) -> tuple:
    """``(sos, bandpass_sos, notch_sos, params)`` for validated parameters, designed once per process (read-only:
    :func:`design_filter` hands out copies)."""
    from scipy import signal  # imported here: it takes a while, and `import neuroit.dsp` should not

    if ftype == "ellip":
        bp = signal.ellip(order, ripple_db, stop_db, [lo, hi], btype="bandpass", output="sos", fs=fs)
    else:
        bp = signal.butter(order, [lo, hi], btype="bandpass", output="sos", fs=fs)
    sections = []
    if notch_freq is not None:
        for m in range(1, n_h + 1):
            f0 = notch_freq * m
            if f0 >= fs / 2:
                break
            b, a = signal.iirnotch(f0, _NOTCH_Q, fs=fs)
            sections.append(np.concatenate([b, a]))
    notch_sos = np.array(sections, dtype=np.float64).reshape(-1, 6)
    params = dict(
        sampling_rate=fs, band=(lo, hi), ftype=ftype, order=order, ripple_db=ripple_db, stop_db=stop_db,
        notch=notch_freq, notch_q=_NOTCH_Q if notch_freq else None,
        notch_harmonics=len(notch_sos) if notch_freq else None,
        zero_phase="forward-backward, scipy.signal.sosfiltfilt convention (padtype='odd')",
    )
    sos = np.vstack([notch_sos, bp])
    for a in (sos, bp, notch_sos):
        a.flags.writeable = False
    return sos, bp, notch_sos, MappingProxyType(params)


def _check_rate(sampling_rate) -> float:
    try:
        fs = float(sampling_rate)
    except (TypeError, ValueError):
        fs = float("nan")
    if not (math.isfinite(fs) and fs > 0):
        raise NeuroitError(f"The sampling rate must be a positive number of Hz; got {sampling_rate!r}.")
    return fs


def _parse_notch(notch) -> float | None:
    if notch is None or notch is False:
        return None
    if isinstance(notch, str):
        key = notch.strip().lower().removesuffix("hz").strip()
        if key in ("50", "60"):
            return float(key)
    elif isinstance(notch, (int, float, np.integer, np.floating)) and float(notch) in (50.0, 60.0):
        return float(notch)
    raise NeuroitError(f"The 'notch' parameter must be None, 50, 60, '50hz' or '60hz'; got {notch!r}.")
