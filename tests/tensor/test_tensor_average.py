"""average_repetitions and merge_sessions on small synthetic tensors."""
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from neuroit.errors import NeuroitError
from neuroit.tensor import average_repetitions, merge_sessions
from neuroit.tensor._testing import make_session_rates


def _groupby_mean(rates):
    ref = rates.groupby("stimulus_id").mean("presentation", skipna=True)
    return ref


def test_average_matches_groupby_and_carries_coords():
    r = make_session_rates(n_sites=5, n_images=7, n_normalizers=3, n_repetitions=4)
    a = average_repetitions(r)
    assert a.dims == ("stimulus_id", "site")
    assert list(a["stimulus_id"].values) == sorted(set(r["stimulus_id"].values))
    np.testing.assert_allclose(a.values, _groupby_mean(r).sel(stimulus_id=a["stimulus_id"]).values)
    assert (a["n_repetitions"].values == 4).all()
    for c in ("image_file", "object_label", "domain", "is_normalizer"):
        first = pd.Series(r[c].values, index=r["stimulus_id"].values).groupby(level=0).first()
        assert list(a[c].values) == list(first.loc[a["stimulus_id"].values])
    assert a["is_normalizer"].dtype == bool
    for c in ("electrode", "array", "port", "region", "animal"):
        assert list(a[c].values) == list(r[c].values)
    assert a.attrs["sessions"] == ["s1"] and a.attrs["average_repetitions"]["fixation"] == "correct"


def test_average_skips_nan_broken_fixation_and_unequal_counts():
    r = make_session_rates(n_sites=3, n_images=4, n_normalizers=2, n_repetitions=5)
    vals = r.values.copy()
    vals[0, 1] = np.nan  # one site missing in one presentation
    fix = np.ones(r.sizes["presentation"], bool)
    fix[3] = False  # a broken fixation
    r = r.copy(data=vals).assign_coords(fixation_correct=("presentation", fix))
    r = r.isel(presentation=np.r_[0:10, 11:r.sizes["presentation"]])  # unequal repetitions
    a = average_repetitions(r)
    good = r.isel(presentation=np.flatnonzero(r["fixation_correct"].values))
    np.testing.assert_allclose(a.values, _groupby_mean(good).sel(stimulus_id=a["stimulus_id"]).values)
    want = pd.Series(good["stimulus_id"].values).value_counts()
    assert list(a["n_repetitions"].values) == list(want.loc[a["stimulus_id"].values])
    assert min(want) < 5
    a_all = average_repetitions(r, fixation="all")
    assert a_all["n_repetitions"].sum() == r.sizes["presentation"]
    assert np.isfinite(a.values).all()


def test_average_time_bins_and_errors():
    r = make_session_rates(n_sites=2, n_images=3, n_normalizers=2, n_time_bins=4)
    a = average_repetitions(r)
    assert a.dims == ("stimulus_id", "site", "time_bin")
    assert list(a["time_bin_start_ms"].values) == list(r["time_bin_start_ms"].values)
    np.testing.assert_allclose(a.values, _groupby_mean(r).sel(stimulus_id=a["stimulus_id"]).transpose(*a.dims).values)
    bad = r.copy()
    labels = bad["object_label"].values.copy()
    labels[np.flatnonzero(bad["stimulus_id"].values == "img_000")[0]] = "other"
    with pytest.raises(NeuroitError, match="object_label"):
        average_repetitions(bad.assign_coords(object_label=("presentation", labels)))
    with pytest.raises(NeuroitError, match="fixation"):
        average_repetitions(r, fixation="maybe")
    with pytest.raises(NeuroitError, match="DataArray"):
        average_repetitions(r.values)


def _two_days():
    ids1 = [f"img_{i:03d}" for i in range(0, 8)] + ["norm_00", "norm_01"]
    ids2 = [f"img_{i:03d}" for i in range(4, 12)] + ["norm_00", "norm_01"]
    d1 = make_session_rates(n_sites=5, stimulus_ids=ids1, session="d1", date="2026-01-05", seed=1, n_repetitions=4)
    d2 = make_session_rates(n_sites=5, stimulus_ids=ids2, session="d2", date="2026-01-06", seed=2, n_repetitions=6)
    return d1, d2


def test_merge_two_days_with_different_images_aligns_them():
    d1, d2 = _two_days()
    a1, a2 = average_repetitions(d1), average_repetitions(d2)
    # day 2's sites arrive in another order and one site is missing: matched by id, not position
    d2s = d2.isel(site=[4, 2, 0, 1])
    stacked = merge_sessions([d1, d2s], combine="stack")
    union = sorted(set(a1["stimulus_id"].values) | set(a2["stimulus_id"].values))
    assert list(stacked["stimulus_id"].values) == union
    assert list(stacked["session"].values) == ["d1", "d2"]
    for sid in union:
        for k, a in enumerate((a1, a2)):
            got = stacked.sel(stimulus_id=sid).isel(session=k)
            if sid in a["stimulus_id"].values:
                want = a.sel(stimulus_id=sid).reindex(site=stacked["site"].values)
                if k == 1:
                    want = want.where(want["site"] != "pico/A-003")
                np.testing.assert_allclose(got.values, want.values)
            else:
                assert np.isnan(got.values).all()
    assert np.isnan(stacked.sel(site="pico/A-003").isel(session=1)).all()
    assert list(stacked["n_repetitions"].sel(stimulus_id="img_000").values) == [4, 0]
    # same grid whatever the order of the inputs
    swapped = merge_sessions([d2s, d1], combine="stack")
    assert list(swapped["stimulus_id"].values) == union
    xr.testing.assert_allclose(swapped.sel(session=["d1", "d2"]).drop_vars("n_repetitions"),
                               stacked.drop_vars("n_repetitions"))


def test_merge_mean_is_repetition_weighted():
    d1, d2 = _two_days()
    m = merge_sessions([average_repetitions(d1), d2])
    assert m.dims == ("stimulus_id", "site")
    both = "img_005"
    w1, w2 = 4, 6
    want = (w1 * average_repetitions(d1).sel(stimulus_id=both) + w2 * average_repetitions(d2).sel(stimulus_id=both)) / 10
    np.testing.assert_allclose(m.sel(stimulus_id=both).values, want.values)
    np.testing.assert_allclose(m.sel(stimulus_id="img_000").values,
                               average_repetitions(d1).sel(stimulus_id="img_000").values)
    assert int(m["n_repetitions"].sel(stimulus_id=both)) == 10
    assert int(m["n_sessions"].sel(stimulus_id=both)) == 2 and int(m["n_sessions"].sel(stimulus_id="img_011")) == 1
    assert m.attrs["sessions"] == ["d1", "d2"] and m.attrs["dates"] == ["2026-01-05", "2026-01-06"]
    assert m.attrs["units"] == "spikes/s"
    assert list(m["object_label"].sel(stimulus_id=["img_000", "img_011"]).values) == ["bear", "chair"]


def test_merge_site_and_stimulus_options():
    d1, d2 = _two_days()
    d2 = d2.isel(site=[0, 1, 2])
    assert merge_sessions([d1, d2], sites="intersection").sizes["site"] == 3
    assert merge_sessions([d1, d2]).sizes["site"] == 5
    report = pd.DataFrame({"site": ["pico/A-004", "pico/A-000"], "kept": [True, False]})
    assert list(merge_sessions([d1, d2], sites=report)["site"].values) == ["pico/A-004"]
    order = [f"img_{i:03d}" for i in reversed(range(14))] + ["norm_00", "norm_01", "norm_02"]
    m = merge_sessions([d1, d2], stimuli=pd.DataFrame({"stimulus_id": order}))
    assert list(m["stimulus_id"].values) == order
    assert np.isnan(m.sel(stimulus_id=["img_013", "norm_02"])).all()
    with pytest.raises(NeuroitError, match="lacks"):
        merge_sessions([d1, d2], stimuli=order[:3])
    with pytest.raises(NeuroitError, match="none of the sessions"):
        merge_sessions([d1, d2], sites=["pico/B-999"])
    with pytest.raises(NeuroitError, match="same session"):
        merge_sessions([d1, d1])
    with pytest.raises(NeuroitError, match="empty"):
        merge_sessions([])
    bad = d2.assign_coords(object_label=("presentation", np.full(d2.sizes["presentation"], "zebra", dtype=object)))
    with pytest.raises(NeuroitError, match="object_label"):
        merge_sessions([d1, bad])


def test_merge_time_bins():
    a = make_session_rates(n_sites=2, n_images=3, n_normalizers=1, n_time_bins=3, session="a")
    b = make_session_rates(n_sites=2, n_images=5, n_normalizers=1, n_time_bins=3, session="b", seed=3)
    m = merge_sessions([a, b])
    assert m.dims == ("stimulus_id", "site", "time_bin")
    assert list(m["time_bin_start_ms"].values) == [70, 90, 110]
    with pytest.raises(NeuroitError, match="dims"):
        merge_sessions([a, make_session_rates(session="c")])


def test_average_and_merge_ignore_presentation_and_session_order():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    base = make_session_rates(n_sites=3, n_images=6, n_normalizers=2, n_repetitions=3)
    other = make_session_rates(n_sites=3, n_images=9, n_normalizers=2, n_repetitions=2, session="s2", seed=5)
    ref = average_repetitions(base)
    ref_merge = merge_sessions([base, other])

    @settings(max_examples=25, deadline=None)
    @given(st.randoms(use_true_random=False), st.booleans())
    def check(rnd, swap):
        perm = list(range(base.sizes["presentation"]))
        rnd.shuffle(perm)
        shuffled = base.isel(presentation=perm)
        got = average_repetitions(shuffled)
        xr.testing.assert_allclose(got, ref)
        pair = [other, shuffled] if swap else [shuffled, other]
        merged = merge_sessions(pair)
        xr.testing.assert_allclose(merged, ref_merge)

    check()
