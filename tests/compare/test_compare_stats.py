"""Each statistic against a direct scipy / numpy computation."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from neuroit.compare import extrapolate_log, fit_log, friedman_deltas, relative_ood, ttest_ood
from neuroit.errors import NeuroitError

rng = np.random.default_rng(0)
MODEL = 0.6 + 0.03 * rng.standard_normal(12)
IT = 0.68 + 0.03 * rng.standard_normal(12)


def test_ttest_ood():
    got = ttest_ood(MODEL, IT)
    ref = stats.ttest_ind(MODEL, IT)
    assert got["statistic"] == pytest.approx(ref.statistic, rel=1e-12)
    assert got["pvalue"] == pytest.approx(ref.pvalue, rel=1e-12)
    assert got["df"] == 22
    welch = ttest_ood(MODEL, IT, equal_var=False)
    assert welch["pvalue"] == pytest.approx(stats.ttest_ind(MODEL, IT, equal_var=False).pvalue, rel=1e-12)
    with pytest.raises(NeuroitError):
        ttest_ood([0.5], IT)


def test_friedman_deltas():
    deltas = pd.DataFrame(rng.standard_normal((5, 12)) * 0.05 - 0.08,
                          index=[f"m{i}" for i in range(5)], columns=[f"d{j}" for j in range(12)])
    got = friedman_deltas(deltas)
    ref = stats.friedmanchisquare(*[deltas[c] for c in deltas.columns])
    assert got["statistic"] == pytest.approx(ref.statistic) and got["pvalue"] == pytest.approx(ref.pvalue)
    assert (got["n_groups"], got["n_blocks"]) == (12, 5)
    by_model = friedman_deltas(deltas, across="model")
    ref = stats.friedmanchisquare(*[deltas.loc[m] for m in deltas.index])
    assert by_model["pvalue"] == pytest.approx(ref.pvalue)
    with pytest.raises(NeuroitError, match=">= 3"):
        friedman_deltas(deltas.iloc[:, :2])


def test_log_fit_and_extrapolation():
    x = np.array([1, 2, 4, 8, 16, 32, 64])
    y = 0.55 + 0.04 * np.log(x) + 0.002 * rng.standard_normal(7)
    a, b = fit_log(x, y)
    ref_a, ref_b = np.polyfit(np.log(x), y, 1)
    assert (a, b) == pytest.approx((ref_a, ref_b), rel=1e-12)
    np.testing.assert_allclose(extrapolate_log(x, y, [1000]), ref_a * np.log(1000) + ref_b)


def test_relative_ood():
    got = relative_ood(0.73, 0.68)
    assert got["relative"] == pytest.approx(0.68 / 0.73)
    assert got["relative_above_chance"] == pytest.approx(0.18 / 0.23)
