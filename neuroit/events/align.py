"""Stimulus onsets on the Intan clock: digital pulses, photodiode flashes, and their match to MWorks.

Pipeline (each step a public function)::

    pulses  = detect_digital_edges(rec)                  # TTL rising edges on DIGITAL-IN-02
    flashes = detect_photodiode_onsets(rec)              # photodiode onsets on ANALOG-IN-1
    aligned = align_to_photodiode(presentations, pulses, flashes, sampling_rate=rec.sampling_rate)

The MWorks → Intan clock map ``sample = intercept + slope * time_us`` is fitted robustly
(:func:`fit_clock`): an initial offset from the best cross-match of the event times of a block of
presentations with all pulses, then least squares on matched pairs with outlier rejection, growing
the block until it covers the session (so clock drift never accumulates into a mismatch).
Every presentation then takes the one pulse within ``match_tolerance_ms`` of its predicted time
and the one photodiode flash within ``window_ms`` after that pulse. Anything else (no pulse, two
pulses, no flash, two flashes, a flash outside the plausible latency range) drops the presentation
with a reason; nothing is ever shifted onto a neighbour.
"""
from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd

from neuroit.errors import NeuroitError

log = logging.getLogger(__name__)

REASONS = (
    "missing_pulse",
    "extra_pulse",
    "ambiguous_pulse",
    "missing_flash",
    "extra_flash",
    "latency_out_of_range",
    "broken_fixation",
)


# -- digital pulses ------------------------------------------------------------------------------
def detect_digital_edges(
    recording,
    channel: str = "DIGITAL-IN-02",
    *,
    stream: str = "digital_in",
    edge: str = "rising",
    chunk_s: float = 60.0,
) -> np.ndarray:
    """Sample indices (int64, sorted) of the rising (or falling) edges of one digital input.

    The recording is read in chunks of ``chunk_s`` seconds, so a long session is never
    loaded at once. A line already high at the first sample is not an edge.
    """
    if edge not in ("rising", "falling"):
        raise NeuroitError(f"The 'edge' parameter must be 'rising' or 'falling'; got {edge!r}.")
    s = recording.stream(stream)
    step = max(int(chunk_s * s.sampling_rate), 1)
    out = []
    prev = None
    for start in range(0, s.n_samples, step):
        stop = min(start + step, s.n_samples)
        x = recording.traces(stream, start, stop, channels=[channel], scaled=False)[:, 0] != 0
        if prev is None:
            prev = x[0] if x.size else False
        both = np.r_[prev, x]
        d = np.flatnonzero(both[1:] & ~both[:-1]) if edge == "rising" else np.flatnonzero(~both[1:] & both[:-1])
        out.append(d + start)
        prev = x[-1]
    return np.concatenate(out).astype(np.int64) if out else np.zeros(0, np.int64)


# -- photodiode ----------------------------------------------------------------------------------
def estimate_levels(x: np.ndarray) -> tuple[float, float, float]:
    """(low, high, noise) levels of a two-level signal by iterated two-means (isodata) splitting.

    The threshold starts halfway between the 0.1 and 99.9 percentiles and moves to halfway
    between the medians of the samples below and above it, until it settles; ``noise`` is the
    MAD-based SD of the samples around the low level. The duty cycle of the flashes does not
    bias the levels, unlike a bare quantile.
    """
    x = np.asarray(x, dtype=np.float64)
    lo, hi = np.percentile(x, [0.1, 99.9])
    t = 0.5 * (lo + hi)
    for _ in range(50):
        below, above = x[x < t], x[x >= t]
        if below.size == 0 or above.size == 0:
            break
        low, high = float(np.median(below)), float(np.median(above))
        t_new = 0.5 * (low + high)
        done = abs(t_new - t) <= 1e-9 * max(abs(high - low), 1e-300)
        t = t_new
        if done:
            break
    below, above = x[x < t], x[x >= t]
    if below.size == 0 or above.size == 0:
        v = float(np.median(x))
        return v, v, float(1.4826 * np.median(np.abs(x - v)))
    low, high = float(np.median(below)), float(np.median(above))
    noise = float(1.4826 * np.median(np.abs(below - low)))
    return low, high, noise


def detect_photodiode_onsets(
    recording,
    channel: str = "ANALOG-IN-1",
    *,
    stream: str = "adc",
    polarity: str = "positive",
    hysteresis: float = 0.5,
    levels: tuple[float, float] | None = None,
    min_off_ms: float = 5.0,
    onset_fraction: float = 0.05,
    subsample: bool = False,
    min_contrast: float = 8.0,
    chunk_s: float = 60.0,
    max_level_samples: int = 250_000,
) -> np.ndarray:
    """Photodiode flash onsets (sample indices, sorted) on one analog input.

    The low and high levels come from :func:`estimate_levels` on an evenly decimated copy of
    the signal (at most ``max_level_samples`` samples, read chunk by chunk), unless ``levels``
    gives them. A flash starts when the signal, having been below ``mid - hysteresis/2 * span``,
    rises above ``mid + hysteresis/2 * span`` (``mid`` halfway between the levels, ``span`` their
    difference). Its onset is where that rise left the low level: the first sample at or above
    ``low + max(onset_fraction * span, 5 * noise)`` (``onset_fraction=0.5``: the midpoint), or with
    ``subsample=True`` the linearly interpolated crossing, as float. A rise that comes less than
    ``min_off_ms`` after the signal was last high continues the same flash (screen-refresh
    ripple; raise it to ~20 ms for displays that go dark between refreshes).
    ``polarity="negative"`` detects falls instead.
    If the two levels are not separated by ``min_contrast`` times the noise, no flash is returned
    and a warning says so.
    """
    if polarity not in ("positive", "negative"):
        raise NeuroitError(f"The 'polarity' parameter must be 'positive' or 'negative'; got {polarity!r}.")
    if not 0.0 < onset_fraction <= 0.5:
        raise NeuroitError(f"The 'onset_fraction' parameter must be in (0, 0.5]; got {onset_fraction!r}.")
    if not 0.0 <= hysteresis < 1.0:
        raise NeuroitError(f"The 'hysteresis' parameter must be in [0, 1); got {hysteresis!r}.")
    s = recording.stream(stream)
    fs = s.sampling_rate
    step = max(int(chunk_s * fs), 1)
    sign = 1.0 if polarity == "positive" else -1.0

    def chunks():
        for start in range(0, s.n_samples, step):
            stop = min(start + step, s.n_samples)
            yield start, sign * recording.traces(stream, start, stop, channels=[channel])[:, 0]

    if levels is None:
        dec = max(s.n_samples // max(int(max_level_samples), 1), 1)
        sample = np.concatenate([x[(-start) % dec :: dec] for start, x in chunks()] or [np.zeros(0)])
        if sample.size == 0:
            return np.zeros(0, np.float64 if subsample else np.int64)
        low, high, noise = estimate_levels(sample)
        if not (high - low > min_contrast * max(noise, 1e-12 * max(abs(high), abs(low), 1.0))):
            warnings.warn(
                f"Photodiode channel {channel!r} shows no flashes (levels {sign * low:.4g} and {sign * high:.4g}, "
                f"noise {noise:.3g}); no onsets detected.",
                stacklevel=2,
            )
            return np.zeros(0, np.float64 if subsample else np.int64)
    else:
        low, high = sorted(sign * np.asarray(levels, dtype=float))
        noise = 0.0
    span = high - low
    mid = 0.5 * (low + high)
    lo_th, hi_th = mid - 0.5 * hysteresis * span, mid + 0.5 * hysteresis * span
    on_th = min(low + max(onset_fraction * span, 5.0 * noise), mid)
    log.info("photodiode %s: low %.4g, high %.4g, threshold %.4g ± %.4g, onset level %.4g",
             channel, low, high, mid, 0.5 * hysteresis * span, on_th)

    margin = max(int(0.05 * fs), 2)
    min_off = min_off_ms * fs / 1000.0
    state = 0
    last_high = -np.inf  # global index of the last sample above the upper threshold
    tail = np.zeros(0)
    onsets = []
    for start, x in chunks():
        buf = np.concatenate([tail, x])
        off = tail.size  # buf[off:] is the new chunk
        above, below = x > hi_th, x < lo_th
        ev = np.flatnonzero(above | below)
        if ev.size:
            evs = above[ev].astype(np.int8)
            prev = np.r_[state, evs[:-1]]
            rises = ev[(evs == 1) & (prev == 0)]
            hi_pos = np.r_[last_high, ev[evs == 1] + start]
            before = hi_pos[np.searchsorted(hi_pos, rises + start, "left") - 1]
            rises = rises[rises + start - before >= min_off] + off  # positions in buf
            state = int(evs[-1])
            last_high = hi_pos[-1]
            if rises.size:
                lt = np.flatnonzero(buf < on_th)
                j = np.searchsorted(lt, rises) - 1
                ok = j >= 0
                i = np.where(ok, lt[np.maximum(j, 0)], rises - 1)
                if subsample:
                    x0, x1 = buf[np.maximum(i, 0)], buf[np.minimum(i + 1, buf.size - 1)]
                    with np.errstate(divide="ignore", invalid="ignore"):
                        frac = np.where(ok & (x1 > x0), (on_th - x0) / (x1 - x0), 1.0)
                    pos = i + np.clip(frac, 0.0, 1.0)
                else:
                    pos = (i + 1).astype(np.float64)
                onsets.append(pos - off + start)
        tail = x[-margin:] if x.size >= margin else np.concatenate([tail, x])[-margin:]
    on = np.concatenate(onsets) if onsets else np.zeros(0)
    return on if subsample else np.rint(on).astype(np.int64)


# -- clock fit -----------------------------------------------------------------------------------
def fit_clock(
    mworks_us: np.ndarray,
    pulses: np.ndarray,
    *,
    sampling_rate: float,
    tolerance_ms: float = 5.0,
    block: int = 32,
) -> dict:
    """Fit ``sample = intercept + slope * time_us`` between MWorks times and Intan pulses.

    1. For blocks of ``block`` consecutive presentations (at the start, middle and end), every
       pulse-minus-time difference is a candidate offset, scored by how many (presentation, pulse)
       pairs agree with it within ``tolerance_ms`` (a cross-match of the two event trains'
       intervals). An RSVP train is nearly periodic, so an offset shifted by whole presentations can
       score as well as the true one within a block (better, when a pulse is missing there): the
       distinct offsets that line up at least half the block are scored again on 9 blocks around it,
       and the best 3 of each block seed fits.
    2. From each seed, least squares on the pairs matched within ``tolerance_ms``, outliers
       (residual above 4 robust SDs) rejected, on a window that doubles around the seed block
       until it covers the session, so drift is tracked as it accumulates. The fit that matches
       the most presentations over the whole session wins (then the smaller residuals).

    Returns a dict: intercept, slope (samples per µs), drift_ppm and offset_us (so that
    ``mworks_us = intan_us * (1 + drift_ppm * 1e-6) + offset_us`` with ``intan_us = sample / fs * 1e6``
    at the nominal ``sampling_rate``), n_matched, residual_sd_ms, and ``pulse_index`` (per
    presentation, the matched pulse or -1).
    """
    t = np.asarray(mworks_us, dtype=np.float64)
    p = np.sort(np.asarray(pulses, dtype=np.float64))
    n = t.size
    nominal = sampling_rate / 1e6
    tol = tolerance_ms * sampling_rate / 1000.0
    if n == 0 or p.size == 0:
        raise NeuroitError(
            f"Cannot fit the MWorks-Intan clock: {n} presentation(s) and {p.size} pulse(s)."
        )
    if np.any(np.diff(t) < 0):
        raise NeuroitError("MWorks presentation times must be sorted in time.")
    t_ref = float(t[0])
    tc = t - t_ref

    # 1. seed offsets from blocks at the start, middle and end. An RSVP train is nearly periodic, so an
    # offset shifted by whole presentations can line up as many pairs within a block as the true one (more,
    # when a pulse is missing there): each distinct offset is also scored on a window of 9 blocks around
    # its block (where the session's edges and irregular intervals tell the shifts apart), and the best
    # few of every block go on to step 2, which decides on the whole session.
    bsz = min(block, n)
    need = max(3, bsz // 2)
    seeds: list[tuple[int, float, int]] = []
    for s0 in sorted({0, (n - bsz) // 2, n - bsz}):
        tb = tc[s0 : s0 + bsz]
        d = (p[None, :] - nominal * tb[:, None]).ravel()
        d.sort()
        left, right = np.searchsorted(d, d - tol, "left"), np.searchsorted(d, d + tol, "right")
        cnt = right - left
        offsets: list[float] = []
        for k in np.argsort(-cnt, kind="stable"):
            if cnt[k] < need or len(offsets) == 64:
                break
            off = float(np.median(d[left[k]:right[k]]))
            if all(abs(off - o) > tol for o in offsets):
                offsets.append(off)
        win = tc[max(0, s0 - 4 * bsz): s0 + 5 * bsz]
        scored = []
        for off in offsets:
            pred = off + nominal * win
            hits = np.searchsorted(p, pred + tol, "right") - np.searchsorted(p, pred - tol, "left")
            scored.append((int((hits > 0).sum()), off, s0))
        seeds += sorted(scored, key=lambda x: -x[0])[:3]
    if not seeds:
        raise NeuroitError(
            f"Cannot match MWorks presentations to the onset pulses: fewer than {need} of {bsz} consecutive "
            f"presentations line up with pulses within {tolerance_ms} ms (check the pulse channel and the log)."
        )
    # 2. each seed grows into a fit of the whole session; the fit that matches the most presentations wins
    best = None
    for _, a, s0 in seeds:
        a, b = _grow_fit(tc, p, a, nominal, tol, s0, bsz)
        match, resid = _nearest(tc, p, a, b, tol)
        ok = match >= 0
        score = (int(ok.sum()), -float(np.abs(resid[ok]).sum()))
        if best is None or score > best[0]:
            best = (score, a, b)
    _, a, b = best
    match, resid = _nearest(tc, p, a, b, tol)
    ok = match >= 0
    sd = float(np.std(resid[ok])) if ok.sum() > 1 else 0.0
    intercept = a - b * t_ref
    return {
        "intercept": float(intercept),
        "slope": float(b),
        "t_ref_us": t_ref,
        "drift_ppm": float((nominal / b - 1.0) * 1e6),
        "offset_us": float(-intercept / b),
        "n_matched": int(ok.sum()),
        "residual_sd_ms": sd * 1000.0 / sampling_rate,
        "pulse_index": match,
    }


def _grow_fit(tc, p, a, b, tol, s0, size):
    """Least-squares fits on a window that doubles around ``[s0, s0 + size)`` until it covers the session."""
    n = tc.size
    lo, hi = s0, s0 + size
    while True:
        a, b, _ = _refit(tc[lo:hi], p, a, b, tol)
        if lo == 0 and hi == n:
            return a, b
        size *= 2
        lo, hi = max(0, lo - size // 2), min(n, hi + size // 2)


def _nearest(tc, p, a, b, tol):
    pred = a + b * tc
    j = np.clip(np.searchsorted(p, pred), 1, max(p.size - 1, 1))
    j0 = np.minimum(j - 1, p.size - 1)
    j1 = np.minimum(j, p.size - 1)
    pick = np.where(np.abs(p[j0] - pred) <= np.abs(p[j1] - pred), j0, j1)
    resid = p[pick] - pred
    match = np.where(np.abs(resid) <= tol, pick, -1)
    return match, resid


def _refit(tc, p, a, b, tol):
    keep = np.zeros(tc.size, bool)
    for _ in range(5):
        match, resid = _nearest(tc, p, a, b, tol)
        keep = match >= 0
        if keep.sum() >= 3:
            r = resid[keep]
            mad = 1.4826 * np.median(np.abs(r - np.median(r)))
            keep[keep] = np.abs(r - np.median(r)) <= max(4 * mad, 1.0)
        if keep.sum() < 2:
            return a, b, keep
        x, y = tc[keep], p[match[keep]]
        if x.max() - x.min() > 0 and keep.sum() >= 3:
            b_new, a_new = np.polyfit(x, y, 1)
        else:
            a_new, b_new = float(np.mean(y - b * x)), b
        if abs(a_new - a) < 1e-6 and abs(b_new - b) < 1e-12:
            a, b = a_new, b_new
            break
        a, b = a_new, b_new
    return float(a), float(b), keep


# -- alignment -----------------------------------------------------------------------------------
def align_to_photodiode(
    presentations: pd.DataFrame,
    pulses: np.ndarray,
    flashes: np.ndarray,
    *,
    sampling_rate: float,
    window_ms: tuple[float, float] = (0.0, 100.0),
    warn_latency_ms: float = 40.0,
    match_tolerance_ms: float = 5.0,
    exclude_broken_fixation: bool = True,
    guard_ms: float = 200.0,
    clock: dict | None = None,
) -> pd.DataFrame:
    """Match presentations to onset pulses (by a fitted clock) and pulses to photodiode flashes.

    Returns a copy of ``presentations`` with columns ``predicted_sample`` (from the clock fit),
    ``pulse_sample`` (-1 if none), ``onset_sample`` (the photodiode onset, rounded; -1 if none),
    ``onset_sample_float``, ``photodiode_latency_ms`` (NaN if none), ``status``
    (``"ok"``, ``"warning"`` — kept, latency above ``warn_latency_ms`` — or ``"dropped"``) and
    ``reason`` (one of :data:`REASONS`, ``"late_flash"`` for warnings, or ``""``).
    ``attrs`` holds the clock fit (``clock``), unmatched pulses and flashes, and the parameters.
    A flash is taken within ``window_ms`` after its pulse (the plausible latency range); a flash
    found later but before the next pulse is reported as ``latency_out_of_range``. A pulse or flash
    that belongs to no presentation but comes within ``guard_ms`` after a presentation's pulse
    drops that presentation as ``extra_pulse`` / ``extra_flash`` (something spurious happened on
    the line or the screen during its response window); ``guard_ms=0`` only reports them in attrs.
    ``clock`` reuses a fit from :func:`fit_clock` instead of fitting one.
    """
    if "mworks_time_us" not in presentations:
        raise NeuroitError("align_to_photodiode needs a presentation table with an 'mworks_time_us' column.")
    w0, w1 = (float(v) for v in window_ms)
    if not w0 < w1:
        raise NeuroitError(f"The 'window_ms' parameter must be (start, stop) with start < stop; got {window_ms!r}.")
    fs = float(sampling_rate)
    table = presentations.sort_values("mworks_time_us", kind="stable").reset_index(drop=True).copy()
    t = table["mworks_time_us"].to_numpy(np.float64)
    p = np.sort(np.asarray(pulses, dtype=np.float64))
    f = np.sort(np.asarray(flashes, dtype=np.float64))
    n = len(table)
    tol = match_tolerance_ms * fs / 1000.0

    if clock is None:
        clock = fit_clock(t, p, sampling_rate=fs, tolerance_ms=match_tolerance_ms)
    pred = clock["intercept"] + clock["slope"] * t

    reason = np.full(n, "", dtype=object)
    # pulses: exactly one within tolerance of the prediction
    lo = np.searchsorted(p, pred - tol, "left")
    hi = np.searchsorted(p, pred + tol, "right")
    count = hi - lo
    pulse = np.where(count == 1, p[np.minimum(lo, max(p.size - 1, 0))] if p.size else -1, -1.0)
    reason[count == 0] = "missing_pulse"
    reason[count > 1] = "extra_pulse"
    one = count == 1
    used, n_used = np.unique(lo[one], return_counts=True)
    shared = np.isin(lo, used[n_used > 1]) & one
    reason[shared] = "ambiguous_pulse"
    pulse[shared] = -1.0
    claimed = np.zeros(p.size, bool)
    for k in np.flatnonzero(count >= 1):
        claimed[lo[k] : hi[k]] = True

    # flashes: exactly one within the window after the pulse
    has = pulse >= 0
    a0 = pulse + w0 * fs / 1000.0
    a1 = pulse + w1 * fs / 1000.0
    flo = np.searchsorted(f, a0, "left")
    fhi = np.searchsorted(f, a1, "right")
    fcount = np.where(has, fhi - flo, 0)
    onset = np.full(n, np.nan)
    take = has & (fcount == 1)
    onset[take] = f[flo[take]]
    reason[has & (fcount > 1)] = "extra_flash"
    fclaimed = np.zeros(f.size, bool)
    for k in np.flatnonzero(has & (fcount >= 1)):
        fclaimed[flo[k] : fhi[k]] = True
    # no flash in the window: a late one before the next pulse is a latency out of range
    nxt_pulse = np.r_[p, np.inf][np.searchsorted(p, pulse, "right")]
    nxt_pred = np.r_[pred[1:], np.inf] - tol
    for k in np.flatnonzero(has & (fcount == 0)):
        j = fhi[k]
        if j < f.size and f[j] < min(nxt_pulse[k], nxt_pred[k]) and not fclaimed[j]:
            reason[k] = "latency_out_of_range"
            onset[k] = f[j]
            fclaimed[j] = True
        else:
            reason[k] = "missing_flash"
    latency = (onset - np.where(has, pulse, np.nan)) * 1000.0 / fs
    # spurious pulses / flashes soon after a presentation's pulse (and before the next one) drop it
    if guard_ms > 0:
        anchor = np.where(has, pulse, pred - tol)
        order = np.argsort(anchor, kind="stable")
        for events, free, kind in ((p, ~claimed, "extra_pulse"), (f, ~fclaimed, "extra_flash")):
            e = events[free]
            k = np.searchsorted(anchor[order], e, "right") - 1
            near = (k >= 0) & (e - anchor[order[np.maximum(k, 0)]] <= guard_ms * fs / 1000.0)
            for kk in np.unique(order[k[near]]):
                if reason[kk] == "":
                    reason[kk] = kind
    out_of_range = (reason == "latency_out_of_range")

    fix = table["fixation_correct"].to_numpy(bool) if "fixation_correct" in table else np.ones(n, bool)
    if exclude_broken_fixation:
        reason[(reason == "") & ~fix] = "broken_fixation"
    status = np.where(reason == "", "ok", "dropped").astype(object)
    late = (reason == "") & (latency > warn_latency_ms)
    status[late] = "warning"
    reason[late] = "late_flash"

    good = ~np.isnan(onset) & ~out_of_range
    table["predicted_sample"] = pred
    table["pulse_sample"] = np.where(has, np.rint(pulse), -1).astype(np.int64)
    table["onset_sample"] = np.where(good, np.rint(np.nan_to_num(onset, nan=-1)), -1).astype(np.int64)
    table["onset_sample_float"] = np.where(good, onset, np.nan)
    table["photodiode_latency_ms"] = latency
    table["status"] = status
    table["reason"] = reason

    if late.any():
        warnings.warn(
            f"{int(late.sum())} presentation(s) have a photodiode latency above {warn_latency_ms} ms "
            f"(max {np.nanmax(latency[late]):.1f} ms); they are kept, flagged 'late_flash'.",
            stacklevel=2,
        )
    counts = pd.Series(reason[status == "dropped"]).value_counts().to_dict()
    if counts:
        log.info("alignment dropped %s", counts)
    fit = {k: v for k, v in clock.items() if k != "pulse_index"}
    table.attrs = {
        **presentations.attrs,
        "clock": fit,
        "unmatched_pulses": p[~claimed].astype(np.int64).tolist(),
        "unmatched_flashes": f[~fclaimed].tolist(),
        "sampling_rate": fs,
        "window_ms": [w0, w1],
        "warn_latency_ms": float(warn_latency_ms),
        "match_tolerance_ms": float(match_tolerance_ms),
        "guard_ms": float(guard_ms),
        "exclude_broken_fixation": bool(exclude_broken_fixation),
        "dropped": {str(k): int(v) for k, v in counts.items()},
    }
    return table
