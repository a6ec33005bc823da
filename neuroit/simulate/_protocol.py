"""The RSVP protocol: trials, presentations, faults, clocks and the MWorks events they produce.

All times here are seconds on the Intan clock (sample / sampling_rate) unless named ``_us``
(MWorks clock) or ``_sample``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from neuroit.errors import NeuroitError

FAULTS = ("missing_pulse", "missing_flash", "extra_pulse", "extra_flash")


@dataclass(frozen=True)
class Protocol:
    stim_on_ms: float = 100.0
    stim_off_ms: float = 100.0
    pre_trial_ms: float = 300.0
    images_per_trial: tuple[int, int] = (6, 10)
    inter_trial_ms: tuple[float, float] = (400.0, 800.0)
    p_broken_fixation: float = 0.08
    lead_in_s: float = 1.0
    tail_s: float = 1.0


def to_mworks_us(t_s, clock: dict) -> np.ndarray:
    """Intan time (s) → MWorks time (µs): MWorks = Intan × (1 + drift) + offset."""
    t_us = np.asarray(t_s, dtype=np.float64) * 1e6
    return np.round(t_us * (1.0 + clock["drift_ppm"] * 1e-6) + clock["offset_us"]).astype(np.int64)


def make_schedule(stimuli: pd.DataFrame, *, protocol: Protocol, n_repetitions: int, duration_s: float | None,
                  rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """Trials and presentations (Intan seconds). Returns (presentations, trials, session duration s).

    Each repetition is a random permutation of all stimuli. Fixation breaks at a random image of
    a trial: that image and the rest of the trial are flagged 0 and queued again (so every stimulus
    ends with ``n_repetitions`` correct presentations). With ``duration_s`` the queue cycles until
    the time is up and the session is exactly ``duration_s`` long.
    """
    n_stim = len(stimuli)
    lo, hi = protocol.images_per_trial
    period = (protocol.stim_on_ms + protocol.stim_off_ms) / 1e3
    queue: list[int] = []
    head = 0

    def refill():
        queue.extend(rng.permutation(n_stim).tolist())

    for _ in range(n_repetitions if duration_s is None else 1):
        refill()
    pres, trials = [], []
    t = protocol.lead_in_s
    trial = 0
    while True:
        if head >= len(queue):
            if duration_s is None:
                break
            refill()
        n_img = int(rng.integers(lo, hi + 1))
        if duration_s is not None and head + n_img > len(queue):
            refill()
        items = queue[head:head + n_img]
        n_img = len(items)
        first_onset = t + protocol.pre_trial_ms / 1e3
        if duration_s is not None:  # shorten the last trial to what fits (at least the minimum)
            room = duration_s - protocol.tail_s - first_onset + protocol.stim_off_ms / 1e3
            n_fit = int(np.floor(room / period + 1e-9))
            if n_fit < min(lo, n_img):
                break
            n_img = min(n_img, n_fit)
            items = items[:n_img]
        end = first_onset + n_img * period - protocol.stim_off_ms / 1e3
        head += n_img
        broken_at = n_img
        if rng.random() < protocol.p_broken_fixation:
            broken_at = int(rng.integers(0, n_img))
            queue.extend(items[broken_at:])
        for k, stim in enumerate(items):
            onset = first_onset + k * period
            pres.append((trial, k, stim, k < broken_at, onset, onset + protocol.stim_on_ms / 1e3))
        trials.append((trial, t, end, broken_at < n_img))
        trial += 1
        t = end + rng.uniform(*protocol.inter_trial_ms) / 1e3
    if not pres:
        need = protocol.lead_in_s + protocol.pre_trial_ms / 1e3 + lo * period - protocol.stim_off_ms / 1e3 + protocol.tail_s
        raise NeuroitError(f"'duration_s'={duration_s} is too short for a single trial of this protocol; "
                           f"it needs at least {need:.2f} s.")
    p = pd.DataFrame(pres, columns=["trial", "order_in_trial", "stimulus_index", "fixation_correct",
                                    "onset_s", "offset_s"])
    p.insert(0, "presentation", np.arange(len(p)))
    p["repetition"] = p.groupby("stimulus_index").cumcount().to_numpy()
    tr = pd.DataFrame(trials, columns=["trial", "start_s", "end_s", "broken_fixation"])
    total = float(duration_s) if duration_s is not None else float(p["offset_s"].iloc[-1] + protocol.tail_s)
    return p, tr, total


def add_timing(p: pd.DataFrame, *, sampling_rate: float, clock: dict, latency: dict, faults: dict,
               stim_on_ms: float, rng: np.random.Generator) -> pd.DataFrame:
    """Pulse samples, true screen (photodiode) onsets, MWorks times and injected faults."""
    fs = sampling_rate
    n = len(p)
    p = p.copy()
    p["mworks_time_us"] = to_mworks_us(p["onset_s"], clock)
    p["offset_mworks_time_us"] = to_mworks_us(p["offset_s"], clock)
    # the TTL leaves the stimulus computer a fraction of a millisecond after MWorks logs the update
    trigger_s = p["onset_s"].to_numpy() + rng.uniform(0.05e-3, 0.3e-3, n)
    trigger_sample = np.round(trigger_s * fs).astype(np.int64)
    # screen latency: a session-wide base plus the wait for the next refresh
    base_ms = latency["base_ms"]
    lat_ms = base_ms + rng.uniform(0.0, 1e3 / latency["refresh_hz"], n) + rng.normal(0.0, latency["jitter_ms"], n)
    lat_ms = np.clip(lat_ms, 1.0, None)
    screen = trigger_sample + lat_ms * fs / 1e3
    p["pulse_sample"] = trigger_sample
    p["screen_onset_sample"] = screen
    p["photodiode_onset_sample"] = screen
    p["latency_ms"] = lat_ms
    p["fault"] = ""
    p["fault_sample"] = np.int64(-1)
    counts = {k: int(faults.get(k, 0)) for k in FAULTS}
    unknown = sorted(set(faults) - set(FAULTS))
    if unknown:
        raise NeuroitError(f"Unknown fault kind(s) {unknown}; expected some of {list(FAULTS)}.")
    total = sum(counts.values())
    if total > n:
        raise NeuroitError(f"{total} faults were asked for but the session has only {n} presentations.")
    if total:
        chosen = rng.choice(n, size=total, replace=False)
        kinds = np.repeat(list(FAULTS), [counts[k] for k in FAULTS])
        fault = p["fault"].to_numpy(dtype=object)
        fault_sample = p["fault_sample"].to_numpy().copy()
        pulse = p["pulse_sample"].to_numpy().copy()
        pd_on = p["photodiode_onset_sample"].to_numpy().copy()
        off_s = p["offset_s"].to_numpy()
        for i, kind in zip(chosen, kinds):
            fault[i] = kind
            if kind == "missing_pulse":
                pulse[i] = -1
            elif kind == "missing_flash":
                pd_on[i] = -1.0
            elif kind == "extra_pulse":  # a spurious TTL 25–45 ms into the blank after this image
                fault_sample[i] = int(round((off_s[i] + rng.uniform(0.025, 0.045)) * fs))
            else:  # a spurious 20 ms flash 20–40 ms after the screen went dark
                dark = screen[i] + stim_on_ms * 1e-3 * fs
                fault_sample[i] = int(round(dark + rng.uniform(0.020, 0.040) * fs))
        p["fault"], p["fault_sample"], p["pulse_sample"], p["photodiode_onset_sample"] = (
            fault, fault_sample, pulse, pd_on)
    return p


def mworks_events(p: pd.DataFrame, trials: pd.DataFrame, stimuli: pd.DataFrame, *, protocol: Protocol,
                  clock: dict, image_size_deg: float = 8.0) -> list[tuple[str, int, object]]:
    """The MWorks events of the session as (name, time_us, value) triples."""
    background = {"type": "blank_screen", "name": "background", "action": "draw",
                  "color_r": 0.5, "color_g": 0.5, "color_b": 0.5}
    fixation = {"type": "circle", "name": "fixation_dot", "action": "draw", "pos_x": 0.0, "pos_y": 0.0,
                "size_x": 0.2, "size_y": 0.2, "rotation": 0.0, "alpha_multiplier": 1.0,
                "color_r": 1.0, "color_g": 0.0, "color_b": 0.0}
    patch = {"type": "rectangle", "name": "photodiode_patch", "action": "draw", "pos_x": -18.0, "pos_y": -10.0,
             "size_x": 2.0, "size_y": 2.0, "rotation": 0.0, "alpha_multiplier": 1.0,
             "color_r": 1.0, "color_g": 1.0, "color_b": 1.0}
    ids = stimuli["stimulus_id"].tolist()
    files = stimuli["image_file"].tolist()
    t_start = int(to_mworks_us(0.2, clock))
    ev: list[tuple[str, int, object]] = [
        ("stim_on_time", t_start, int(round(protocol.stim_on_ms * 1e3))),
        ("stim_off_time", t_start, int(round(protocol.stim_off_ms * 1e3))),
        ("stim_on_delay", t_start, int(round(protocol.pre_trial_ms * 1e3))),
        ("#stimDisplayUpdate", t_start, [background]),
    ]
    trial_start_us = to_mworks_us(trials["start_s"], clock)
    trial_end_us = to_mworks_us(trials["end_s"] + 0.05, clock)
    for trial, t0 in zip(trials["trial"].tolist(), trial_start_us.tolist()):
        ev.append(("trial_start_line", t0, int(trial)))
        ev.append(("#stimDisplayUpdate", t0, [background, fixation]))
    for t1 in trial_end_us.tolist():
        ev.append(("#stimDisplayUpdate", t1, [background]))
    for idx, on_us, off_us, ok in zip(p["stimulus_index"].tolist(), p["mworks_time_us"].tolist(),
                                      p["offset_mworks_time_us"].tolist(), p["fixation_correct"].tolist()):
        image = {"type": "image", "name": ids[idx], "filename": files[idx], "action": "draw",
                 "pos_x": 0.0, "pos_y": 0.0, "size_x": image_size_deg, "size_y": image_size_deg,
                 "rotation": 0.0, "alpha_multiplier": 1.0}
        ev.append(("#stimDisplayUpdate", on_us, [background, image, patch, fixation]))
        ev.append(("stimulus_presented", on_us, int(idx)))
        ev.append(("#stimDisplayUpdate", off_us, [background, fixation]))
        ev.append(("correct_fixation", off_us + 1000, int(bool(ok))))
    ev.sort(key=lambda e: e[1])  # stable: keeps the order of events logged at the same time
    return ev
