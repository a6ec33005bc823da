"""decode_domain_transfer against a scikit-learn RidgeClassifierCV loop (Brain-Score's way)."""
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from neuroit.decoding import (decode_domain_transfer, draw_splits, summarize, synthetic_features,
                              synthetic_stimuli)
from neuroit.decoding import _ridge
from neuroit.decoding._inputs import align_features
from neuroit.decoding.transfer import DEFAULT_ALPHAS, accuracy_by_domain
from neuroit.errors import NeuroitError

sklearn = pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def stimuli():
    return synthetic_stimuli(n_per_class=15, n_per_class_other=6)


def _sklearn_loop(X, splits, alphas):
    """What a user would write: StandardScaler + RidgeClassifierCV per split, 2AFC per domain."""
    from sklearn.linear_model import RidgeClassifierCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    acc = np.zeros((splits.n_splits, len(splits.domains)))
    chosen, scores = [], []
    for s in range(splits.n_splits):
        clf = Pipeline([("scale", StandardScaler()),
                        ("ridge", RidgeClassifierCV(alphas=alphas, fit_intercept=True))])
        clf.fit(X[splits.train[s]], splits.labels[splits.train[s]])
        valid = splits.test[s] >= 0
        te = splits.test[s][valid]
        sc = clf.decision_function(X[te])
        scores.append(sc)
        chosen.append(clf[-1].alpha_)
        acc[s] = accuracy_by_domain(_ridge.two_afc(sc, splits.labels[te]), splits.test_domain[s][valid],
                                    len(splits.domains))
    return acc, np.array(chosen), scores


@pytest.mark.parametrize("n_units", [300, 40])  # Gram route (units >= images) and covariance route
def test_matches_sklearn_ridgeclassifiercv(stimuli, n_units):
    feats = synthetic_features(stimuli, n_units=n_units, signal=0.3, seed=n_units)
    alphas = np.logspace(-4, 4, 9)
    acc = decode_domain_transfer(feats, stimuli, n_splits=6, alphas=alphas, seed=3)
    X, table, _ = align_features(feats, stimuli)
    splits = draw_splits(table, n_splits=6, seed=3)
    ref, chosen, ref_scores = _sklearn_loop(X, splits, alphas)
    np.testing.assert_array_equal(acc["alpha"].values, chosen)
    np.testing.assert_allclose(acc.values, ref, rtol=0, atol=1e-12)
    # the decision functions themselves
    for s in range(6):
        valid = splits.test[s] >= 0
        Ztr, Zte = _ridge.standardize(X[splits.train[s]], X[splits.test[s][valid]])
        scores, best, _ = _ridge.fit_score(Ztr[None], Zte[None], splits.labels[splits.train[s]][None],
                                           len(splits.classes), alphas)
        assert alphas[best[0]] == chosen[s]
        np.testing.assert_allclose(scores[0], ref_scores[s], rtol=1e-8, atol=1e-8)


def test_chance_on_random_features(stimuli):
    feats = synthetic_features(stimuli, n_units=120, signal=0.0, seed=7)
    acc = decode_domain_transfer(feats, stimuli, n_splits=30, seed=1)
    table = summarize(acc)
    assert abs(table.loc["ood", "mean"] - 0.5) < 0.02
    assert abs(table.loc["in_domain", "mean"] - 0.5) < 0.04  # only 20 held-out images per split
    assert abs(float(acc.mean()) - 0.5) < 0.02


def test_well_above_chance_on_separable_features(stimuli):
    feats = synthetic_features(stimuli, n_units=80, signal=2.0, transfer=0.8, noise=0.5, seed=2)
    table = summarize(decode_domain_transfer(feats, stimuli, n_splits=10))
    assert table.loc["in_domain", "mean"] > 0.95
    assert table.loc["ood", "mean"] > 0.9
    assert list(table.index[:2]) == ["hvm", "silhouette"]


def test_derived_images_of_training_images_are_excluded(stimuli):
    # no class signal, but every derived image is a copy of its naturalistic source: a decoder
    # that memorised its training images would score far above chance on their derivatives
    feats = synthetic_features(stimuli, n_units=200, signal=0.0, transfer=1.0, image_noise=1.0, noise=0.01, seed=4)
    X, table, _ = align_features(feats, stimuli)
    splits = draw_splits(table, n_splits=20, seed=0)
    roots = table["root"].to_numpy()
    for s in range(20):
        tr_roots = set(roots[splits.train[s]])
        te = splits.test[s][splits.test[s] >= 0]
        assert not tr_roots & set(roots[te])
        assert not set(splits.train[s]) & set(te)
    acc = decode_domain_transfer(feats, stimuli, n_splits=20, seed=0)
    derived = acc.sel(domain=["silhouette", "convex_hull", "skeleton", "outline"])
    assert abs(float(derived.mean()) - 0.5) < 0.05
    # derived domains hold 150 images, 100 of which come from training images: 50 remain per split
    assert (acc["n_test"].sel(domain="silhouette") == 50).all()


def test_splits_are_stratified_and_counted(stimuli):
    splits = draw_splits(stimuli, n_splits=4, n_train=100, n_heldout=20, n_test_per_domain=30, seed=5)
    labels = splits.labels
    for s in range(4):
        assert np.bincount(labels[splits.train[s]], minlength=10).tolist() == [10] * 10
        held = splits.test[s][splits.test_domain[s] == 0]
        assert np.bincount(labels[held], minlength=10).tolist() == [2] * 10
        cart = splits.test[s][splits.test_domain[s] == splits.domains.index("cartoon")]
        assert np.bincount(labels[cart], minlength=10).tolist() == [3] * 10
    assert splits.n_test()[:, splits.domains.index("cartoon")].tolist() == [30] * 4


def test_deterministic_by_seed(stimuli):
    feats = synthetic_features(stimuli, n_units=60, signal=0.3, seed=9)
    a = decode_domain_transfer(feats, stimuli, n_splits=5, seed=11)
    b = decode_domain_transfer(feats, stimuli, n_splits=5, seed=11)
    c = decode_domain_transfer(feats, stimuli, n_splits=5, seed=12)
    xr.testing.assert_identical(a, b)
    assert not np.array_equal(a.values, c.values)
    for key in ("seed", "n_splits", "n_train", "n_heldout", "n_test_per_domain", "alphas", "train_domain"):
        assert key in a.attrs
    assert a.attrs["seed"] == 11 and a.attrs["alphas"] == list(DEFAULT_ALPHAS)


def test_inputs_dataarray_coords_array_and_presentations(stimuli):
    feats = synthetic_features(stimuli, n_units=50, signal=0.5, seed=1)
    ref = decode_domain_transfer(feats, stimuli, n_splits=3)
    # stimulus table taken from the coords
    np.testing.assert_array_equal(decode_domain_transfer(feats, n_splits=3).values, ref.values)
    # a plain array whose rows follow the table
    np.testing.assert_array_equal(decode_domain_transfer(feats.values, stimuli, n_splits=3).values, ref.values)
    # a presentation-level tensor (two repetitions around the mean) is averaged per stimulus
    ids = np.tile(feats["stimulus_id"].values, 2)
    pres = xr.DataArray(np.concatenate([feats.values - 1.0, feats.values + 1.0]), dims=("presentation", "unit"),
                        coords={"stimulus_id": ("presentation", ids)})
    np.testing.assert_allclose(decode_domain_transfer(pres, stimuli, n_splits=3).values, ref.values, atol=1e-12)
    # normalizer rows are ignored; stimuli missing from the features are dropped with a warning
    extra = pd.concat([stimuli, pd.DataFrame([dict(stimulus_id="norm0", image_path="", object_label="apple",
                                                   domain="hvm", source_id="", is_normalizer=True)])])
    np.testing.assert_array_equal(decode_domain_transfer(feats, extra, n_splits=3).values, ref.values)
    with pytest.warns(UserWarning, match="not in 'features'"):
        decode_domain_transfer(feats.isel(stimulus_id=slice(0, -5)), stimuli, n_splits=2)


def test_user_errors(stimuli):
    feats = synthetic_features(stimuli, n_units=20, seed=1)
    with pytest.raises(NeuroitError, match="train_domain"):
        decode_domain_transfer(feats, stimuli, train_domain="photos", n_splits=2)
    with pytest.raises(NeuroitError, match="n_train"):
        decode_domain_transfer(feats, stimuli, n_train=500, n_splits=2)
    with pytest.raises(NeuroitError, match="alphas"):
        decode_domain_transfer(feats, stimuli, alphas=[-1.0], n_splits=2)
    bad = feats.copy()
    bad[0, 0] = np.nan
    with pytest.raises(NeuroitError, match="non-finite"):
        decode_domain_transfer(bad, stimuli, n_splits=2)
    with pytest.raises(NeuroitError, match="stimulus dim"):
        decode_domain_transfer(feats.rename(stimulus_id="img"), stimuli, n_splits=2)


def test_two_afc_against_a_plain_loop():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, size=(40, 5)).astype(float)  # small integers: many ties
    target = rng.integers(0, 5, size=40)
    expected = []
    for row, t in zip(scores, target):
        others = np.delete(row, t)
        expected.append(((others < row[t]).sum() + 0.5 * (others == row[t]).sum()) / 4)
    np.testing.assert_allclose(_ridge.two_afc(scores, target), expected)
