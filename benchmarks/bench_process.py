"""Benchmark: ``neuroit process`` on a simulated 288-channel session, stage by stage.

    python benchmarks/bench_process.py [--duration 120] [--arrays 3] [--channels-per-array 96] [--workdir DIR]

Prints, per stage (read, detect, align, bin, quality, write), the seconds and the speed as a
multiple of real time (recording seconds per second of processing), the share of alignment +
binning + reliability relative to spike detection, and two comparisons with what the lab scripts
do instead, in the same run: counting spikes with a boolean mask per presentation and channel,
and thresholding the whole photodiode channel loaded at once.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=120.0, help="session length, s (default 120)")
    ap.add_argument("--arrays", type=int, default=3)
    ap.add_argument("--channels-per-array", type=int, default=96)
    ap.add_argument("--workdir", default=None, help="folder for the session and outputs (default: a temp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the simulated session")
    args = ap.parse_args()

    from neuroit.dsp import SpikeTrains, detect_crossings
    from neuroit.events import bin_counts, detect_photodiode_onsets
    from neuroit.io import NumpyRecording, read_intan
    from neuroit.process import process
    from neuroit.simulate import default_stimuli, simulate_session

    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench_process_"))
    work.mkdir(parents=True, exist_ok=True)
    n_ch = args.arrays * args.channels_per_array
    # 25 normalizers + 20 experiment images, so that a short session has several repetitions each
    st = default_stimuli(images_per_domain=1)
    st = pd.concat([st[st.is_normalizer], st[~st.is_normalizer].iloc[::7]]).reset_index(drop=True)
    t0 = time.perf_counter()
    session = simulate_session(work / "session", seed=0, duration_s=args.duration, n_arrays=args.arrays,
                               channels_per_array=args.channels_per_array, stimuli=st, overwrite=True)
    t_sim = time.perf_counter() - t0
    print(f"simulated {n_ch} channels x {args.duration:g} s in {t_sim:.1f} s ({os.cpu_count()} CPUs)")

    # compile the Numba kernels once, outside the timings (a first call in a fresh process pays it)
    t0 = time.perf_counter()
    rec = read_intan(session / "intan")
    amp = rec.stream("amplifier")
    codes = rec.traces("amplifier", 0, min(amp.n_samples, 40000), channels=[0, 1], scaled=False)
    detect_crossings(NumpyRecording({"amplifier": codes}, amp.sampling_rate, gain=float(amp.gain[0])))
    print(f"numba compile (once per process): {time.perf_counter() - t0:.1f} s")

    out = work / "out" / "tensor.nc"
    result = process([session], out=out, cache=False, progress=False)
    print()
    print(result.summary())
    rt = result.real_time_s
    print()
    print(f"{'stage':<10}{'seconds':>10}{'x real time':>14}")
    for k, v in result.timings_s.items():
        print(f"{k:<10}{v:>10.2f}{rt / max(v, 1e-9):>14.0f}")
    total = sum(result.timings_s.values())
    print(f"{'total':<10}{total:>10.2f}{rt / total:>14.1f}")
    tm = result.timings_s
    small = tm["align"] + tm["bin"] + tm["quality"]
    print(f"align + bin + quality = {small:.2f} s = {100 * small / tm['detect']:.1f}% of spike detection "
          f"({tm['detect']:.2f} s)")

    # comparisons with the lab scripts' ways, same data
    table = result.presentations
    onsets = table.loc[table["status"] != "dropped", "onset_sample"].to_numpy(np.int64)
    cached = work / "spikes.npz"
    spikes = detect_crossings(rec, out=cached)
    spikes = SpikeTrains.load(cached)
    t0 = time.perf_counter()
    fast = bin_counts(spikes, onsets).values
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    lo, hi = round(0.070 * rec.sampling_rate), round(0.170 * rec.sampling_rate)
    naive = np.empty_like(fast)
    for c in range(len(spikes)):
        s = spikes[c]
        for i, o in enumerate(onsets):
            naive[i, c] = np.count_nonzero((s >= o + lo) & (s < o + hi)) / 0.1
    t_naive = time.perf_counter() - t0
    assert np.allclose(naive, fast)
    print(f"binning {len(onsets)} presentations x {n_ch} sites: bin_counts {t_fast * 1e3:.1f} ms, boolean mask "
          f"per presentation and channel {t_naive * 1e3:.0f} ms ({t_naive / t_fast:.0f}x slower)")
    t0 = time.perf_counter()
    pd_fast = detect_photodiode_onsets(rec)
    t_pd = time.perf_counter() - t0
    t0 = time.perf_counter()
    x = rec.traces("adc", channels=["ANALOG-IN-1"])[:, 0]
    above = x > 0.5 * (x.min() + x.max())
    pd_naive = np.flatnonzero(above[1:] & ~above[:-1]) + 1
    t_pd_naive = time.perf_counter() - t0
    print(f"photodiode onsets: detect_photodiode_onsets {t_pd * 1e3:.0f} ms ({pd_fast.size} flashes, chunked, "
          f"hysteresis); whole-channel midpoint threshold {t_pd_naive * 1e3:.0f} ms ({pd_naive.size} crossings, "
          f"ripple and noise included, {x.nbytes / 1e6:.0f} MB in memory)")
    if not args.keep and args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
