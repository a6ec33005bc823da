"""Unit-sampling curves: decoding accuracy against the number of units (or IT sites) sampled."""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from neuroit.decoding import _ridge
from neuroit.decoding._inputs import align_features
from neuroit.decoding.splits import draw_splits
from neuroit.decoding.transfer import CHANCE, DEFAULT_ALPHAS, _check_alphas, accuracy_by_domain
from neuroit.errors import NeuroitError

__all__ = ["sample_units_curve", "summarize_curve", "default_unit_counts"]

log = logging.getLogger(__name__)


def _blas_threads(n: int):
    """Limit BLAS threads while our own threads share the work (threadpoolctl, when installed)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(n)


def default_unit_counts(n_units: int, *, n_counts: int = 10, start: int = 1) -> np.ndarray:
    """``n_counts`` log-spaced integer counts from ``start`` to ``n_units`` (duplicates dropped)."""
    if n_units < 1:
        raise NeuroitError(f"default_unit_counts needs n_units >= 1; got {n_units}.")
    start = min(start, n_units)
    return np.unique(np.round(np.geomspace(start, n_units, n_counts)).astype(np.int64))


_GROUP_BYTES = 32 * 2**20


def _one_split(X, rows_tr, rows_te, y_tr, y_te, test_domain, n_domains, n_classes, perms, counts, alphas):
    """Accuracy (count, draw, domain) of one split. Unit subsets are nested prefixes of each
    draw's permutation: the features are permuted once per draw, every subset is then a
    contiguous slice, and the Gram matrix grows by the new units only."""
    n = len(rows_tr)
    Ztr, Zte = _ridge.standardize(X[rows_tr], X[rows_te])
    ZT = np.ascontiguousarray(np.concatenate([Ztr, Zte]).T)     # (p, n + T)
    R, p = perms.shape
    out = np.empty((len(counts), R, n_domains))
    Y = _ridge.one_vs_rest(y_tr, n_classes)
    ymean = Y.mean(axis=0)
    group = int(max(1, min(R, _GROUP_BYTES // (ZT.nbytes + 1))))
    for r0 in range(0, R, group):
        g = min(R, r0 + group) - r0
        Zp = ZT[perms[r0:r0 + g]]                                # (g, p, n + T)
        Yc = np.broadcast_to(Y - ymean, (g, n, n_classes))
        K = np.zeros((g, n, n))
        prev = 0
        for i, k in enumerate(counts):
            tr = Zp[:, :k, :n]                                   # (g, k, n)
            if k >= n:  # Gram route, K grown by the new units
                new = Zp[:, prev:k, :n]
                K += np.swapaxes(new, 1, 2) @ new
                prev = k
                _, c, _ = _ridge.loo_gram(K, Yc, alphas)
                w = tr @ c                                       # (g, k, C)
            else:       # covariance route
                _, w, _ = _ridge.loo_cov(np.swapaxes(tr, 1, 2), Yc, alphas)
            scores = np.swapaxes(Zp[:, :k, n:], 1, 2) @ w + ymean  # (g, T, C)
            afc = _ridge.two_afc(scores, np.broadcast_to(y_te, scores.shape[:2]))
            out[i, r0:r0 + g] = accuracy_by_domain(afc, np.broadcast_to(test_domain, afc.shape), n_domains)
    return out


def sample_units_curve(features, stimuli=None, *, unit_counts=None, n_draws: int = 10, n_splits: int = 100,
                       train_domain: str = "hvm", n_train: int = 100, n_heldout: int = 20,
                       n_test_per_domain: int = 50, alphas=DEFAULT_ALPHAS, seed: int = 0, n_jobs: int = 1,
                       progress: bool = False):
    """Domain-transfer accuracy of random subsets of units, for several subset sizes.

    For every count in ``unit_counts`` (a list, or a number of log-spaced counts from 1 to all
    units; default 10) and each
    of ``n_draws`` random unit orders, the first ``count`` units of that order are decoded with
    the protocol of :func:`neuroit.decoding.decode_domain_transfer` on the same ``n_splits``
    splits (so subsets of one draw are nested, and every count sees the same images). Works the
    same for model units and IT sites.

    Returns a DataArray ``accuracy`` with dims (n_units, draw, split, domain), attrs with every
    parameter (``seed`` draws the splits exactly as decode_domain_transfer does; the unit orders
    come from ``numpy.random.default_rng([seed, 1])``). ``n_jobs`` threads share the splits.
    """
    import xarray as xr

    alphas = _check_alphas(alphas)
    X, table, _ = align_features(features, stimuli)
    p = X.shape[1]
    if unit_counts is None or isinstance(unit_counts, (int, np.integer)):
        counts = default_unit_counts(p, n_counts=10 if unit_counts is None else int(unit_counts))
    else:
        counts = np.unique(np.asarray(unit_counts, dtype=np.int64))
    if counts.size == 0 or counts[0] < 1 or counts[-1] > p:
        raise NeuroitError(f"The 'unit_counts' parameter must hold counts between 1 and the {p} units; "
                           f"got {list(np.asarray(unit_counts))}.")
    if not isinstance(n_draws, (int, np.integer)) or n_draws < 1:
        raise NeuroitError(f"The 'n_draws' parameter must be a positive integer; got {n_draws!r}.")
    splits = draw_splits(table, train_domain=train_domain, n_splits=n_splits, n_train=n_train,
                         n_heldout=n_heldout, n_test_per_domain=n_test_per_domain, seed=seed)
    urng = np.random.default_rng([seed, 1])
    perms = np.stack([urng.permutation(p) for _ in range(n_draws)])
    n_dom, n_cls = len(splits.domains), len(splits.classes)

    def work(s):
        valid = splits.test[s] >= 0
        rows_te = splits.test[s][valid]
        return _one_split(X, splits.train[s], rows_te, splits.labels[splits.train[s]], splits.labels[rows_te],
                          splits.test_domain[s][valid], n_dom, n_cls, perms, counts, alphas)

    acc = np.empty((len(counts), n_draws, n_splits, n_dom))
    it = range(n_splits)
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(it, desc="splits")
    if n_jobs and n_jobs > 1:
        with _blas_threads(1), ThreadPoolExecutor(n_jobs) as pool:
            for s, res in zip(it, pool.map(work, range(n_splits))):
                acc[:, :, s] = res
    else:
        for s in it:
            acc[:, :, s] = work(s)
    attrs = dict(splits.params, alphas=alphas.tolist(), n_draws=int(n_draws), n_units_total=int(p),
                 unit_counts=counts.tolist(), classes=list(splits.classes), chance=CHANCE,
                 standardize="train_zscore", nested_subsets=1, unit_seed=f"[{seed}, 1]")
    return xr.DataArray(acc, dims=("n_units", "draw", "split", "domain"), name="accuracy",
                        coords={"n_units": counts, "draw": np.arange(n_draws), "split": np.arange(n_splits),
                                "domain": list(splits.domains),
                                "n_test": (("split", "domain"), splits.n_test())},
                        attrs=attrs)


def summarize_curve(curve) -> pd.DataFrame:
    """Per unit count: mean accuracy per domain, ``in_domain`` and ``ood`` (mean over held-out
    domains), with SDs over unit draws (of the split-averaged accuracy)."""
    train_domain = curve.attrs.get("train_domain", str(curve["domain"].values[0]))
    domains = [str(d) for d in curve["domain"].values]
    ood = [d for d in domains if d != train_domain]
    by_draw = curve.mean("split")                                  # (n_units, draw, domain)
    frame = by_draw.mean("draw").to_pandas()
    frame.columns = [str(c) for c in frame.columns]
    frame["in_domain"] = frame[train_domain]
    frame["ood"] = frame[ood].mean(axis=1) if ood else np.nan
    sd_ddof = 1 if curve.sizes["draw"] > 1 else 0
    frame["in_domain_sd"] = by_draw.sel(domain=train_domain).std("draw", ddof=sd_ddof).values
    frame["ood_sd"] = (by_draw.sel(domain=ood).mean("domain").std("draw", ddof=sd_ddof).values if ood else np.nan)
    frame.index.name = "n_units"
    return frame
