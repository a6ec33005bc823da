"""simulate_session: write a complete, realistic RSVP session with known ground truth."""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from neuroit._atomic import atomic_path
from neuroit.errors import NeuroitError
from neuroit.simulate import _neural, _protocol
from neuroit.simulate._stimuli import check_stimuli, default_stimuli
from neuroit.simulate.ground_truth import save_csv, save_json, save_npz

__all__ = ["simulate_session"]

logger = logging.getLogger(__name__)

AMP_UV_PER_CODE = 0.195
TTL_CHANNEL = "DIGITAL-IN-02"
TTL_BIT = 1  # DIGITAL-IN-02 is bit 1 of the digital word
PHOTODIODE_CHANNEL = "ANALOG-IN-1"
_LAYOUTS = ("per_channel", "per_signal", "traditional")
LFP_RATIO = 3.0


def simulate_session(
    out_dir: str | os.PathLike,
    *,
    seed: int = 0,
    duration_s: float | None = None,
    n_arrays: int = 3,
    channels_per_array: int = 96,
    sampling_rate: float = 20000.0,
    layout: str = "per_channel",
    fmt: str = "rhd",
    stimuli: pd.DataFrame | None = None,
    images_per_domain: int = 2,
    n_normalizers: int = 25,
    n_repetitions: int = 2,
    rates=None,
    stim_on_ms: float = 100.0,
    stim_off_ms: float = 100.0,
    pre_trial_ms: float = 300.0,
    images_per_trial: tuple[int, int] = (6, 10),
    p_broken_fixation: float = 0.08,
    response_latency_ms: float = 70.0,
    photodiode_latency_ms: float | None = None,
    refresh_hz: float = 60.0,
    faults: dict | None = None,
    dead: float = 0.03,
    drifting: float = 0.05,
    unstable: float = 0.05,
    clock_offset_us: float | None = None,
    clock_drift_ppm: float | None = None,
    pulse_ms: float = 10.0,
    chunk_s: float = 1.0,
    overwrite: bool = False,
    progress: bool = False,
) -> Path:
    """Write a simulated RSVP recording session into ``out_dir`` and return its path.

    The folder gets ``intan/`` (Intan files, ``layout`` "per_channel" (default), "per_signal" or
    "traditional" (``intan/session.rhd``)), ``mworks/session.mwk2``, ``stimuli.csv``,
    ``ground_truth/`` (read it with :func:`load_ground_truth`) and ``simulation.json``.

    Parameters
    ----------
    seed
        Seeds every random choice; the same seed and parameters give byte-identical files.
    duration_s
        Session length. ``None``: as long as the protocol needs to show every stimulus
        ``n_repetitions`` times with correct fixation (about 3 min for the defaults). A number:
        the stimulus sequence cycles until the time is up.
    n_arrays, channels_per_array
        Utah arrays (ports A, B, …; regions posterior, central, anterior) and electrodes on each.
    stimuli
        Stimulus table (stimulus_id, image_file or image_path, object_label, domain,
        is_normalizer); default :func:`default_stimuli` (``n_normalizers`` normalizers + 10 classes ×
        13 domains × ``images_per_domain``).
    rates
        True rates, site × stimulus (DataArray with dims site, stimulus_id or an array), spikes/s
        over the response window; default category- and domain-tuned rates.
    stim_on_ms, stim_off_ms, pre_trial_ms, images_per_trial, p_broken_fixation
        The RSVP protocol (100 ms on, 100 ms off, 300 ms fixation before the first image, 6–10
        images per trial, the probability that fixation breaks in a trial).
    response_latency_ms
        Neural response onset after the image appears; responses last 100 ms.
    photodiode_latency_ms
        Base screen latency after the TTL (default: drawn in 18–28 ms); each flash adds the wait
        for the next refresh (0–1/``refresh_hz``) and 0.3 ms jitter.
    faults
        Counts of injected faults, keys "missing_pulse", "missing_flash", "extra_pulse",
        "extra_flash"; recorded in ``presentations.fault``.
    dead, drifting, unstable
        Fractions of sites that are dead (no spikes; half flat, half noise only), drifting (rate
        gain drifting linearly to ×0.25–0.5 or ×1.6–2.2 by the end) or unstable (image tuning
        reshuffled every repetition).
    clock_offset_us, clock_drift_ppm
        MWorks clock = Intan clock × (1 + drift) + offset (defaults drawn from the seed).
    pulse_ms
        Width of the stimulus-onset TTL pulses on DIGITAL-IN-02.
    chunk_s
        Samples are generated and written in chunks of this length (memory stays bounded).
    overwrite
        Replace a non-empty ``out_dir`` (otherwise an error).
    progress
        Show a progress bar (tqdm).
    """
    t_start = time.perf_counter()
    params = _check_params(locals())
    final = Path(out_dir)
    _check_folder(final, overwrite)
    ss = np.random.SeedSequence(int(seed))
    rng_proto, rng_sites, rng_rates, rng_wave, rng_noise, rng_spikes, rng_adc, rng_misc = (
        np.random.default_rng(s) for s in ss.spawn(8))
    fs = float(sampling_rate)

    # -- stimuli, protocol, clocks -------------------------------------------------------
    stim = check_stimuli(stimuli) if stimuli is not None else default_stimuli(
        images_per_domain=images_per_domain, n_normalizers=n_normalizers)
    protocol = _protocol.Protocol(stim_on_ms=stim_on_ms, stim_off_ms=stim_off_ms, pre_trial_ms=pre_trial_ms,
                                  images_per_trial=tuple(images_per_trial), p_broken_fixation=p_broken_fixation)
    pres, trials, total_s = _protocol.make_schedule(stim, protocol=protocol, n_repetitions=int(n_repetitions),
                                                    duration_s=duration_s, rng=rng_proto)
    clock = {
        "offset_us": float(clock_offset_us if clock_offset_us is not None else np.round(rng_misc.uniform(1e9, 5e9))),
        "drift_ppm": float(clock_drift_ppm if clock_drift_ppm is not None else np.round(rng_misc.uniform(-30, 30), 3)),
        "sampling_rate": fs,
    }
    base_lat = photodiode_latency_ms if photodiode_latency_ms is not None else round(float(rng_misc.uniform(18, 28)), 3)
    latency = {"base_ms": float(base_lat), "refresh_hz": float(refresh_hz), "jitter_ms": 0.3}
    pres = _protocol.add_timing(pres, sampling_rate=fs, clock=clock, latency=latency, faults=dict(faults or {}),
                                stim_on_ms=stim_on_ms, rng=rng_proto)
    pres.insert(4, "stimulus_id", stim["stimulus_id"].to_numpy()[pres["stimulus_index"].to_numpy()])
    pres.insert(5, "image_file", stim["image_file"].to_numpy()[pres["stimulus_index"].to_numpy()])
    n_samples = int(round(total_s * fs))
    if layout == "traditional":  # header-attached files hold whole 128-sample blocks
        n_samples = n_samples // 128 * 128
        total_s = n_samples / fs

    # -- sites, rates, waveforms, noise --------------------------------------------------
    sites = _neural.make_sites(n_arrays, channels_per_array, rng=rng_sites,
                               status_fractions={"dead": dead, "drifting": drifting, "unstable": unstable})
    rate_table = (_neural.check_rates(rates, sites, stim) if rates is not None
                  else _neural.default_rates(sites, stim, rng=rng_rates))
    rate_table = np.where((sites["status"] == "dead").to_numpy()[:, None], 0.0, rate_table)
    templates, pre, unit_cum, amps = _neural.make_templates(sites, fs, rng=rng_wave)
    # periodic noise streams: as long as the session (at most 2**22 samples ≈ 210 s at 20 kHz)
    bank_len = int(min(1 << 22, max(1 << 15, 1 << int(np.ceil(np.log2(max(n_samples, 2)))))))
    n_bank = 5
    bank = _neural.make_noise_bank(n_bank, bank_len, fs, lfp_ratio=LFP_RATIO, rng=rng_noise)
    n_ch = len(sites)
    bank_idx = rng_noise.integers(1, n_bank, n_ch)  # stream 0 is the common-mode signal
    bank_off = rng_noise.integers(0, bank_len, n_ch)
    common_off = int(rng_noise.integers(0, bank_len))
    common_gain = rng_noise.uniform(1.0, 3.0, n_ch).astype(np.float32)
    sites["unit_amplitudes_uv"] = [";".join(f"{a:.1f}" for a in amps[i, :k]) for i, k in enumerate(sites["n_units"])]
    # per channel: white (spike-band) std noise_uv plus a 1/f (LFP) part of std LFP_RATIO × noise_uv
    noise_scale = sites["noise_uv"].to_numpy(np.float32)
    sites["lfp_uv"] = (sites["noise_uv"] * LFP_RATIO).round(3)
    line_a = (sites["line_uv"] * np.cos(sites["line_phase"])).to_numpy(np.float32)
    line_b = (sites["line_uv"] * np.sin(sites["line_phase"])).to_numpy(np.float32)
    flat = sites["flat"].to_numpy(bool)

    spikes = _neural.SpikeGenerator(sites=sites, rates=rate_table, presentations=pres, sampling_rate=fs,
                                    n_samples=n_samples, latency_ms=response_latency_ms, rng=rng_spikes,
                                    unit_cum=unit_cum)
    pulses, flashes = _digital_and_flash_events(pres, fs, pulse_ms=pulse_ms, stim_on_ms=stim_on_ms)

    with atomic_path(final) as out:
        out.mkdir()
        # -- stream everything to the Intan writer --------------------------------------------
        from neuroit.io import IntanWriter
        from neuroit.simulate._render import render_chunk

        intan_path = out / "intan" / "session.rhd" if layout == "traditional" else out / "intan"
        notes = (f"neuroit {params['neuroit_version']} simulated session", f"seed {int(seed)}", "")
        chunk = max(256, int(round(chunk_s * fs)))  # longer than any waveform
        if layout == "traditional":
            chunk = max(128, chunk // 128 * 128)
        all_ch, all_s, all_u = [], [], []
        empty = (np.empty(0, np.int64),) * 3
        carry = empty  # earlier spikes whose waveform reaches into the current chunk
        width = templates.shape[2]
        amp_buf = np.empty((chunk, n_ch), np.int16)
        t_line = 2 * np.pi * 60.0 / fs
        bar = _progress(n_samples, progress)
        with IntanWriter(intan_path, fmt=fmt, layout=layout, sampling_rate=fs,
                         amplifier_channels=sites["channel"].tolist(), adc_channels=[PHOTODIODE_CHANNEL],
                         digital_in_channels=[TTL_CHANNEL], notes=notes) as writer:
            cur = spikes.chunk(0, min(chunk, n_samples))
            for s0 in range(0, n_samples, chunk):
                n = min(chunk, n_samples - s0)
                # spikes of the next chunk are drawn first: their waveforms start before their trough
                nxt = spikes.chunk(s0 + n, min(chunk, n_samples - s0 - n)) if s0 + n < n_samples else empty
                for acc, x in zip((all_ch, all_s, all_u), cur):
                    acc.append(x)
                early = nxt[1] - pre < s0 + n
                r_ch, r_s, r_u = (np.concatenate([a, b, c[early]]) for a, b, c in zip(carry, cur, nxt))
                order = np.argsort(r_s, kind="stable")
                r_ch, r_s, r_u = r_ch[order], r_s[order], r_u[order]
                tail = (r_s - pre + width > s0 + n) & (r_s < s0 + n)
                carry = (r_ch[tail], r_s[tail], r_u[tail])
                cur = nxt
                idx = np.arange(s0, s0 + n)
                line_sin = (np.sin(t_line * idx) + 0.2 * np.sin(3 * t_line * idx)).astype(np.float32)
                line_cos = np.cos(t_line * idx).astype(np.float32)
                common = _wrap_slice(bank[0], common_off + s0, n)
                amp = amp_buf[:n]
                render_chunk(amp, s0, bank, bank_idx, bank_off, noise_scale, common, common_gain,
                             line_sin, line_cos, line_a, line_b, flat, r_ch, r_s - s0, r_u, templates, pre,
                             np.float32(1.0 / AMP_UV_PER_CODE))
                writer.write(amplifier=amp, adc=_photodiode(s0, n, flashes, fs, rng_adc).reshape(-1, 1),
                             digital_in=_digital(s0, n, pulses))
                if bar is not None:
                    bar.update(n)
        if bar is not None:
            bar.close()

        # -- MWorks events, tables, ground truth ----------------------------------------------
        from neuroit.io import write_mwk2

        events = _protocol.mworks_events(pres, trials, stim, protocol=protocol, clock=clock)
        write_mwk2(out / "mworks" / "session.mwk2", events, overwrite=True)
        save_csv(out / "stimuli.csv", stim)
        gt = out / "ground_truth"
        gt.mkdir()
        ch = np.concatenate(all_ch)
        smp = np.concatenate(all_s)
        unit = np.concatenate(all_u)
        order = np.lexsort((smp, ch))
        offsets = np.zeros(n_ch + 1, np.int64)
        offsets[1:] = np.cumsum(np.bincount(ch, minlength=n_ch))
        save_npz(gt / "spikes.npz", samples=smp[order], units=unit[order].astype(np.int8), offsets=offsets,
                 channel_names=np.array(sites["channel"].tolist()), sampling_rate=np.float64(fs),
                 unit_amplitudes_uv=amps)
        save_npz(gt / "rates.npz", rate=rate_table, site=np.array(sites["site"].tolist()),
                 stimulus_id=np.array(stim["stimulus_id"].tolist()))
        cols = ["presentation", "trial", "order_in_trial", "stimulus_id", "stimulus_index", "image_file", "repetition",
                "fixation_correct", "mworks_time_us", "offset_mworks_time_us", "pulse_sample",
                "photodiode_onset_sample", "screen_onset_sample", "latency_ms", "fault", "fault_sample"]
        save_csv(gt / "presentations.csv", pres[cols])
        save_csv(gt / "trials.csv", trials)
        save_csv(gt / "sites.csv", sites)
        save_csv(gt / "stimuli.csv", stim)
        save_json(gt / "clock.json", clock)
        params.update(clock=clock, duration_s_actual=total_s, n_samples=n_samples, n_presentations=len(pres),
                      n_trials=len(trials), n_stimuli=len(stim), n_channels=n_ch, photodiode_base_latency_ms=latency["base_ms"],
                      photodiode_channel=PHOTODIODE_CHANNEL, ttl_channel=TTL_CHANNEL,
                      amplifier_uv_per_code=AMP_UV_PER_CODE, noise_bank_samples=bank_len,
                      n_spikes=int(len(smp)), intan_path=str(intan_path.relative_to(out)),
                      mworks_path="mworks/session.mwk2")
        save_json(out / "simulation.json", params)
    logger.info("simulated %d channels × %.1f s (%d presentations, %d spikes) into %s in %.1f s",
                n_ch, total_s, len(pres), len(smp), final, time.perf_counter() - t_start)
    return final


# ---------------------------------------------------------------------------------------
def _check_params(p: dict) -> dict:
    from neuroit import __version__

    if int(p["n_arrays"]) < 1 or int(p["n_arrays"]) > 8:
        raise NeuroitError(f"'n_arrays' must be 1–8 (Intan ports A–H); got {p['n_arrays']}.")
    if int(p["channels_per_array"]) < 1 or int(p["channels_per_array"]) > 128:
        raise NeuroitError(f"'channels_per_array' must be 1–128 (one Intan port); got {p['channels_per_array']}.")
    if p["layout"] not in _LAYOUTS:
        raise NeuroitError(f"'layout' must be one of {_LAYOUTS}; got {p['layout']!r}.")
    if not 1000.0 <= float(p["sampling_rate"]) <= 30000.0:
        raise NeuroitError(f"'sampling_rate' must be 1000–30000 Hz; got {p['sampling_rate']}.")
    if p["duration_s"] is not None and not float(p["duration_s"]) > 0:
        raise NeuroitError(f"'duration_s' must be positive or None; got {p['duration_s']}.")
    if int(p["n_repetitions"]) < 1:
        raise NeuroitError(f"'n_repetitions' must be at least 1; got {p['n_repetitions']}.")
    lo, hi = p["images_per_trial"]
    if not 1 <= int(lo) <= int(hi):
        raise NeuroitError(f"'images_per_trial' must be (min, max) with 1 <= min <= max; got {p['images_per_trial']}.")
    if not 0.0 <= float(p["p_broken_fixation"]) < 1.0:
        raise NeuroitError(f"'p_broken_fixation' must be in [0, 1); got {p['p_broken_fixation']}.")
    if float(p["stim_on_ms"]) <= 0 or float(p["stim_off_ms"]) < 0 or float(p["pre_trial_ms"]) < 0:
        raise NeuroitError("'stim_on_ms' must be positive and 'stim_off_ms', 'pre_trial_ms' non-negative.")
    if float(p["chunk_s"]) <= 0:
        raise NeuroitError(f"'chunk_s' must be positive; got {p['chunk_s']}.")
    if p["pulse_ms"] <= 0 or p["pulse_ms"] >= p["stim_on_ms"] + p["stim_off_ms"]:
        raise NeuroitError(f"'pulse_ms' must be positive and shorter than one presentation; got {p['pulse_ms']}.")
    record = {k: v for k, v in p.items() if k not in ("out_dir", "stimuli", "rates", "progress", "t_start")}
    record["stimuli"] = "default" if p["stimuli"] is None else "given"
    record["rates"] = "default" if p["rates"] is None else "given"
    record["images_per_trial"] = [int(lo), int(hi)]
    record["faults"] = dict(p["faults"] or {})
    record["neuroit_version"] = __version__
    record["seed"] = int(p["seed"])
    return record


def _check_folder(out: Path, overwrite: bool) -> None:
    """The session is written into a temporary folder beside ``out`` and renamed onto it at the end."""
    if out.exists() and not out.is_dir():
        raise NeuroitError(f"{out} exists and is not a folder; simulate_session needs an output folder.")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise NeuroitError(f"{out} is not empty; choose an empty folder, or overwrite it (overwrite=True, or --overwrite on the command line).")


def _wrap_slice(x: np.ndarray, start: int, n: int) -> np.ndarray:
    L = len(x)
    start %= L
    if start + n <= L:
        return np.ascontiguousarray(x[start:start + n])
    return np.take(x, np.arange(start, start + n) % L)


def _digital_and_flash_events(pres, fs, *, pulse_ms, stim_on_ms):
    """(pulse starts, pulse stops) in samples and (flash on, flash off) in fractional samples."""
    width = max(1, int(round(pulse_ms * 1e-3 * fs)))
    starts = pres["pulse_sample"].to_numpy()
    starts = starts[starts >= 0]
    extra = pres.loc[pres["fault"] == "extra_pulse", "fault_sample"].to_numpy()
    starts = np.sort(np.concatenate([starts, extra]).astype(np.int64))
    pulses = (starts, starts + width)
    on = pres["photodiode_onset_sample"].to_numpy(np.float64)
    on = on[on >= 0]
    off = on + stim_on_ms * 1e-3 * fs
    x_on = pres.loc[pres["fault"] == "extra_flash", "fault_sample"].to_numpy(np.float64)
    x_off = x_on + 0.02 * fs  # a 20 ms glitch
    fon = np.concatenate([on, x_on])
    foff = np.concatenate([off, x_off])
    order = np.argsort(fon, kind="stable")
    return pulses, (fon[order], foff[order])


def _digital(s0: int, n: int, pulses) -> np.ndarray:
    starts, stops = pulses
    word = np.zeros(n, np.uint16)
    i0 = np.searchsorted(stops, s0, side="right")
    i1 = np.searchsorted(starts, s0 + n, side="left")
    for a, b in zip(starts[i0:i1], stops[i0:i1]):
        word[max(a - s0, 0):max(min(b - s0, n), 0)] |= np.uint16(1 << TTL_BIT)
    return word


PD_BASELINE_V = 0.12
PD_FLASH_V = 2.2
PD_RISE_MS = 0.8
PD_FALL_MS = 1.5
PD_NOISE_V = 0.004


def _photodiode(s0: int, n: int, flashes, fs: float, rng) -> np.ndarray:
    """Photodiode volts: baseline, exponential rise/fall at every flash, refresh ripple, noise."""
    on, off = flashes
    v = np.full(n, PD_BASELINE_V)
    tau_r = PD_RISE_MS * 1e-3 * fs
    tau_f = PD_FALL_MS * 1e-3 * fs
    tail = 12 * tau_f
    i0 = np.searchsorted(off + tail, s0, side="right")
    i1 = np.searchsorted(on, s0 + n, side="left")
    t = np.arange(s0, s0 + n, dtype=np.float64)
    for a, b in zip(on[i0:i1], off[i0:i1]):
        lo = max(int(np.floor(a)) + 1 - s0, 0) if a >= s0 else 0
        hi = min(int(np.ceil(b + tail)) - s0, n)
        if hi <= lo:
            continue
        tt = t[lo:hi]
        rise = 1.0 - np.exp(-np.clip(tt - a, 0, None) / tau_r)
        level_at_off = 1.0 - np.exp(-(b - a) / tau_r)
        fall = level_at_off * np.exp(-np.clip(tt - b, 0, None) / tau_f)
        shape = np.where(tt < b, rise, fall)
        # the screen's backlight flickers at twice the refresh rate while lit
        ripple = 1.0 + 0.02 * np.sin(2 * np.pi * 120.0 * tt / fs)
        v[lo:hi] += (PD_FLASH_V - PD_BASELINE_V) * shape * ripple
    v += rng.normal(0.0, PD_NOISE_V, n)
    return v


def _progress(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="sample", unit_scale=True, desc="simulate")
