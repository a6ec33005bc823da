"""``neuroit simulate OUT_DIR``: write a simulated RSVP session with ground truth."""
from __future__ import annotations

import argparse
import time

from neuroit.errors import NeuroitError

_FAULT_KINDS = ("missing_pulse", "missing_flash", "extra_pulse", "extra_flash")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "simulate", help="write a simulated RSVP session (Intan + MWorks files) with ground truth",
        description="Write a realistic simulated RSVP session into OUT_DIR: intan/ (Intan files), "
                    "mworks/session.mwk2, stimuli.csv, ground_truth/ and simulation.json.")
    p.add_argument("out_dir", metavar="OUT_DIR", help="output folder (must be empty unless --overwrite)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0); same seed, same files")
    p.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                   help="session length in s (default: as long as the protocol needs, ~3 min)")
    p.add_argument("--arrays", type=int, default=3, help="number of arrays / Intan ports (default 3)")
    p.add_argument("--channels-per-array", type=int, default=96, help="electrodes per array (default 96)")
    p.add_argument("--sampling-rate", type=float, default=20000.0, help="Hz (default 20000)")
    p.add_argument("--layout", choices=("per_channel", "per_signal", "traditional"), default="per_channel",
                   help="Intan file layout (default per_channel: info.rhd + one .dat per channel)")
    p.add_argument("--repetitions", type=int, default=2, help="correct presentations per image (default 2)")
    p.add_argument("--images-per-domain", type=int, default=2,
                   help="images per class and domain in the default stimulus set (default 2)")
    p.add_argument("--fault", action="append", default=[], metavar="KIND=N",
                   help=f"inject N faults of a kind ({', '.join(_FAULT_KINDS)}); repeatable")
    p.add_argument("--overwrite", action="store_true", help="replace the contents of a non-empty OUT_DIR")
    p.add_argument("--progress", action="store_true", help="show a progress bar")
    p.set_defaults(func=run)
    return p


def _parse_faults(items: list[str]) -> dict[str, int]:
    faults: dict[str, int] = {}
    for item in items:
        kind, sep, count = item.partition("=")
        if not sep or kind not in _FAULT_KINDS or not count.isdigit():
            raise NeuroitError(f"--fault expects KIND=N with KIND one of {', '.join(_FAULT_KINDS)}; got {item!r}.")
        faults[kind] = faults.get(kind, 0) + int(count)
    return faults


def run(args: argparse.Namespace) -> int:
    from neuroit.simulate import load_ground_truth, simulate_session

    t0 = time.perf_counter()
    out = simulate_session(
        args.out_dir, seed=args.seed, duration_s=args.duration, n_arrays=args.arrays,
        channels_per_array=args.channels_per_array, sampling_rate=args.sampling_rate, layout=args.layout,
        n_repetitions=args.repetitions, images_per_domain=args.images_per_domain,
        faults=_parse_faults(args.fault), overwrite=args.overwrite, progress=args.progress)
    gt = load_ground_truth(out)
    p = gt.params
    print(f"wrote {out}: {p['n_channels']} channels × {p['duration_s_actual']:.1f} s at {p['sampling_rate']:g} Hz, "
          f"{p['n_presentations']} presentations of {p['n_stimuli']} images in {p['n_trials']} trials, "
          f"{p['n_spikes']} spikes ({time.perf_counter() - t0:.1f} s)")
    return 0
