"""``LOORidgeClassifier``: the closed-form LOO ridge as a scikit-learn estimator."""
from __future__ import annotations

import numpy as np

from neuroit._lazy import import_optional
from neuroit.decoding import _ridge
from neuroit.decoding.transfer import DEFAULT_ALPHAS, _check_alphas

__all__ = ["LOORidgeClassifier"]

_base = import_optional("sklearn.base", "stimuli")  # scikit-learn comes with the stimuli extra


class LOORidgeClassifier(_base.ClassifierMixin, _base.BaseEstimator):
    """One-vs-rest ridge classifier whose penalty is chosen by efficient leave-one-out CV.

    The same model as ``sklearn.linear_model.RidgeClassifierCV(alphas, fit_intercept=True)``
    (targets +1/-1, one alpha for all classes chosen by the mean squared LOO residual, intercept
    fitted by centring), solved from one eigendecomposition shared by all alphas and classes.
    It does not scale features: put a ``StandardScaler`` before it for the seed study's protocol.

    Attributes: ``classes_``, ``alpha_``, ``coef_`` (n_classes, n_features), or (1, n_features)
    for two classes, ``intercept_``, ``best_score_`` (negative LOO mean squared error),
    ``cv_mse_`` (per alpha), ``n_features_in_``.
    """

    def __init__(self, alphas=DEFAULT_ALPHAS):
        self.alphas = alphas

    def fit(self, X, y):
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        if X.ndim != 2 or len(X) != len(y):
            raise ValueError(f"LOORidgeClassifier.fit expects X (n_samples, n_features) and y (n_samples,); "
                             f"got shapes {X.shape} and {y.shape}.")
        alphas = _check_alphas(self.alphas)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"LOORidgeClassifier needs at least two classes; got {list(self.classes_)}.")
        Y = _ridge.one_vs_rest(codes, len(self.classes_))
        if len(self.classes_) == 2:
            Y = Y[:, 1:]  # one column, +1 for the second class, as scikit-learn
        x_mean, y_mean = X.mean(axis=0), Y.mean(axis=0)
        Z, Yc = X - x_mean, Y - y_mean
        n, k = Z.shape
        if k < n:
            best, w, mse = _ridge.loo_cov(Z[None], Yc[None], alphas)
            w = w[0]
        else:
            best, c, mse = _ridge.loo_gram((Z @ Z.T)[None], Yc[None], alphas)
            w = Z.T @ c[0]
        self.alpha_ = float(alphas[best[0]])
        self.cv_mse_ = mse[0]
        self.best_score_ = -float(mse[0, best[0]])
        self.coef_ = w.T
        self.intercept_ = y_mean - x_mean @ w
        self.n_features_in_ = k
        return self

    def decision_function(self, X):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != getattr(self, "n_features_in_", -1):
            raise ValueError(f"LOORidgeClassifier.decision_function expects a fitted model and X with "
                             f"{getattr(self, 'n_features_in_', '?')} features; got shape {X.shape}.")
        scores = X @ self.coef_.T + self.intercept_
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict(self, X):
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]
