"""Sites, their true rates, spike waveforms, background noise and spike generation."""
from __future__ import annotations

import numpy as np
import pandas as pd

from neuroit.errors import NeuroitError
from neuroit.simulate._stimuli import stimulus_codes

REGIONS = ("posterior", "central", "anterior")
RESPONSE_MS = 100.0  # the response lasts from latency to latency + 100 ms


# ---------------------------------------------------------------------------------------
# sites
# ---------------------------------------------------------------------------------------
def make_sites(n_arrays: int, channels_per_array: int, *, status_fractions: dict, rng) -> pd.DataFrame:
    """One site per electrode: channel name, array, port, region, status and signal parameters."""
    rows = []
    for a in range(n_arrays):
        port = chr(ord("A") + a)
        region = REGIONS[a % len(REGIONS)] if n_arrays != 1 else "central"
        for k in range(channels_per_array):
            rows.append((f"{port}-{k:03d}", a, port, region))
    sites = pd.DataFrame(rows, columns=["channel", "array", "port", "region"])
    sites.insert(0, "site", sites["channel"])
    n = len(sites)
    status = np.array(["stable"] * n, dtype=object)
    order = rng.permutation(n)
    pos = 0
    for kind in ("dead", "drifting", "unstable"):
        frac = float(status_fractions.get(kind, 0.0))
        if not 0.0 <= frac <= 1.0:
            raise NeuroitError(f"The fraction of {kind} sites must be in [0, 1]; got {frac}.")
        count = int(round(frac * n))
        if frac > 0 and count == 0 and n >= 4:
            count = 1
        count = min(count, n - pos)
        status[order[pos:pos + count]] = kind
        pos += count
    sites["status"] = status
    dead = status == "dead"
    # half of the dead electrodes are disconnected (flat), half pick up noise only
    flat = np.zeros(n, bool)
    dead_idx = np.flatnonzero(dead)
    flat[dead_idx[: (len(dead_idx) + 1) // 2]] = True
    sites["flat"] = flat
    sites["noise_uv"] = rng.uniform(5.0, 10.0, n).round(3)
    sites["line_uv"] = rng.uniform(1.0, 8.0, n).round(3)
    sites["line_phase"] = rng.uniform(0, 2 * np.pi, n).round(6)
    sites["baseline_hz"] = np.where(dead, 0.0, rng.uniform(4.0, 15.0, n)).round(4)
    sites["n_units"] = np.where(dead, 0, rng.integers(1, 4, n))
    end = np.where(rng.random(n) < 0.5, rng.uniform(0.25, 0.5, n), rng.uniform(1.6, 2.2, n))
    sites["drift_gain_end"] = np.where(status == "drifting", end, 1.0).round(4)
    return sites


# Calibrated so that decoding ~70 simulated sites lands near the seed study's IT numbers
# (about 0.75 in-domain, 0.65-0.7 out-of-domain 2AFC): image-specific variability and a
# domain-specific part of each site's category tuning.
IMAGE_CV = 1.6
DOMAIN_SPECIFIC = 0.5


def default_rates(sites: pd.DataFrame, stimuli: pd.DataFrame, *, rng) -> np.ndarray:
    """True mean rate (spikes/s) in the response window, site × stimulus.

    Each site has a baseline, a peak evoked rate, a category tuning (sparser in anterior IT) and a
    gain per domain (a domain-wide factor times a site factor); each image adds its own factor.
    Normalizers draw a random fraction of the peak. Dead sites are 0.
    """
    n_sites, n_stim = len(sites), len(stimuli)
    cls, dom, labels, domains = stimulus_codes(stimuli)
    shape = sites["region"].map({"posterior": 1.0, "central": 0.7, "anterior": 0.45}).fillna(0.7).to_numpy()
    tuning = rng.gamma(shape[:, None], 1.0, size=(n_sites, max(len(labels), 1)))
    tuning /= tuning.max(axis=1, keepdims=True)
    domain_mean = rng.uniform(0.45, 1.0, max(len(domains), 1))
    if "hvm" in domains:
        domain_mean[domains.index("hvm")] = 1.0
    domain_gain = np.clip(domain_mean[None, :] * rng.lognormal(0.0, 0.25, (n_sites, max(len(domains), 1))), 0.05, 2.0)
    peak = rng.uniform(40.0, 150.0, n_sites)
    image = rng.gamma(1.0 / IMAGE_CV**2, IMAGE_CV**2, (n_sites, n_stim))  # mean 1
    # a site's category tuning is only partly shared across domains (domain transfer is imperfect)
    own = rng.gamma(shape[:, None, None], 1.0, size=(n_sites, max(len(domains), 1), max(len(labels), 1)))
    own /= own.max(axis=2, keepdims=True)
    if "hvm" in domains:
        own[:, domains.index("hvm")] = tuning
    mixed = (1.0 - DOMAIN_SPECIFIC) * tuning[:, None, :] + DOMAIN_SPECIFIC * own
    t = np.where(dom[None, :] >= 0, mixed[:, np.clip(dom, 0, None), np.clip(cls, 0, None)],
                 tuning[:, np.clip(cls, 0, None)])
    g = domain_gain[:, np.clip(dom, 0, None)]
    t = np.where(cls[None, :] >= 0, 0.1 + 0.9 * t, rng.uniform(0.1, 1.0, (n_sites, n_stim)))
    g = np.where(dom[None, :] >= 0, g, 1.0)
    base = sites["baseline_hz"].to_numpy()[:, None]
    rates = base + peak[:, None] * t * g * image
    rates[(sites["status"] == "dead").to_numpy()] = 0.0
    return np.round(rates, 4)


def check_rates(rates, sites: pd.DataFrame, stimuli: pd.DataFrame) -> np.ndarray:
    """A caller's rate table (DataArray site × stimulus_id, or array) as a (site, stimulus) array."""
    import xarray as xr

    if isinstance(rates, xr.DataArray):
        if set(rates.dims) != {"site", "stimulus_id"}:
            raise NeuroitError(f"'rates' must have dims ('site', 'stimulus_id'); got {rates.dims}.")
        try:
            rates = rates.transpose("site", "stimulus_id")
            if "site" in rates.coords:
                rates = rates.sel(site=sites["site"].to_numpy())
            if "stimulus_id" in rates.coords:
                rates = rates.sel(stimulus_id=stimuli["stimulus_id"].to_numpy())
        except KeyError as exc:
            raise NeuroitError(f"'rates' does not cover every site and stimulus of the session: {exc}.") from None
        arr = np.asarray(rates.values, dtype=np.float64)
    else:
        arr = np.asarray(rates, dtype=np.float64)
    want = (len(sites), len(stimuli))
    if arr.shape != want:
        raise NeuroitError(f"'rates' must be a (site, stimulus) table of shape {want}; got {arr.shape}.")
    if not np.all(np.isfinite(arr)) or arr.min() < 0:
        raise NeuroitError("'rates' must hold finite, non-negative rates in spikes/s.")
    return arr


# ---------------------------------------------------------------------------------------
# waveforms and noise
# ---------------------------------------------------------------------------------------
def make_templates(sites: pd.DataFrame, sampling_rate: float, *, rng):
    """Biphasic extracellular waveforms, (site, unit, sample) µV, trough at index ``pre``.

    Returns (templates float32, pre, unit_weights (site, unit) cumulative, amplitudes (site, unit)).
    """
    fs = sampling_rate
    pre = int(round(0.5e-3 * fs))
    post = int(round(1.2e-3 * fs))
    t = (np.arange(-pre, post + 1) / fs * 1e3)[None, :]  # ms
    n_sites = len(sites)
    max_units = max(int(sites["n_units"].max()), 1)
    templates = np.zeros((n_sites, max_units, t.shape[1]), np.float32)
    amps = np.zeros((n_sites, max_units))
    weights = np.zeros((n_sites, max_units))
    noise = sites["noise_uv"].to_numpy()
    for s in range(n_sites):
        k = int(sites["n_units"].iat[s])
        if k == 0:
            continue
        # the largest unit well above threshold, the others smaller (still > 5 × noise)
        a = np.sort(rng.uniform(5.5, 14.0, k))[::-1] * noise[s]
        w1 = rng.uniform(0.08, 0.14, k)[:, None]  # trough width (ms)
        lag = rng.uniform(0.25, 0.45, k)[:, None]  # trough → peak (ms)
        w2 = rng.uniform(0.2, 0.35, k)[:, None]
        ratio = rng.uniform(0.25, 0.5, k)[:, None]
        trough = np.exp(-0.5 * (t / w1) ** 2)
        peak = np.exp(-0.5 * ((t - lag) / w2) ** 2)
        wave = -trough + ratio * peak
        wave /= -wave.min(axis=1, keepdims=True)
        templates[s, :k] = (wave * a[:, None]).astype(np.float32)
        amps[s, :k] = a
        weights[s, :k] = rng.dirichlet(np.ones(k) * 2.0)
    cum = np.cumsum(weights, axis=1)
    cum[:, -1] = 1.0
    return templates, pre, cum, amps


def make_noise_bank(n_streams: int, length: int, sampling_rate: float, *, lfp_ratio: float, rng) -> np.ndarray:
    """Periodic background noise streams (float32): white (unit std) + 1/f LFP part (std ``lfp_ratio``).

    Synthesised in the frequency domain (one inverse FFT per stream), so each stream wraps around
    seamlessly. The white part is flat up to 7.5 kHz (Intan's anti-alias filter); the 1/f part
    (amplitude ∝ 1/f) spans 0.5–300 Hz. Stds are exact in expectation.
    """
    f = np.fft.rfftfreq(length, 1.0 / sampling_rate)
    white = (f > 0) & (f <= min(7500.0, 0.45 * sampling_rate))
    band = (f >= 0.5) & (f <= 300.0)
    # time-domain variance of irfft(X) with E|X_k|^2 = 2 a_k^2 (both halves of the spectrum)
    def variance(a):
        return 2.0 * 2.0 * np.sum(a[1:] ** 2) / length**2
    amp = white.astype(np.float64)
    amp /= np.sqrt(variance(amp))
    pink = np.zeros_like(f)
    pink[band] = 1.0 / f[band]
    if band.any():
        pink *= lfp_ratio / np.sqrt(variance(pink))
    amp = (np.sqrt(amp ** 2 + pink ** 2)).astype(np.float32)
    out = np.empty((n_streams, length), np.float32)
    for i in range(n_streams):
        z = (rng.standard_normal(len(f), dtype=np.float32) + 1j * rng.standard_normal(len(f), dtype=np.float32))
        out[i] = np.fft.irfft(z.astype(np.complex64) * amp, n=length)
    return out


# ---------------------------------------------------------------------------------------
# spikes
# ---------------------------------------------------------------------------------------
def response_profile(n_bins: int) -> np.ndarray:
    """Shape of the evoked rate over the response window: onset transient, mean exactly 1."""
    t = (np.arange(n_bins) + 0.5) * (RESPONSE_MS / n_bins)
    f = 1.0 + 1.5 * np.exp(-t / 15.0)
    return f / f.mean()


class SpikeGenerator:
    """Inhomogeneous Poisson multi-unit spikes, chunk by chunk, locked to the screen onsets."""

    def __init__(self, *, sites, rates, presentations, sampling_rate, n_samples, latency_ms, rng,
                 unit_cum, bin_ms: float = 1.0):
        self.fs = sampling_rate
        self.n_samples = n_samples
        self.rng = rng
        self.bin = max(1, int(round(bin_ms * 1e-3 * sampling_rate)))
        self.dt = self.bin / sampling_rate
        self.baseline = sites["baseline_hz"].to_numpy(np.float64)
        self.gain_end = sites["drift_gain_end"].to_numpy(np.float64)
        self.unit_cum = unit_cum
        n_resp = int(round(RESPONSE_MS * 1e-3 * sampling_rate / self.bin))
        self.profile = response_profile(n_resp)
        self.onset_bin = (presentations["screen_onset_sample"].to_numpy() + latency_ms * 1e-3 * sampling_rate)
        self.onset_bin = np.floor(self.onset_bin / self.bin).astype(np.int64)
        # per presentation, the rate of every site (unstable sites: tuning reshuffled per repetition)
        stim = presentations["stimulus_index"].to_numpy()
        rep = presentations["repetition"].to_numpy()
        unstable = np.flatnonzero((sites["status"] == "unstable").to_numpy())
        n_stim = rates.shape[1]
        self.pres_rates = rates[:, stim].T.copy()  # (presentation, site)
        for r in np.unique(rep):
            sel = np.flatnonzero(rep == r)
            for s in unstable:
                perm = rng.permutation(n_stim)
                self.pres_rates[sel, s] = rates[s, perm[stim[sel]]]
        self.dead = (sites["status"] == "dead").to_numpy()

    def chunk(self, s0: int, n: int):
        """Spikes with trough sample in [s0, s0 + n): (channel, sample, unit), sorted by sample."""
        b0 = s0 // self.bin
        b1 = -(-(s0 + n) // self.bin)
        nb = b1 - b0
        t_frac = (np.arange(b0, b1) + 0.5) * self.bin / max(self.n_samples, 1)
        gain = 1.0 + (self.gain_end[:, None] - 1.0) * t_frac[None, :]
        rate = np.repeat(self.baseline[:, None], nb, axis=1)
        npb = len(self.profile)
        first = np.searchsorted(self.onset_bin, b0 - npb, side="right")
        last = np.searchsorted(self.onset_bin, b1, side="left")
        for i in range(first, last):
            ob = self.onset_bin[i]
            lo, hi = max(ob, b0), min(ob + npb, b1)
            if lo >= hi:
                continue
            prof = self.profile[lo - ob:hi - ob]
            rate[:, lo - b0:hi - b0] = self.pres_rates[i][:, None] * prof[None, :]
        rate *= gain
        rate[self.dead] = 0.0
        counts = self.rng.poisson(rate * self.dt)
        ch, b = np.nonzero(counts)
        k = counts[ch, b]
        ch = np.repeat(ch, k)
        b = np.repeat(b, k)
        sample = (b0 + b) * self.bin + self.rng.integers(0, self.bin, len(b))
        u = self.rng.random(len(ch))
        unit = (u[:, None] > self.unit_cum[ch]).sum(axis=1)
        keep = (sample >= s0) & (sample < min(s0 + n, self.n_samples))
        ch, sample, unit = ch[keep], sample[keep], unit[keep]
        order = np.lexsort((ch, sample))
        return ch[order].astype(np.int64), sample[order].astype(np.int64), unit[order].astype(np.int64)
