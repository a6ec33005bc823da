"""Cross-domain object decoding (the seed study's protocol): fit on one domain, test on all."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from neuroit.decoding import _ridge
from neuroit.decoding._inputs import align_features
from neuroit.decoding.splits import Splits, draw_splits
from neuroit.errors import NeuroitError

__all__ = ["decode_domain_transfer", "summarize", "DEFAULT_ALPHAS", "CHANCE"]

log = logging.getLogger(__name__)

#: Default ridge penalties: 1e-4 ... 1e5. Brain-Score's benchmark grid (1e-4 ... 10) is the lower
#: part; the larger values matter for wide (many-unit) standardized layers.
DEFAULT_ALPHAS = tuple(float(a) for a in np.logspace(-4, 5, 10))

#: Chance level of the 2AFC accuracy.
CHANCE = 0.5

_BATCH_BYTES = 48 * 2**20


def _check_alphas(alphas) -> np.ndarray:
    a = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise NeuroitError(f"The 'alphas' parameter must be a non-empty list of positive numbers; got {alphas!r}.")
    return a


def _score_rows(X: np.ndarray, rows_tr: np.ndarray, rows_te: np.ndarray):
    """Gather and standardize (with the training rows' statistics) a batch of splits."""
    tr = X[rows_tr]
    te = X[np.clip(rows_te, 0, None)]
    return _ridge.standardize(tr, te)


def accuracy_by_domain(afc: np.ndarray, test_domain: np.ndarray, n_domains: int) -> np.ndarray:
    """Average per-image 2AFC (…, T) into (…, D) by domain index (…, T); -1 is padding."""
    onehot = test_domain[..., None] == np.arange(n_domains)
    counts = onehot.sum(axis=-2)
    total = np.einsum("...t,...td->...d", afc, onehot.astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, total / np.maximum(counts, 1), np.nan)


def _run_splits(X: np.ndarray, splits: Splits, alphas: np.ndarray):
    S, n = splits.train.shape
    T = splits.test.shape[1]
    n_classes = len(splits.classes)
    per_split = (n + T) * X.shape[1] * 8 * 3
    batch = int(max(1, min(S, _BATCH_BYTES // max(per_split, 1))))
    acc = np.empty((S, len(splits.domains)))
    best = np.empty(S, dtype=np.int64)
    for s0 in range(0, S, batch):
        sl = slice(s0, min(S, s0 + batch))
        Ztr, Zte = _score_rows(X, splits.train[sl], splits.test[sl])
        y_tr = splits.labels[splits.train[sl]]
        y_te = splits.labels[np.clip(splits.test[sl], 0, None)]
        scores, best[sl], _ = _ridge.fit_score(Ztr, Zte, y_tr, n_classes, alphas)
        afc = _ridge.two_afc(scores, y_te)
        acc[sl] = accuracy_by_domain(afc, splits.test_domain[sl], len(splits.domains))
    return acc, best


def decode_domain_transfer(features, stimuli=None, *, train_domain: str = "hvm", n_splits: int = 100,
                           n_train: int = 100, n_heldout: int = 20, n_test_per_domain: int = 50,
                           alphas=DEFAULT_ALPHAS, seed: int = 0):
    """2AFC object-decoding accuracy of a linear readout trained on one domain, per test domain.

    Parameters
    ----------
    features : xarray.DataArray (stimulus x unit) or 2-D array
        IT sites or model units; a DataArray is matched to ``stimuli`` by ``stimulus_id`` (a
        presentation-level tensor is averaged per stimulus first).
    stimuli : pandas.DataFrame, optional
        Stimulus table (stimulus_id, object_label, domain[, source_id, is_normalizer]); taken
        from the DataArray's coords when omitted. Normalizer images are ignored.
    train_domain, n_splits, n_train, n_heldout, n_test_per_domain, seed
        The protocol (see :func:`neuroit.decoding.draw_splits`).
    alphas : sequence of float
        Ridge penalties; the best one (and the intercept) is chosen per split by leave-one-out
        cross-validation on the training images.

    Returns
    -------
    xarray.DataArray ``accuracy`` with dims (split, domain), the training domain first (its
    accuracy is on the held-out in-domain images); coords ``n_test`` (split, domain) and ``alpha``
    (split, the chosen penalty); attrs record every parameter.

    Notes
    -----
    Features are standardized with the training images' mean and SD in every split, as the
    Brain-Score benchmark does (``StandardScaler`` before ``RidgeClassifierCV``). The classifier is
    one-vs-rest ridge regression on +1/-1 targets; per test image the 2AFC accuracy is the
    fraction of the other classes whose decision score is below the true class's, ties counting
    half (Brain-Score counts ties as errors; ties only occur with degenerate features).
    """
    import xarray as xr

    alphas = _check_alphas(alphas)
    X, table, _ = align_features(features, stimuli)
    splits = draw_splits(table, train_domain=train_domain, n_splits=n_splits, n_train=n_train,
                         n_heldout=n_heldout, n_test_per_domain=n_test_per_domain, seed=seed)
    acc, best = _run_splits(X, splits, alphas)
    log.info("decoded %d splits of %d units", n_splits, X.shape[1])
    attrs = dict(splits.params, alphas=alphas.tolist(), n_units=int(X.shape[1]), n_stimuli=int(len(table)),
                 classes=list(splits.classes), chance=CHANCE, standardize="train_zscore",
                 classifier="one-vs-rest ridge, LOO-selected alpha, fitted intercept", ties="half")
    return xr.DataArray(acc, dims=("split", "domain"), name="accuracy",
                        coords={"split": np.arange(n_splits), "domain": list(splits.domains),
                                "n_test": (("split", "domain"), splits.n_test()),
                                "alpha": ("split", alphas[best])},
                        attrs=attrs)


def summarize(acc) -> pd.DataFrame:
    """Mean and SD over splits per domain, plus the in-domain and O.O.D. summary rows.

    Rows: every domain (``kind`` "in_domain" for the training domain, "ood" for the others), then
    ``in_domain`` and ``ood`` (the mean over held-out domains of their per-domain means; ``sd`` is
    the SD over splits of the per-split O.O.D. mean, ``sd_domains`` the SD over domains).
    Works on a (split, domain) accuracy and on anything with more dims (they are averaged too,
    e.g. unit draws).
    """
    if "domain" not in acc.dims or "split" not in acc.dims:
        raise NeuroitError(f"summarize expects an accuracy with dims including ('split', 'domain'); got {acc.dims}.")
    train_domain = acc.attrs.get("train_domain", str(acc["domain"].values[0]))
    domains = [str(d) for d in acc["domain"].values]
    other = [d for d in acc.dims if d not in ("split", "domain")]
    per = acc.mean(other) if other else acc
    mean = per.mean("split", skipna=True)
    sd = per.std("split", ddof=1, skipna=True) if per.sizes["split"] > 1 else per.mean("split") * np.nan
    rows = []
    for d in domains:
        rows.append(dict(domain=d, kind="in_domain" if d == train_domain else "ood",
                         mean=float(mean.sel(domain=d)), sd=float(sd.sel(domain=d)), sd_domains=np.nan))
    ood_domains = [d for d in domains if d != train_domain]
    id_row = rows[domains.index(train_domain)]
    rows.append(dict(domain="in_domain", kind="summary", mean=id_row["mean"], sd=id_row["sd"], sd_domains=np.nan))
    if ood_domains:
        ood_split = per.sel(domain=ood_domains).mean("domain", skipna=True)
        means = mean.sel(domain=ood_domains).values
        rows.append(dict(domain="ood", kind="summary", mean=float(np.nanmean(means)),
                         sd=float(ood_split.std("split", ddof=1)) if per.sizes["split"] > 1 else np.nan,
                         sd_domains=float(np.nanstd(means, ddof=1)) if len(means) > 1 else np.nan))
    return pd.DataFrame(rows).set_index("domain")
