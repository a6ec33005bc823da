"""``neuroit process SESSION_DIR... --out FILE``: raw session folders to the merged tensor."""
from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "process",
        help="session folders (Intan + MWorks/CSV log + stimuli.csv) to a merged stimulus x site tensor",
        description="Detect spikes, align presentations to the photodiode, bin 70-170 ms rates, z-score to the "
                    "normalizer images, keep reliable sites and merge the sessions into one NetCDF/Zarr tensor. "
                    "Finished stages are cached next to the output and skipped on re-runs.",
    )
    p.add_argument("sessions", nargs="+", metavar="SESSION_DIR", help="session folder(s)")
    p.add_argument("--out", required=True, metavar="FILE", help="output tensor (.nc or .zarr)")
    p.add_argument("--config", metavar="FILE", help="processing config (.toml or .yaml); default: the lab recipe")
    p.add_argument("--cache-dir", metavar="DIR", help="cache folder (default: <out>.cache)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from neuroit.process import ProcessConfig, process

    config = ProcessConfig.from_file(args.config) if args.config else ProcessConfig()
    result = process(args.sessions, out=args.out, config=config, cache_dir=args.cache_dir,
                     cache=not args.no_cache, progress=not args.no_progress)
    print(result.summary())
    return 0
