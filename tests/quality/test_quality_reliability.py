"""split_half_reliability against a direct NumPy loop over the same splits; NaN handling; sessions."""
import numpy as np
import pytest
import xarray as xr

from neuroit.errors import NeuroitError
from neuroit.quality import split_half_reliability
from neuroit.quality.reliability import _draw_splits, _prepare_codes
from neuroit.tensor._testing import make_session_rates


def naive_reliability(x, stimulus_ids, *, n_splits, seed, min_repetitions=2, correction=True):
    """Plain loops: for every split, site and image, the two half means; Pearson over images; Spearman-Brown."""
    codes, _, _ = _prepare_codes(np.asarray(stimulus_ids), min_repetitions)
    rng = np.random.default_rng(seed)
    n_sites = x.shape[1]
    per_split = []
    for idx_a, idx_b, starts in _draw_splits(codes, n_splits, rng):
        bounds = list(starts) + [len(idx_a)]
        r_split = np.full(n_sites, np.nan)
        for s in range(n_sites):
            a, b = [], []
            for k in range(len(starts)):
                va = [x[p, s] for p in idx_a[bounds[k]:bounds[k + 1]] if not np.isnan(x[p, s])]
                vb = [x[p, s] for p in idx_b[bounds[k]:bounds[k + 1]] if not np.isnan(x[p, s])]
                if va and vb:
                    a.append(sum(va) / len(va))
                    b.append(sum(vb) / len(vb))
            if len(a) >= 3 and np.std(a) > 0 and np.std(b) > 0:
                r = np.corrcoef(a, b)[0, 1]
                r_split[s] = 2 * r / (1 + r) if correction else r
        per_split.append(r_split)
    per_split = np.array(per_split)
    out = np.full(n_sites, np.nan)
    for s in range(n_sites):
        v = per_split[:, s][np.isfinite(per_split[:, s])]
        if v.size:
            out[s] = v.mean()
    return out


def test_splits_are_balanced_halves_per_image():
    ids = np.array(["a"] * 5 + ["b"] * 4 + ["c"] * 1 + ["d"] * 2)
    codes, counts, used = _prepare_codes(ids, 2)
    assert list(used) == ["a", "b", "d"] and list(counts) == [5, 4, 2]
    for idx_a, idx_b, starts in _draw_splits(codes, 20, np.random.default_rng(0)):
        assert list(starts) == [0, 2, 4]
        assert list(ids[idx_a]) == list(ids[idx_b]) == ["a", "a", "b", "b", "d"]
        assert not set(idx_a) & set(idx_b)


def test_matches_naive_loop_on_same_splits():
    r = make_session_rates(n_sites=6, n_images=10, n_normalizers=3, n_repetitions=5, unstable_sites=[4], noise=15.0)
    got = split_half_reliability(r, n_splits=15, seed=3)
    assert got.dims == ("session", "site") and list(got["session"].values) == ["s1"]
    want = naive_reliability(r.values, r["stimulus_id"].values, n_splits=15, seed=3)
    np.testing.assert_allclose(got.values[0], want, rtol=1e-10)
    raw = split_half_reliability(r, n_splits=15, seed=3, correction=False)
    np.testing.assert_allclose(raw.values[0], naive_reliability(r.values, r["stimulus_id"].values, n_splits=15,
                                                                seed=3, correction=False), rtol=1e-10)
    assert got.values[0, 4] < 0.5 < got.values[0, 0]
    assert got.attrs["split_half_reliability"]["seed"] == 3
    assert list(got["electrode"].values) == list(r["electrode"].values)


def test_missing_data_and_unequal_repetitions_match_naive():
    r = make_session_rates(n_sites=5, n_images=9, n_normalizers=2, n_repetitions=6)
    rng = np.random.default_rng(0)
    vals = r.values.copy()
    vals[rng.random(vals.shape) < 0.15] = np.nan  # scattered missing rates
    vals[:, 3] = np.nan
    vals[:7, 3] = 1.0  # a site with almost no data: NaN reliability, no crash
    keep = rng.random(r.sizes["presentation"]) > 0.2  # unequal repetition counts, some images with 1
    r = r.copy(data=vals).isel(presentation=np.flatnonzero(keep))
    got = split_half_reliability(r, n_splits=10, seed=1, min_repetitions=2)
    want = naive_reliability(r.values, r["stimulus_id"].values, n_splits=10, seed=1)
    np.testing.assert_allclose(got.values[0], want, rtol=1e-10)
    assert np.isnan(got.values[0, 3]) and np.isfinite(got.values[0, [0, 1, 2, 4]]).all()


def test_sessions_images_and_seed():
    a = make_session_rates(n_sites=4, n_normalizers=8, session="a", seed=1)
    b = make_session_rates(n_sites=4, n_normalizers=8, session="b", seed=2, unstable_sites=[0])
    both = xr.concat([a, b], "presentation")
    rel = split_half_reliability(both, images="normalizer", n_splits=20)
    assert list(rel["session"].values) == ["a", "b"] and list(rel["n_images"].values) == [8, 8]
    np.testing.assert_allclose(rel.sel(session="a").values,
                               split_half_reliability(a, images="normalizer", n_splits=20).values[0])
    assert rel.sel(session="b").values[0] < 0.5 < rel.sel(session="a").values[0]
    pooled = split_half_reliability(both, images="experiment", by_session=False, n_splits=20)
    assert list(pooled["session"].values) == ["all"] and pooled["n_images"].values.tolist() == [12]
    ids = split_half_reliability(a, images=["img_000", "img_001", "img_002", "img_003"], n_splits=5)
    assert ids["n_images"].values.tolist() == [4]
    again = split_half_reliability(both, images="normalizer", n_splits=20)
    np.testing.assert_array_equal(again.values, rel.values)
    other = split_half_reliability(both, images="normalizer", n_splits=20, seed=9)
    assert not np.array_equal(other.values, rel.values)


def test_time_bins_and_errors():
    r = make_session_rates(n_sites=3, n_images=8, n_normalizers=2, n_time_bins=2)
    rel = split_half_reliability(r, n_splits=5)
    assert rel.dims == ("session", "site", "time_bin")
    for t in range(2):
        np.testing.assert_allclose(rel.values[0, :, t], split_half_reliability(r.isel(time_bin=t), n_splits=5).values[0])
    with pytest.raises(NeuroitError, match="images"):
        split_half_reliability(r, images="some")
    with pytest.raises(NeuroitError, match="n_splits"):
        split_half_reliability(r, n_splits=0)
    few = split_half_reliability(r, images=["img_000", "img_001"], n_splits=3)
    assert np.isnan(few.values).all()
