"""``neuroit compare``: IT vs model features on the domain-transfer protocol (Figures 2 and 3)."""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from neuroit.errors import NeuroitError

log = logging.getLogger(__name__)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "compare", help="decode IT and model features across image domains; write Figures 2-3 and tables",
        description="Cross-domain 2AFC decoding of IT sites and model units (the seed study's protocol): "
                    "unit-sampling curves, scaling factors, statistics, figures (PNG+SVG) and tables (CSV+MD).")
    p.add_argument("--it", required=True, metavar="TENSOR.nc", help="IT (stimulus_id x site) tensor, NetCDF")
    p.add_argument("--features", required=True, nargs="+", metavar="[NAME=]FEATURES.nc",
                   help="model features (stimulus_id x unit), NetCDF; NAME defaults to the file name")
    p.add_argument("--stimuli", metavar="STIMULI.csv",
                   help="stimulus table (default: object_label/domain coords of the tensors)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--train-domain", default="hvm")
    p.add_argument("--n-splits", type=int, default=100)
    p.add_argument("--n-draws", type=int, default=10, help="unit draws per count")
    p.add_argument("--n-counts", type=int, default=10, help="log-spaced unit counts per curve")
    p.add_argument("--n-train", type=int, default=100)
    p.add_argument("--n-heldout", type=int, default=20)
    p.add_argument("--n-test-per-domain", type=int, default=50)
    p.add_argument("--sites", type=int, nargs="+", metavar="N", help="IT site counts for the scaling factors")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=1, help="threads")
    p.set_defaults(func=run)
    return p


def _named(specs: list[str]) -> dict[str, Path]:
    out = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep:
            name, path = Path(spec).stem, spec
        if not name or not path:
            raise NeuroitError(f"--features expects [NAME=]PATH; got {spec!r}.")
        if name in out or name == "IT":
            raise NeuroitError(f"--features: the model name {name!r} is used twice or reserved; give NAME=PATH.")
        out[name] = Path(path)
    return out


def run(args) -> int:
    import numpy as np

    from neuroit.compare.io import read_features
    from neuroit.compare.report import compare_models, write_comparison
    from neuroit.stimuli import read_stimulus_set

    if args.n_counts < 2:
        raise NeuroitError(f"--n-counts must be at least 2; got {args.n_counts}.")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise NeuroitError(f"--out {out} exists and is not a folder.")
    named = _named(args.features)
    it = read_features(args.it)
    models = {name: read_features(path) for name, path in named.items()}
    stimuli = None
    if args.stimuli:  # decoding needs ids, labels and domains, not the images
        stimuli = read_stimulus_set(args.stimuli, check_files=False, required=("object_label", "domain"))
    result = compare_models(
        it, models, stimuli, unit_counts=args.n_counts, it_unit_counts=args.n_counts, n_draws=args.n_draws,
        n_splits=args.n_splits, train_domain=args.train_domain, n_train=args.n_train, n_heldout=args.n_heldout,
        n_test_per_domain=args.n_test_per_domain, n_sites=np.asarray(args.sites) if args.sites else None,
        seed=args.seed, n_jobs=args.jobs)
    written = write_comparison(result, out)
    print(f"wrote {len(written)} files to {out}")
    for name, row in result["stats"].iterrows():
        print(f"  {name:>16}: in-domain {row['in_domain_full']:.3f}  O.O.D. {row['ood_full']:.3f}  "
              f"scaling factor {row['scaling_factor']:.2f}")
    return 0
