"""Benchmark: the seed's Figure 3 analysis (unit-sampling curves of 5 model layers) with
neuroit's batched closed-form LOO ridge, against the scikit-learn loop a user would write
(StandardScaler + RidgeClassifierCV per split, unit draw and count; Brain-Score's way).

Work: 5 layers with the widths of the seed's models' penultimate layers (synthetic features),
10 log-spaced unit counts from 1 to the layer width, 10 unit draws, 100 splits, 13 domains
(100 training + 20 held-out images, 50 test images per other domain). The scikit-learn loop is
timed on a subset of (split, draw) pairs, checked to give the same accuracies, and extrapolated
to the full work (it would take far too long here); ``--full`` runs it completely.

    python benchmarks/bench_decoding.py [--splits 100] [--draws 10] [--jobs 2] [--sk-pairs 6] [--full]
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from neuroit.compare import default_unit_counts, sample_units_curve
from neuroit.decoding import DEFAULT_ALPHAS, draw_splits, synthetic_features, synthetic_stimuli
from neuroit.decoding import _ridge
from neuroit.decoding._inputs import align_features

#: The seed's five models and the width of their penultimate (pre-logits) layers.
MODELS = {"crossvit_18_240": 448, "vone_resnet50": 2048, "resnet50_barlowtwins": 2048, "cornet_s": 512,
          "alexnet": 4096}


def sklearn_pairs(X, splits, perms, counts, pairs, alphas):
    """The scikit-learn loop on the given (split, draw) pairs -> {(split, draw): (count, domain)}."""
    from sklearn.linear_model import RidgeClassifierCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    out = {}
    for s, r in pairs:
        tr = splits.train[s]
        res = np.empty((len(counts), len(splits.domains)))
        for i, k in enumerate(counts):
            units = perms[r, :k]
            clf = Pipeline([("scale", StandardScaler()),
                            ("ridge", RidgeClassifierCV(alphas=alphas, fit_intercept=True))])
            clf.fit(X[np.ix_(tr, units)], splits.labels[tr])
            for d in range(len(splits.domains)):  # one decision_function per test domain, as Brain-Score
                te = splits.test[s][splits.test_domain[s] == d]
                afc = _ridge.two_afc(clf.decision_function(X[np.ix_(te, units)]), splits.labels[te])
                res[i, d] = afc.mean()
        out[(s, r)] = res
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--splits", type=int, default=100)
    ap.add_argument("--draws", type=int, default=10)
    ap.add_argument("--counts", type=int, default=10)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--sk-pairs", type=int, default=6, help="(split, draw) pairs timed with scikit-learn per model")
    ap.add_argument("--full", action="store_true", help="run the whole scikit-learn loop (hours)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    stimuli = synthetic_stimuli(n_per_class=20, n_per_class_other=10)
    alphas = np.asarray(DEFAULT_ALPHAS)
    print(f"cpus: {os.cpu_count()}, threads: {args.jobs}; {len(stimuli)} stimuli; {args.splits} splits x "
          f"{args.draws} draws x {args.counts} counts per layer; alphas {alphas[0]:g}..{alphas[-1]:g} ({len(alphas)})")
    total_ours = total_sk = 0.0
    max_diff = 0.0
    n_fits = 0
    for m, (name, width) in enumerate(MODELS.items()):
        feats = synthetic_features(stimuli, n_units=width, signal=0.08, transfer=0.6, seed=m)
        counts = default_unit_counts(width, n_counts=args.counts)
        t0 = time.perf_counter()
        curve = sample_units_curve(feats, stimuli, unit_counts=counts, n_draws=args.draws, n_splits=args.splits,
                                   seed=args.seed, n_jobs=args.jobs)
        t_ours = time.perf_counter() - t0

        X, table, _ = align_features(feats, stimuli)
        splits = draw_splits(table, n_splits=args.splits, seed=args.seed)
        urng = np.random.default_rng([args.seed, 1])
        perms = np.stack([urng.permutation(width) for _ in range(args.draws)])
        all_pairs = [(s, r) for s in range(args.splits) for r in range(args.draws)]
        if args.full:
            pairs = all_pairs
        else:
            pick = np.random.default_rng(m).choice(len(all_pairs), size=min(args.sk_pairs, len(all_pairs)),
                                                   replace=False)
            pairs = [all_pairs[i] for i in sorted(pick)]
        t0 = time.perf_counter()
        ref = sklearn_pairs(X, splits, perms, counts, pairs, alphas)
        t_sub = time.perf_counter() - t0
        t_sk = t_sub * len(all_pairs) / len(pairs)
        for (s, r), res in ref.items():
            max_diff = max(max_diff, float(np.nanmax(np.abs(res - curve.values[:, r, s]))))
        n_fits += len(all_pairs) * len(counts)
        total_ours += t_ours
        total_sk += t_sk
        how = "measured" if args.full else f"extrapolated from {len(pairs)} of {len(all_pairs)} pairs ({t_sub:.1f} s)"
        print(f"{name:>22} ({width:4d} units, counts {counts[0]}..{counts[-1]}): neuroit {t_ours:7.1f} s | "
              f"scikit-learn {t_sk:8.1f} s ({how}) | x{t_sk / t_ours:.1f}")
    print(f"{n_fits} fits in total. neuroit: {total_ours:.1f} s; scikit-learn loop: {total_sk:.1f} s "
          f"({'measured' if args.full else 'extrapolated'}); speed-up x{total_sk / total_ours:.1f}; "
          f"max |accuracy difference| on the compared cells: {max_diff:.2e}")


if __name__ == "__main__":
    main()
