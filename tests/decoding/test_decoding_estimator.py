"""LOORidgeClassifier against sklearn.linear_model.RidgeClassifierCV."""
import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.linear_model import RidgeClassifierCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from neuroit.decoding import LOORidgeClassifier  # noqa: E402


def _data(n, p, n_classes, seed):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    X = rng.standard_normal((n, p)) + 0.7 * rng.standard_normal((n_classes, p))[y] + 3.0
    return X, np.array([f"c{k}" for k in y])


@pytest.mark.parametrize("n,p,n_classes", [(60, 200, 5), (80, 12, 4), (50, 30, 2), (40, 40, 3)])
def test_same_model_as_ridgeclassifiercv(n, p, n_classes):
    X, y = _data(n, p, n_classes, seed=n + p)
    alphas = np.logspace(-3, 3, 7)
    ours = LOORidgeClassifier(alphas=alphas).fit(X, y)
    ref = RidgeClassifierCV(alphas=alphas, fit_intercept=True).fit(X, y)
    assert ours.alpha_ == ref.alpha_
    np.testing.assert_allclose(ours.best_score_, ref.best_score_, rtol=1e-8)
    np.testing.assert_allclose(ours.coef_.ravel(), np.ravel(ref.coef_), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(np.ravel(ours.intercept_), np.ravel(ref.intercept_), rtol=1e-7, atol=1e-8)
    Xt, _ = _data(30, p, n_classes, seed=1)
    np.testing.assert_allclose(ours.decision_function(Xt), ref.decision_function(Xt), rtol=1e-8, atol=1e-8)
    np.testing.assert_array_equal(ours.predict(Xt), ref.predict(Xt))
    assert ours.score(X, y) == ref.score(X, y)
    assert list(ours.classes_) == list(ref.classes_)


def test_sklearn_contract():
    X, y = _data(40, 25, 3, seed=0)
    est = LOORidgeClassifier(alphas=[0.1, 1.0])
    assert est.get_params() == {"alphas": [0.1, 1.0]}
    assert not hasattr(est, "coef_")
    assert est.fit(X, y) is est
    fresh = clone(est)
    assert not hasattr(fresh, "coef_") and fresh.alphas == [0.1, 1.0]
    pipe = make_pipeline(StandardScaler(), LOORidgeClassifier()).fit(X, y)
    assert pipe.score(X, y) > 0.9
    with pytest.raises(ValueError, match="two classes"):
        LOORidgeClassifier().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="features"):
        LOORidgeClassifier().fit(X, y).decision_function(X[:, :3])
