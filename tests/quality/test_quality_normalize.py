"""zscore_to_normalizer: mean 0 / SD 1 on the normalizers, per site and session; rules; errors."""
import re
import warnings

import numpy as np
import pytest
import xarray as xr

from neuroit.errors import NeuroitError
from neuroit.quality import zscore_to_normalizer
from neuroit.tensor import average_repetitions
from neuroit.tensor._testing import make_session_rates


def _norm_rows(z):
    return z["is_normalizer"].values & (z["stimulus_id"].values != "norm_blank")


def _with_loud_blank(r):
    """Make the blank respond very differently so that including it would break mean 0 / SD 1."""
    vals = r.values.copy()
    vals[r["stimulus_id"].values == "norm_blank"] += 500.0
    return r.copy(data=vals)


def test_normalizer_mean0_sd1_per_site_and_session():
    s1 = make_session_rates(n_sites=7, n_normalizers=25, session="s1", seed=1, gain=1.0)
    s2 = make_session_rates(n_sites=7, n_normalizers=25, session="s2", seed=2, gain=3.0, offset=10.0,
                            date="2026-01-06")
    both = _with_loud_blank(xr.concat([s1, s2], "presentation"))
    z = zscore_to_normalizer(both)
    assert z.dims == both.dims and z.attrs["units"] == "z"
    for s in ("s1", "s2"):
        rows = _norm_rows(z) & (z["session"].values == s)
        np.testing.assert_allclose(z.values[rows].mean(axis=0), 0.0, atol=1e-10)
        np.testing.assert_allclose(z.values[rows].std(axis=0, ddof=1), 1.0, rtol=1e-10)
        assert z.attrs["zscore_to_normalizer"]["sessions"][s] == {"n_normalizer_images": 25,
                                                                   "n_normalizer_presentations": 200}
    # the transform is affine per site and session: experiment responses map the same way
    exp = ~both["is_normalizer"].values & (both["session"].values == "s2")
    norm = _norm_rows(both) & (both["session"].values == "s2")
    x = both.values
    want = (x[exp] - x[norm].mean(0)) / x[norm].std(0, ddof=1)
    np.testing.assert_allclose(z.values[exp], want)
    # per-session gain/offset is removed: the two days now agree on the shared images
    za = average_repetitions(z.where(z["session"] == "s1", drop=True))
    zb = average_repetitions(z.where(z["session"] == "s2", drop=True))
    assert np.corrcoef(za.values.ravel(), zb.values.ravel())[0, 1] > 0.8


def test_across_images_and_stimulus_level_input():
    r = _with_loud_blank(make_session_rates(n_sites=4, n_normalizers=10))
    z = zscore_to_normalizer(r, across="images")
    img = average_repetitions(z)
    m = img["is_normalizer"].values & (img["stimulus_id"].values != "norm_blank")
    np.testing.assert_allclose(img.values[m].mean(0), 0, atol=1e-10)
    np.testing.assert_allclose(img.values[m].std(0, ddof=1), 1, rtol=1e-10)
    za = zscore_to_normalizer(average_repetitions(r), ddof=0)
    m = za["is_normalizer"].values & (za["stimulus_id"].values != "norm_blank")
    np.testing.assert_allclose(za.values[m].std(0), 1, rtol=1e-10)


def test_time_bins_are_zscored_separately():
    r = make_session_rates(n_sites=3, n_normalizers=8, n_time_bins=2)
    z = zscore_to_normalizer(r)
    rows = _norm_rows(z)
    np.testing.assert_allclose(z.values[rows].mean(0), 0, atol=1e-10)
    np.testing.assert_allclose(z.values[rows].std(0, ddof=1), 1, rtol=1e-10)


def test_normalizer_rules():
    r = make_session_rates(n_sites=3, n_normalizers=6)
    by_coord = zscore_to_normalizer(r)
    by_regex = zscore_to_normalizer(r, normalizer=re.compile(r"(^|/)normalizers/"))
    by_ids = zscore_to_normalizer(r, normalizer=[f"norm_{i:02d}" for i in range(6)], exclude=None)
    by_call = zscore_to_normalizer(r, normalizer=lambda c: c["domain"] == "normalizer")
    for z in (by_regex, by_ids, by_call):
        np.testing.assert_allclose(z.values, by_coord.values)
    # without excluding the blank the statistics change
    with_blank = zscore_to_normalizer(r, exclude=None)
    assert not np.allclose(with_blank.values, by_coord.values)
    assert by_coord.attrs["zscore_to_normalizer"]["exclude"] == ["blank", "gr[ae]y"]


def test_separate_normalizer_session_of_the_same_day():
    day = make_session_rates(n_sites=4, n_images=10, n_normalizers=0, session="exp1", seed=1, gain=2.0)
    day = day.assign_coords(is_normalizer=("presentation", np.zeros(day.sizes["presentation"], bool)))
    ref = make_session_rates(n_sites=4, n_images=0, n_normalizers=25, session="norm1", seed=5, gain=2.0)
    ref = ref.isel(site=[3, 1, 0, 2])  # sites matched by id
    z = zscore_to_normalizer(day, reference=ref)
    x = ref.sel(site=day["site"]).values[_norm_rows(ref)]
    np.testing.assert_allclose(z.values, (day.values - x.mean(0)) / x.std(0, ddof=1))
    other_day = ref.assign_coords(date=("presentation", np.full(ref.sizes["presentation"], "2030-01-01", object)))
    two = xr.concat([other_day, ref.assign_coords(session=("presentation", np.full(ref.sizes["presentation"],
                                                                                    "norm2", object)))],
                    "presentation")
    np.testing.assert_allclose(zscore_to_normalizer(day, reference=two).values, z.values)
    wrong_day = xr.concat([other_day, other_day.assign_coords(
        session=("presentation", np.full(ref.sizes["presentation"], "norm3", object)))], "presentation")
    with pytest.raises(NeuroitError, match="2026-01-05"):  # two normalizer sessions, none on the day's date
        zscore_to_normalizer(day, reference=wrong_day)


def test_errors_and_zero_sd():
    r = make_session_rates(n_sites=3, n_normalizers=4)
    with pytest.raises(NeuroitError, match="no normalizer images"):
        zscore_to_normalizer(r, normalizer=["nothing"])
    with pytest.raises(NeuroitError, match="coordinate"):
        zscore_to_normalizer(r.drop_vars("is_normalizer"))
    flat = r.values.copy()
    flat[:, 1] = 5.0  # site 1 responds identically to everything: SD 0
    flat = r.copy(data=flat)
    with pytest.warns(RuntimeWarning, match="SD 0"):
        z = zscore_to_normalizer(flat)
    assert np.isnan(z.values[:, 1]).all() and np.isfinite(z.values[:, [0, 2]]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dropped = zscore_to_normalizer(flat, zero_sd="drop")
    assert list(dropped["site"].values) == ["pico/A-000", "pico/A-002"]
    with pytest.raises(NeuroitError, match="SD 0"):
        zscore_to_normalizer(flat, zero_sd="raise")
    with pytest.raises(NeuroitError, match="across"):
        zscore_to_normalizer(r, across="trials")
    with pytest.raises(NeuroitError, match="stacked"):
        zscore_to_normalizer(average_repetitions(r).expand_dims(session=["s1"]))
