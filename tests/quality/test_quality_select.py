"""select_sites report, and the site-quality figure."""
import os

import numpy as np
import pytest
import xarray as xr

from neuroit.errors import NeuroitError
from neuroit.quality import plot_site_quality, select_sites, zscore_to_normalizer
from neuroit.tensor import merge_sessions
from neuroit.tensor._testing import make_session_rates


@pytest.fixture(scope="module")
def two_days():
    d1 = make_session_rates(n_sites=8, n_images=20, n_normalizers=12, session="d1", seed=1, unstable_sites=[2])
    # site 5 is reliable on day 1 only; site 6 is stable but the experiment images carry no signal for it
    d2 = make_session_rates(n_sites=8, n_images=20, n_normalizers=12, session="d2", seed=2, gain=2.0,
                            date="2026-01-06", unstable_sites=[2, 5])
    both = xr.concat([d1, d2], "presentation")
    vals = both.values.copy()
    exp = ~both["is_normalizer"].values
    vals[exp, 6] = np.random.default_rng(0).normal(20, 8, exp.sum())
    return zscore_to_normalizer(both.copy(data=vals))


def test_unstable_sites_dropped_with_reasons(two_days):
    report = select_sites(two_days, n_splits=30)
    assert list(report["site"]) == list(two_days["site"].values)
    assert {"site", "electrode", "array", "region", "r_normalizer_d1", "r_normalizer_d2", "r_normalizer_min",
            "r_experiment", "kept", "reason"} <= set(report.columns)
    assert list(report["kept"]) == [True, True, False, True, True, False, False, True]
    reason = dict(zip(report["site"], report["reason"]))
    assert reason["pico/A-000"] == "kept"
    assert "in session d1" in reason["pico/A-002"] and "in session d2" in reason["pico/A-002"]
    assert "in session d2" in reason["pico/A-005"] and "in session d1" not in reason["pico/A-005"]
    assert reason["pico/A-006"].startswith("r_experiment")
    assert report.attrs["select_sites"]["normalizer_threshold"] == 0.75
    np.testing.assert_allclose(report["r_normalizer_min"], report[["r_normalizer_d1", "r_normalizer_d2"]].min(axis=1))
    # thresholds are configurable; None skips a criterion
    loose = select_sites(two_days, n_splits=30, normalizer_threshold=None, experiment_threshold=-1.0)
    assert loose["kept"].all() and "r_normalizer_min" not in loose.columns
    # the report picks the stable sites of a merge
    merged = merge_sessions([two_days.where(two_days["session"] == s, drop=True) for s in ("d1", "d2")],
                            sites=report)
    assert list(merged["site"].values) == list(report.loc[report["kept"], "site"])


def test_select_errors():
    r = make_session_rates(n_sites=2, n_time_bins=2)
    with pytest.raises(NeuroitError, match="time_bin"):
        select_sites(r)
    with pytest.raises(NeuroitError, match="presentation"):
        select_sites(r.isel(time_bin=0).values)


def test_plot_site_quality_writes_png_and_svg(tmp_path, two_days):
    report = select_sites(two_days, n_splits=10)
    paths = plot_site_quality(report, two_days, tmp_path / "fig" / "quality.png")
    assert [p.name for p in paths] == ["quality.png", "quality.svg"]
    assert sorted(os.listdir(tmp_path / "fig")) == ["quality.png", "quality.svg"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in paths[1].read_bytes()[:2000]
    merged = merge_sessions([two_days.where(two_days["session"] == s, drop=True) for s in ("d1", "d2")],
                            combine="stack")
    assert len(plot_site_quality(report, merged, tmp_path / "stack", formats=("png",))) == 1
    with pytest.raises(NeuroitError, match="report"):
        plot_site_quality(report.drop(columns="kept"), two_days, tmp_path / "x")
