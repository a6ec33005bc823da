"""Unit-sampling curves and scaling factors."""
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from neuroit.compare import accuracy_at, default_unit_counts, sample_units_curve, scaling_factor, summarize_curve
from neuroit.decoding import decode_domain_transfer, synthetic_features, synthetic_stimuli
from neuroit.errors import NeuroitError


@pytest.fixture(scope="module")
def stimuli():
    return synthetic_stimuli(n_per_class=15, n_per_class_other=5)


@pytest.fixture(scope="module")
def feats(stimuli):
    return synthetic_features(stimuli, n_units=150, signal=0.3, seed=5)


def test_full_count_equals_decode_domain_transfer(stimuli, feats):
    curve = sample_units_curve(feats, stimuli, unit_counts=[3, 40, 120, 150], n_draws=3, n_splits=4, seed=2)
    assert curve.dims == ("n_units", "draw", "split", "domain")
    assert curve.sizes == {"n_units": 4, "draw": 3, "split": 4, "domain": 13}
    ref = decode_domain_transfer(feats, stimuli, n_splits=4, seed=2)
    for draw in range(3):  # every draw holds all units at the full count
        np.testing.assert_allclose(curve.sel(n_units=150).isel(draw=draw).values, ref.values, atol=1e-12)
    # a subset decoded on its own gives the same numbers as inside the curve (both routes)
    perm = np.random.default_rng([2, 1]).permutation(150)
    for k in (3, 120):
        sub = feats.isel(unit=np.sort(perm[:k]))
        alone = decode_domain_transfer(sub, stimuli, n_splits=4, seed=2)
        np.testing.assert_allclose(curve.sel(n_units=k).isel(draw=0).values, alone.values, atol=1e-12)
    # accuracy grows with units
    table = summarize_curve(curve)
    assert table["in_domain"].iloc[-1] > table["in_domain"].iloc[0] + 0.1
    assert {"in_domain", "ood", "in_domain_sd", "ood_sd", "hvm", "tdw"} <= set(table.columns)


def test_deterministic_and_threads_agree(stimuli, feats):
    kw = dict(unit_counts=5, n_draws=2, n_splits=3, seed=4)
    a = sample_units_curve(feats, stimuli, **kw)
    b = sample_units_curve(feats, stimuli, n_jobs=2, **kw)
    xr.testing.assert_identical(a, b)
    assert a["n_units"].values.tolist() == default_unit_counts(150, n_counts=5).tolist()
    assert a.attrs["seed"] == 4 and a.attrs["n_draws"] == 2
    with pytest.raises(NeuroitError, match="unit_counts"):
        sample_units_curve(feats, stimuli, unit_counts=[0, 500], n_splits=2)


def _table(n, in_domain):
    frame = pd.DataFrame({"hvm": in_domain, "cartoon": np.asarray(in_domain) - 0.1}, index=pd.Index(n, name="n_units"))
    frame["in_domain"] = frame["hvm"]
    frame["ood"] = frame["cartoon"]
    return frame


def test_scaling_factor_on_known_curves():
    it = _table([1, 10, 100], [0.6, 0.7, 0.8])
    model = _table([1, 10, 100, 1000], [0.5, 0.6, 0.7, 0.75])   # model needs 10x as many units, up to 10 sites
    out = scaling_factor(model, it, n_sites=[1, 10, 100, 3.1622776601683795])
    np.testing.assert_allclose(out.loc[1.0, "model_units"], 10.0)
    np.testing.assert_allclose(out.loc[10.0, "model_units"], 100.0)
    np.testing.assert_allclose(out.loc[3.1622776601683795, "model_units"], 10 ** 1.5)  # log-axis interpolation
    np.testing.assert_allclose(out.loc[10.0, "scaling_factor"], 10.0)
    assert not out.loc[10.0, "extrapolated"]
    np.testing.assert_allclose(out.loc[10.0, "model_cartoon"], 0.6)
    # IT at 100 sites (0.8) is beyond the model's best: extrapolated with the log fit of the upper half
    row = out.loc[100.0]
    assert row["extrapolated"]
    a, b = np.polyfit(np.log([100, 1000]), [0.7, 0.75], 1)  # upper half: the last two counts
    np.testing.assert_allclose(row["model_units"], np.exp((0.8 - b) / a))
    # IT beyond its own curve: extrapolated by the log fit of IT's upper half
    far = scaling_factor(model, it, n_sites=1000)
    assert far.loc[1000.0, "it_extrapolated"]
    np.testing.assert_allclose(far.loc[1000.0, "it_accuracy"], 0.9)


def test_accuracy_at_interpolates_on_log_axis():
    t = _table([1, 100], [0.5, 0.7])
    got = accuracy_at(t, [10, 100])
    np.testing.assert_allclose(got["in_domain"].to_numpy(), [0.6, 0.7])
    assert not got["extrapolated"].any()
    with pytest.raises(NeuroitError):
        accuracy_at(t.iloc[:1], 5)
