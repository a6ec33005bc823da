"""Small synthetic response tensors in the shape ``bin_counts`` produces (for tests and examples).

Not a simulator of raw recordings (that is :mod:`neuroit.simulate`): this builds the
``presentation × site`` rate tensor directly, with known tuning, so tensor and quality
functions can be tested on exact, tiny inputs.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import xarray as xr

_LABELS = ("bear", "car", "dog", "elephant", "plane", "chair")


def make_stimuli(n_images: int = 12, n_normalizers: int = 6, *, blank: bool = True) -> list[dict]:
    """Stimulus table rows: experiment images ``img_000``…, normalizers ``norm_00``… and a grey blank."""
    rows = [
        dict(stimulus_id=f"img_{i:03d}", image_file=f"images/img_{i:03d}.png",
             object_label=_LABELS[i % len(_LABELS)], domain=("natural", "sketch")[i % 2], is_normalizer=False)
        for i in range(n_images)
    ]
    rows += [
        dict(stimulus_id=f"norm_{i:02d}", image_file=f"normalizers/norm_{i:02d}.png",
             object_label=_LABELS[(i + 1) % len(_LABELS)], domain="normalizer", is_normalizer=True)
        for i in range(n_normalizers)
    ]
    if blank:
        rows.append(dict(stimulus_id="norm_blank", image_file="normalizers/gray.png", object_label="blank",
                         domain="normalizer", is_normalizer=True))
    return rows


def make_session_rates(
    *,
    n_sites: int = 6,
    n_images: int = 12,
    n_normalizers: int = 6,
    n_repetitions: int = 8,
    stimulus_ids: Sequence[str] | None = None,
    unstable_sites: Sequence[int] = (),
    session: str = "s1",
    date: str = "2026-01-05",
    animal: str = "pico",
    gain: float = 1.0,
    offset: float = 0.0,
    noise: float = 8.0,
    n_time_bins: int | None = None,
    site_tuning_seed: int = 123,
    seed: int = 0,
) -> xr.DataArray:
    """A ``presentation × site`` (× ``time_bin``) rate tensor with the coordinates of the contract.

    Site tuning (the true rate per site and image) depends on ``site_tuning_seed`` and the stimulus
    id only, so two sessions built with different ``seed`` share the same underlying tuning, as two
    days of the same array would; ``gain``/``offset`` change the session's scale. Sites listed in
    ``unstable_sites`` respond with noise only. Presentations are shuffled within each repetition.
    """
    stimuli = make_stimuli(n_images, n_normalizers)
    if stimulus_ids is not None:
        keep = set(stimulus_ids)
        stimuli = [s for s in stimuli if s["stimulus_id"] in keep]
    rng = np.random.default_rng(seed)
    n_stim = len(stimuli)
    true = np.empty((n_stim, n_sites))
    for i, s in enumerate(stimuli):  # tuning keyed by stimulus id: identical across sessions
        key = sum(ord(c) * (k + 1) for k, c in enumerate(s["stimulus_id"]))
        true[i] = np.random.default_rng([site_tuning_seed, key]).gamma(2.0, 10.0, n_sites)
    order = np.concatenate([rng.permutation(n_stim) for _ in range(n_repetitions)])
    repetition = np.repeat(np.arange(n_repetitions), n_stim)
    n_pres = order.size
    shape = (n_pres, n_sites) if n_time_bins is None else (n_pres, n_sites, n_time_bins)
    resp = true[order]
    if n_time_bins is not None:
        resp = resp[:, :, None] * np.linspace(0.5, 1.5, n_time_bins)
    values = offset + gain * resp + rng.normal(0.0, noise, shape)
    for s in unstable_sites:
        values[:, s] = offset + gain * 20.0 + rng.normal(0.0, 3 * noise, values[:, s].shape)
    dims = ("presentation", "site") if n_time_bins is None else ("presentation", "site", "time_bin")
    pres = {k: ("presentation", np.array([stimuli[i][k] for i in order], dtype=bool if k == "is_normalizer" else object))
            for k in ("stimulus_id", "image_file", "object_label", "domain", "is_normalizer")}
    pres.update(
        repetition=("presentation", repetition),
        trial=("presentation", np.arange(n_pres) // 4),
        order_in_trial=("presentation", np.arange(n_pres) % 4),
        fixation_correct=("presentation", np.ones(n_pres, bool)),
        session=("presentation", np.full(n_pres, session, dtype=object)),
        date=("presentation", np.full(n_pres, date, dtype=object)),
        onset_sample=("presentation", 20000 + np.arange(n_pres) * 8000),
        photodiode_latency_ms=("presentation", np.full(n_pres, 16.0)),
    )
    electrodes = [f"A-{i:03d}" for i in range(n_sites)]
    site = {
        "site": ("site", np.array([f"{animal}/{e}" for e in electrodes], dtype=object)),
        "electrode": ("site", np.array(electrodes, dtype=object)),
        "array": ("site", np.arange(n_sites) // 4),
        "port": ("site", np.full(n_sites, "A", dtype=object)),
        "region": ("site", np.array([("posterior", "central", "anterior")[i // 4 % 3] for i in range(n_sites)],
                                    dtype=object)),
        "animal": ("site", np.full(n_sites, animal, dtype=object)),
    }
    coords = {**pres, **site}
    if n_time_bins is not None:
        coords["time_bin_start_ms"] = ("time_bin", 70 + 20 * np.arange(n_time_bins))
        coords["time_bin_stop_ms"] = ("time_bin", 90 + 20 * np.arange(n_time_bins))
    return xr.DataArray(values, dims=dims, coords=coords, name="rate",
                        attrs=dict(units="spikes/s", window_ms=[70, 170], sampling_rate=20000.0, session=session))
