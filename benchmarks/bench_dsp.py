"""Benchmark: threshold crossings of a 288-channel, 20 kHz Intan recording.

    .venv/bin/python benchmarks/bench_dsp.py [--duration 60] [--channels 288] [--dir /tmp/neuroit-bench-dsp]

Writes (once, reused afterwards) an Intan "one file per signal type" recording (info.rhd +
amplifier.dat, int16 codes of 0.195 µV: white noise, slow LFP, spikes) with neuroit's writer,
then times on that same file, each in its own subprocess (so peak memory is its own), its first run
and its best and median over repeated runs (at least ``MIN_RUNS``, and until ``BUDGET_S`` seconds have
passed, as ``timeit`` does: a 0.1-s job needs more runs than a 5-s one to see past a busy moment):

* neuroit   ``detect_crossings(read_intan(folder))`` (elliptic 300-6000 Hz, 3 × MAD, negative);
* SpikeInterface ``bandpass_filter(coeff=<the same sos>, filter_mode="sos")`` +
  ``get_noise_levels`` + ``detect_peaks(method="by_channel")`` at the same threshold, on
  ``read_binary`` of the same amplifier.dat, n_jobs = all cores;
* scipy ``sosfiltfilt`` over 10-s chunks read from a memmap (the lab-script way, seams and all),
  per-chunk MAD, crossings with NumPy.

Prints seconds, × real time, peak RSS (and the part above the process's RSS before the run),
the ratios, and how far the spike counts agree.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

FS = 20000.0
GAIN = 0.195


def rss_mb(field: str = "RssAnon") -> float:
    """Resident memory of this process in MB; RssAnon leaves out memory-mapped file pages."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class PeakAnon:
    """Samples RssAnon every 5 ms in a thread: the peak of the process's own (not file-mapped) memory."""

    def __enter__(self):
        import threading

        self.base = rss_mb()
        self.peak = self.base
        self._stop = threading.Event()

        def poll():
            while not self._stop.wait(0.005):
                self.peak = max(self.peak, rss_mb())

        self._t = threading.Thread(target=poll, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, rss_mb())


# --------------------------------------------------------------------------------------- data
def make_data(folder: Path, duration_s: float, n_ch: int, seed: int = 0) -> None:
    from neuroit.io import IntanWriter

    if (folder / "amplifier.dat").exists() and (folder / "bench.json").exists():
        meta = json.loads((folder / "bench.json").read_text())
        if meta == {"duration_s": duration_s, "channels": n_ch, "seed": seed}:
            return
    rng = np.random.default_rng(seed)
    names = [f"{'ABCDEFGH'[c // 64]}-{c % 64:03d}" for c in range(n_ch)]
    bank = rng.normal(0.0, 12.0 / GAIN, 1 << 20).astype(np.float32)  # 12 µV white noise, in codes
    wave = -np.hanning(16).astype(np.float32)
    amp = rng.uniform(60, 200, n_ch).astype(np.float32) / GAIN
    rate = rng.uniform(5, 40, n_ch)
    phase = rng.uniform(0, 2 * np.pi, n_ch)
    n_total = int(duration_s * FS)
    t0 = time.perf_counter()
    with IntanWriter(folder, fmt="rhd", layout="per_signal", sampling_rate=FS, amplifier_channels=names) as w:
        for a in range(0, n_total, int(FS)):
            n = min(int(FS), n_total - a)
            off = rng.integers(0, bank.size - n, n_ch)
            x = bank[off[None, :] + np.arange(n)[:, None]]
            t = (a + np.arange(n))[:, None] / FS
            x += (150.0 / GAIN) * np.sin(2 * np.pi * 4.0 * t + phase).astype(np.float32)  # LFP
            for c in range(n_ch):
                k = rng.poisson(rate[c] * n / FS)
                s = rng.integers(0, max(1, n - 16), k)
                idx = (s[:, None] + np.arange(16)).ravel()
                np.add.at(x[:, c], idx, np.tile(wave * amp[c], k))
            w.write(amplifier=np.clip(np.round(x), -32768, 32767).astype(np.int16))
    (folder / "bench.json").write_text(json.dumps({"duration_s": duration_s, "channels": n_ch, "seed": seed}))
    print(f"wrote {folder} ({n_total / FS:.0f} s x {n_ch} ch) in {time.perf_counter() - t0:.1f} s", flush=True)


# --------------------------------------------------------------------------------------- workers
def run_neuroit(folder: Path, n_jobs: int, memory: bool) -> dict:
    from neuroit.dsp import detect_crossings
    from neuroit.io import read_intan

    # compile the kernels on a small array first (compile time reported apart)
    t0 = time.perf_counter()
    warm = np.random.default_rng(0).integers(-100, 100, (5000, 16)).astype(np.int16)
    detect_crossings(warm, sampling_rate=FS)
    compile_s = time.perf_counter() - t0
    rec = read_intan(folder)
    go = lambda: detect_crossings(rec, n_jobs=n_jobs, progress=False)  # noqa: E731
    if memory:
        return _memory(go)
    times, st = _timed(go, MIN_RUNS["neuroit"])
    return dict(seconds=times, compile_s=compile_s,
                counts=st.counts().tolist(), thresholds=st.attrs["thresholds_uv"], samples=_sample_trains(st))


def run_spikeinterface(folder: Path, n_jobs: int, memory: bool) -> dict:
    import spikeinterface.core as si
    from spikeinterface.preprocessing import bandpass_filter
    from spikeinterface.sortingcomponents.peak_detection import detect_peaks

    from neuroit.dsp import design_filter
    from neuroit.io import read_intan

    n_ch = read_intan(folder).streams["amplifier"].n_channels
    sos = design_filter(FS).sos
    rec = si.read_binary(str(folder / "amplifier.dat"), sampling_frequency=FS, dtype="int16", num_channels=n_ch,
                         gain_to_uV=GAIN, offset_to_uV=0.0)
    job = dict(n_jobs=n_jobs, chunk_duration="1s", progress_bar=False)

    def go():
        filt = bandpass_filter(rec, coeff=sos, filter_mode="sos", dtype="float32")
        noise = si.get_noise_levels(filt, method="mad", return_in_uV=False, seed=0, **job)
        peaks = detect_peaks(filt, method="by_channel",
                             method_kwargs=dict(peak_sign="neg", detect_threshold=3.0, exclude_sweep_ms=0.1,
                                                noise_levels=noise),
                             job_kwargs=job)
        return noise, peaks

    if memory:
        return _memory(go)
    times, (noise, peaks) = _timed(go, MIN_RUNS["spikeinterface"])
    counts = np.bincount(peaks["channel_index"], minlength=n_ch)
    trains = [np.sort(peaks["sample_index"][peaks["channel_index"] == c]) for c in range(min(n_ch, 16))]
    return dict(seconds=times, counts=counts.tolist(),
                thresholds=(3.0 * np.asarray(noise) * GAIN).tolist(), samples=[t.tolist() for t in trains])


def run_scipy(folder: Path, n_jobs: int, memory: bool) -> dict:
    from scipy import signal

    from neuroit.dsp import design_filter
    from neuroit.io import read_intan

    r = read_intan(folder)
    n_ch, n = r.streams["amplifier"].n_channels, r.n_samples
    sos = design_filter(FS).sos
    data = np.memmap(folder / "amplifier.dat", dtype=np.int16, mode="r", shape=(n, n_ch))
    chunk = int(10 * FS)

    def go():
        trains = [[] for _ in range(n_ch)]
        for a in range(0, n, chunk):
            x = data[a: a + chunk].astype(np.float64) * GAIN
            z = signal.sosfiltfilt(sos, x, axis=0)
            thr = -3.0 * np.median(np.abs(z), axis=0) / 0.6745
            hit = (z[1:] < thr) & (z[:-1] >= thr)
            t, c = np.nonzero(hit)
            for ch in range(n_ch):
                trains[ch].append(a + 1 + t[c == ch])
        return trains

    if memory:
        return _memory(go)
    times, trains = _timed(go, MIN_RUNS["scipy"])
    trains = [np.concatenate(t) for t in trains]
    return dict(seconds=times,
                counts=[int(t.size) for t in trains],
                samples=[t.tolist() for t in trains[:16]])


#: timed runs per method in its process: the first (file pages not yet mapped by the process), then more until
#: at least this many and BUDGET_S seconds in all
MIN_RUNS = {"neuroit": 4, "spikeinterface": 2, "scipy": 1}
BUDGET_S = 3.0


def _timed(fn, min_runs: int):
    """Seconds of each run of ``fn`` (at least ``min_runs``, until ``BUDGET_S`` have passed) and the first result."""
    times, out = [], None
    while len(times) < min_runs or sum(times) < BUDGET_S:
        t0 = time.perf_counter()
        r = fn()
        times.append(time.perf_counter() - t0)
        out = r if out is None else out
    return times, out


def _memory(fn) -> dict:
    """One run under the memory poller (in a process of its own: the poller would perturb the timings)."""
    with PeakAnon() as mem:
        fn()
    return dict(base_mb=mem.base, peak_mb=mem.peak, max_rss_mb=peak_rss_mb())


def _sample_trains(st, n=16):
    return [st[c].tolist() for c in range(min(n, len(st)))]


WORKERS = {"neuroit": run_neuroit, "spikeinterface": run_spikeinterface, "scipy": run_scipy}


# --------------------------------------------------------------------------------------- report
def agreement(a: list, b: list, tol: int) -> float:
    """Fraction of a's events with one of b's within [-tol, +tol] samples (channels pooled)."""
    hit = tot = 0
    for x, y in zip(a, b):
        x, y = np.asarray(x), np.asarray(y)
        tot += x.size
        if x.size and y.size:
            k = np.clip(np.searchsorted(y, x), 1, y.size - 1) if y.size > 1 else np.zeros(x.size, int)
            d = np.minimum(np.abs(y[k] - x), np.abs(y[np.maximum(k - 1, 0)] - x))
            hit += int((d <= tol).sum())
    return hit / max(tot, 1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--channels", type=int, default=288)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/neuroit-bench-dsp"))
    ap.add_argument("--n-jobs", type=int, default=os.cpu_count())
    ap.add_argument("--skip", nargs="*", default=[], choices=list(WORKERS))
    ap.add_argument("--worker", choices=list(WORKERS), help=argparse.SUPPRESS)
    ap.add_argument("--memory", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    folder = args.dir / f"rec-{args.channels}ch-{args.duration:g}s"
    if args.worker:
        print(json.dumps(WORKERS[args.worker](folder, args.n_jobs, args.memory)))
        return 0
    folder.mkdir(parents=True, exist_ok=True)
    make_data(folder, args.duration, args.channels)
    res = {}
    for name in WORKERS:
        if name in args.skip:
            continue
        cmd = [sys.executable, __file__, "--worker", name, "--duration", str(args.duration), "--channels",
               str(args.channels), "--dir", str(args.dir), "--n-jobs", str(args.n_jobs)]
        parts = []
        for extra in ([], ["--memory"]):  # timings, then memory in a process of its own
            out = subprocess.run(cmd + extra, capture_output=True, text=True)
            if out.returncode:
                print(f"{name} failed:\n{out.stderr[-3000:]}")
                break
            parts.append(json.loads(out.stdout.strip().splitlines()[-1]))
        else:
            res[name] = {**parts[0], **parts[1]}
    dur = args.duration
    print(f"\n{args.channels} channels x {dur:g} s at 20 kHz, int16 Intan file, {args.n_jobs} cores "
          f"(load average {os.getloadavg()[0]:.1f})")
    print("each method in a fresh process, on the same file (in the page cache): 'first' = its first run (the process")
    print(f"maps the file's pages), 'best'/'median' = the fastest/median of the runs after it (at least {MIN_RUNS} runs")
    print(f"in all, until {BUDGET_S:g} s have passed); 'x real time' from 'best'. Memory, from")
    print("one run in another fresh process: 'working MB' = peak of the process's own memory (RssAnon, not file-mapped")
    print("pages) above its level before the run; 'max RSS MB' = its maximum resident set incl. mapped file pages")
    print(f"{'method':<16}{'runs':>5}{'first s':>9}{'best s':>9}{'median s':>10}{'x real time':>13}{'working MB':>12}"
          f"{'max RSS MB':>12}{'spikes':>10}")
    for name, r in res.items():
        t = r["seconds"]
        print(f"{name:<16}{len(t):>5}{t[0]:>9.3f}{min(t):>9.3f}{np.median(t[1:] or t):>10.3f}{dur / min(t):>13.0f}"
              f"{r['peak_mb'] - r['base_mb']:>12.0f}{r['max_rss_mb']:>12.0f}{sum(r['counts']):>10d}")
    if "neuroit" in res:
        n = res["neuroit"]
        print(f"neuroit kernel compile (once per process, not in the time above): {n['compile_s']:.1f} s")
        for other in ("spikeinterface", "scipy"):
            if other in res:
                o = res[other]
                ratio = min(o["seconds"]) / min(n["seconds"])
                first = o["seconds"][0] / n["seconds"][0]
                cn, co = np.array(n["counts"]), np.array(o["counts"])
                rel = np.abs(cn - co) / np.maximum(co, 1)
                tol = int(0.5e-3 * FS)
                med = np.median(o["seconds"][1:] or o["seconds"]) / np.median(n["seconds"][1:])
                print(f"neuroit is {ratio:.1f}x faster than {other} (best runs; medians {med:.1f}x, first runs "
                      f"{first:.1f}x); "
                      f"spike counts: total {cn.sum()} vs {co.sum()}, "
                      f"median |difference| per channel {100 * np.median(rel):.1f} %; "
                      f"{100 * agreement(n['samples'], o['samples'], tol):.1f} % of neuroit's events on 16 channels "
                      f"have one of {other}'s within 0.5 ms, {100 * agreement(o['samples'], n['samples'], tol):.1f} % "
                      f"the other way")
    return 0


if __name__ == "__main__":
    sys.exit(main())
