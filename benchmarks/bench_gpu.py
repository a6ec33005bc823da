"""Benchmark: the GPU path (device="cuda") against the CPU path of detect_crossings, same machine, same file.

    python benchmarks/bench_gpu.py [--duration 60] [--channels 288] [--dir /tmp/neuroit-bench-dsp]

Needs an NVIDIA GPU (elsewhere it says so and exits 0, so that ``make bench`` runs everywhere). Writes (once)
the same Intan recording as ``bench_dsp.py``, then in one process times
``detect_crossings(read_intan(folder), device=...)`` for "cuda" and "cpu" (all cores): first run (compiles
nothing: both paths are compiled on a small array first, and that time is printed apart), best and median
of the runs, as many as ``bench_dsp.py`` makes. Prints seconds, × real time, the ratio, and how far the
spikes agree (identical but for threshold ties is expected).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_dsp import FS, _timed, make_data  # noqa: E402  (the same recording and timing rule)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--channels", type=int, default=288)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/neuroit-bench-dsp"))
    args = ap.parse_args(argv)
    from numba import cuda

    from neuroit.dsp import detect_crossings
    from neuroit.io import read_intan

    if not cuda.is_available():
        print("bench_gpu: no CUDA GPU on this machine (numba.cuda.is_available() is False): nothing to time.")
        return 0
    folder = args.dir / f"rec-{args.channels}ch-{args.duration:g}s"
    folder.mkdir(parents=True, exist_ok=True)
    make_data(folder, args.duration, args.channels)
    warm = np.random.default_rng(0).integers(-100, 100, (20000, 16)).astype(np.int16)
    res = {}
    for device in ("cuda", "cpu"):
        t0 = time.perf_counter()
        detect_crossings(warm, sampling_rate=FS, device=device)
        compile_s = time.perf_counter() - t0
        rec = read_intan(folder)
        times, st = _timed(lambda: detect_crossings(rec, device=device, progress=False), 4)  # noqa: B023
        res[device] = dict(times=times, compile_s=compile_s, st=st)
    name = cuda.get_current_device().name if hasattr(cuda, "get_current_device") else "(simulator)"
    print(f"\n{args.channels} channels x {args.duration:g} s at 20 kHz (int16 Intan file in the page cache); "
          f"GPU {name.decode() if isinstance(name, bytes) else name}")
    print(f"{'device':<8}{'runs':>5}{'first s':>9}{'best s':>9}{'median s':>10}{'x real time':>13}{'compile s':>11}")
    for device, r in res.items():
        t = r["times"]
        print(f"{device:<8}{len(t):>5}{t[0]:>9.3f}{min(t):>9.3f}{np.median(t[1:]):>10.3f}"
              f"{args.duration / min(t):>13.0f}{r['compile_s']:>11.1f}")
    a, b = res["cpu"]["st"], res["cuda"]["st"]
    diff = sum(len(np.setxor1d(a[c], b[c])) for c in range(len(a)))
    print(f"cuda / cpu speed: {min(res['cpu']['times']) / min(res['cuda']['times']):.2f}x (best runs); spikes "
          f"{a.counts().sum()} (cpu) vs {b.counts().sum()} (cuda), {diff} in one and not the other")
    return 0


if __name__ == "__main__":
    sys.exit(main())
