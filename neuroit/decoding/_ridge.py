"""Closed-form leave-one-out ridge for a stack of problems and all alphas at once.

Private solvers behind :func:`decode_domain_transfer`, :func:`sample_units_curve` and
:class:`LOORidgeClassifier`. Every array carries a leading batch axis ``B`` (splits, unit draws).

With centred features ``Z`` (n x k) and centred targets ``Y`` (n x C), the ridge dual coefficients
are ``c = (K + a I)^-1 Y`` with ``K = Z Z'``, and the leave-one-out residuals are ``c / d`` with
``d = diag((K + a I)^-1) - ((K + a I)^-1 1) / n`` (the last term accounts for the intercept that
centring fits; Rifkin & Lippert 2007, as in scikit-learn's ``_RidgeGCV``). One eigendecomposition
``K = Q L Q'`` gives both for every alpha. When k < n the k x k covariance ``Z'Z`` is decomposed
instead (the same numbers, cheaper). The alpha with the lowest mean squared LOO residual over all
samples and classes wins (the first one on ties), as in ``RidgeClassifierCV``.
"""
from __future__ import annotations

import numpy as np


def standardize(train: np.ndarray, *others: np.ndarray):
    """z-score along axis -2 with the training rows' mean and (population) SD, as
    ``StandardScaler``; constant features are centred but not scaled."""
    n = train.shape[-2]
    mean = train.mean(axis=-2, keepdims=True)
    var = train.var(axis=-2, keepdims=True)
    eps = np.finfo(np.float64).eps
    constant = var <= n * eps * var + (n * mean * eps) ** 2
    scale = np.where(constant, 1.0, np.sqrt(np.where(constant, 1.0, var)))
    return tuple((a - mean) / scale for a in (train, *others))


def one_vs_rest(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """(..., n) class indices -> (..., n, C) targets of +1 / -1."""
    Y = np.full(labels.shape + (n_classes,), -1.0)
    np.put_along_axis(Y, labels[..., None], 1.0, axis=-1)
    return Y


def loo_gram(K: np.ndarray, Yc: np.ndarray, alphas: np.ndarray):
    """LOO ridge from the centred Gram matrices ``K`` (B, n, n) and centred targets (B, n, C).

    Returns ``best`` (B,) alpha index, ``c`` (B, n, C) dual coefficients at the best alpha and
    ``mse`` (B, A) mean squared LOO residual per alpha.
    """
    n = K.shape[-1]
    L, Q = np.linalg.eigh(np.ascontiguousarray(K))
    QtY = np.swapaxes(Q, -1, -2) @ Yc                         # (B, n, C)
    Qt1 = Q.sum(axis=-2)                                      # (B, n)
    D = 1.0 / (L[..., None] + alphas)                         # (B, n, A)
    d = (Q * Q) @ D - (Q @ (D * Qt1[..., None])) / n          # (B, n, A)
    DT = np.swapaxes(D, -1, -2)[..., None]                    # (B, A, n, 1)
    C_all = Q[:, None] @ (DT * QtY[:, None])                  # (B, A, n, C)
    looe = C_all / np.swapaxes(d, -1, -2)[..., None]
    mse = np.mean(looe * looe, axis=(-2, -1))                 # (B, A)
    best = np.argmin(mse, axis=1)
    c = C_all[np.arange(len(best)), best]
    return best, c, mse


def loo_cov(Z: np.ndarray, Yc: np.ndarray, alphas: np.ndarray):
    """LOO ridge from centred features ``Z`` (B, n, k) through the k x k covariance (k < n).

    Returns ``best`` (B,), primal weights ``w`` (B, k, C) at the best alpha and ``mse`` (B, A).
    """
    n = Z.shape[-2]
    L, V = np.linalg.eigh(np.swapaxes(Z, -1, -2) @ Z)
    L = np.clip(L, 0.0, None)
    P = Z @ V                                                 # (B, n, k)
    PtY = np.swapaxes(P, -1, -2) @ Yc                         # (B, k, C)
    D = 1.0 / (L[..., None] + alphas)                         # (B, k, A)
    alpha_d = 1.0 - (P * P) @ D - 1.0 / n                     # (B, n, A)
    DT = np.swapaxes(D, -1, -2)[..., None]                    # (B, A, k, 1)
    fitted = P[:, None] @ (DT * PtY[:, None])                 # (B, A, n, C)
    looe = (Yc[:, None] - fitted) / np.swapaxes(alpha_d, -1, -2)[..., None]
    mse = np.mean(looe * looe, axis=(-2, -1))
    best = np.argmin(mse, axis=1)
    Db = D[np.arange(len(best)), :, best]                     # (B, k)
    w = V @ (Db[..., None] * PtY)                             # (B, k, C)
    return best, w, mse


def fit_score(Ztr: np.ndarray, Zte: np.ndarray, labels: np.ndarray, n_classes: int, alphas: np.ndarray,
              K: np.ndarray | None = None, Kte: np.ndarray | None = None):
    """Fit one-vs-rest LOO ridge on (B, n, k) standardized training features with (B, n) class
    indices and return the decision scores (B, T, C) of (B, T, k) test features, the best alpha
    index (B,) and the LOO mse (B, A). ``K``/``Kte`` may hold precomputed Gram blocks
    ``Ztr Ztr'`` and ``Zte Ztr'`` (then ``Ztr``/``Zte`` may be None)."""
    Y = one_vs_rest(labels, n_classes)
    ymean = Y.mean(axis=-2, keepdims=True)
    Yc = Y - ymean
    n = labels.shape[-1]
    k = Ztr.shape[-1] if Ztr is not None else None
    if K is None and k < n:
        best, w, mse = loo_cov(Ztr, Yc, alphas)
        return Zte @ w + ymean, best, mse
    if K is None:
        K = Ztr @ np.swapaxes(Ztr, -1, -2)
    best, c, mse = loo_gram(K, Yc, alphas)
    if Kte is None:  # primal weights: cheaper than the test Gram block when classes < images
        return Zte @ (np.swapaxes(Ztr, -1, -2) @ c) + ymean, best, mse
    return Kte @ c + ymean, best, mse


def two_afc(scores: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per test image: the fraction of the other classes whose score is below the target class's
    (ties count half). ``scores`` (..., T, C), ``target`` (..., T) -> (..., T)."""
    n_classes = scores.shape[-1]
    t = np.take_along_axis(scores, np.clip(target, 0, None)[..., None], axis=-1)
    below = (scores < t).sum(axis=-1)
    ties = (scores == t).sum(axis=-1) - 1
    return (below + 0.5 * ties) / (n_classes - 1)
