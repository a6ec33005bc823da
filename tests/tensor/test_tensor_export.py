"""Brain-Score and NWB exports."""
import os

import numpy as np
import pandas as pd
import pytest

from neuroit.errors import NeuroitError
from neuroit.tensor import average_repetitions, merge_sessions, to_brainscore, to_netcdf, to_nwb
from neuroit.tensor._testing import make_session_rates


def test_brainscore_presentation_level():
    r = make_session_rates(n_sites=5, n_images=4, n_normalizers=2)
    bs = to_brainscore(r)
    assert bs.dims == ("presentation", "neuroid", "time_bin")
    assert bs.shape == (r.sizes["presentation"], 5, 1)
    np.testing.assert_array_equal(bs.values[:, :, 0], r.values)
    for c in ("stimulus_id", "object_label", "repetition", "image_file", "domain", "session"):
        assert bs[c].dims == ("presentation",)
        assert list(bs[c].values) == list(r[c].values)
    for c in ("neuroid_id", "region", "subregion", "animal", "arr", "elec"):
        assert bs[c].dims == ("neuroid",)
    assert list(bs["neuroid_id"].values) == list(r["site"].values)
    assert set(bs["region"].values) == {"IT"}
    assert list(bs["subregion"].values) == ["pIT"] * 4 + ["cIT"]
    assert list(bs["time_bin_start"].values) == [70] and list(bs["time_bin_end"].values) == [170]
    assert bs.attrs["stimulus_set_identifier"] == "neuroit" and bs.attrs["identifier"] == "neuroit.pico"
    assert not bs.indexes  # plain coordinates: brainio's NeuroidAssembly builds its own MultiIndexes


def test_brainscore_time_bins_and_averaged():
    r = make_session_rates(n_sites=3, n_images=4, n_normalizers=2, n_time_bins=3)
    bs = to_brainscore(r)
    assert bs.shape == (r.sizes["presentation"], 3, 3)
    assert list(bs["time_bin_start"].values) == [70, 90, 110] and list(bs["time_bin_end"].values) == [90, 110, 130]
    m = merge_sessions([r, make_session_rates(n_sites=3, n_images=6, n_normalizers=2, n_time_bins=3,
                                              session="s2", seed=4)])
    bm = to_brainscore(m, stimulus_set_identifier="neuroit.domain_transfer")
    assert bm.dims == ("presentation", "neuroid", "time_bin")
    assert list(bm["stimulus_id"].values) == list(m["stimulus_id"].values)
    assert (bm["repetition"].values == 0).all() and bm.attrs["averaged_repetitions"] is True
    assert bm.attrs["stimulus_set_identifier"] == "neuroit.domain_transfer"
    a = average_repetitions(make_session_rates(n_sites=2, n_images=3, n_normalizers=1))
    assert to_brainscore(a, time_bin_ms=(50, 250))["time_bin_end"].item() == 250
    with pytest.raises(NeuroitError, match="session"):
        to_brainscore(merge_sessions([r, make_session_rates(n_sites=3, n_time_bins=3, session="x")], combine="stack"))


def _spike_dict(r, seed=0):
    rng = np.random.default_rng(seed)
    end = int(r["onset_sample"].max()) + 20000
    return {e: np.sort(rng.integers(0, end, 300)) for e in r["electrode"].values}


def _inspect(path):
    from nwbinspector import Importance, inspect_nwbfile

    messages = list(inspect_nwbfile(nwbfile_path=os.fspath(path)))
    serious = [m for m in messages if m.importance in (Importance.CRITICAL, Importance.PYNWB_VALIDATION,
                                                       Importance.ERROR)]
    return messages, serious


def test_nwb_passes_nwbinspector_and_reads_back(tmp_path):
    pytest.importorskip("pynwb")
    pytest.importorskip("nwbinspector")
    from pynwb import NWBHDF5IO

    r = make_session_rates(n_sites=6, n_images=4, n_normalizers=2, n_repetitions=3)
    r = r.isel(presentation=np.random.default_rng(1).permutation(r.sizes["presentation"]))  # unsorted input
    trains = _spike_dict(r)
    path = to_nwb(r, tmp_path / "s1.nwb", spike_trains=trains, sampling_rate=20000.0,
                  subject={"age": "P6Y"}, metadata={"institution": "Test lab", "experimenter": ["Doe, Jane"]})
    assert os.listdir(tmp_path) == ["s1.nwb"]
    messages, serious = _inspect(path)
    assert not serious, [(m.importance, m.message) for m in serious]
    with NWBHDF5IO(os.fspath(path), "r") as io:
        f = io.read()
        el = f.electrodes.to_dataframe()
        assert list(el["site"]) == list(r["site"].values)
        assert list(el["array"]) == list(r["array"].values) and list(el["port"]) == ["A"] * 6
        assert list(el["region"]) == list(r["region"].values)
        units = f.units.to_dataframe()
        assert len(units) == 6
        np.testing.assert_allclose(units["spike_times"].iloc[2], trains["A-002"] / 20000.0)
        trials = f.trials.to_dataframe()
        order = np.argsort(r["onset_sample"].values)
        np.testing.assert_allclose(trials["start_time"], r["onset_sample"].values[order] / 20000.0)
        np.testing.assert_allclose(trials["stop_time"] - trials["start_time"], 0.1)
        assert list(trials["stimulus_id"]) == list(r["stimulus_id"].values[order])
        assert list(trials["fixation_correct"]) == list(r["fixation_correct"].values[order])
        np.testing.assert_allclose(np.stack(trials["rate"].to_numpy()), r.values[order])
        assert f.subject.subject_id == "pico" and f.session_id == "s1"


def test_nwb_from_saved_tensor_with_electrode_table(tmp_path):
    pytest.importorskip("pynwb")
    r = make_session_rates(n_sites=3, n_images=3, n_normalizers=1, n_repetitions=2)
    saved = to_netcdf(r, tmp_path / "r.nc")
    # the full electrode table of the arrays (4 channels, one without a rate), like the simulator's sites table
    table = pd.DataFrame({"site": [f"pico/A-{i:03d}" for i in range(4)], "channel": [f"A-{i:03d}" for i in range(4)],
                          "array": [0, 0, 0, 0], "port": ["A"] * 4, "region": ["posterior"] * 4})
    path = to_nwb(saved, tmp_path / "s.nwb", electrodes=table, spike_trains=_spike_dict(r), sampling_rate=20000.0)
    _, serious = _inspect(path)
    assert not serious
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(os.fspath(path), "r") as io:
        f = io.read()
        rate = np.stack(f.trials.to_dataframe()["rate"].to_numpy())
        assert rate.shape == (r.sizes["presentation"], 4) and np.isnan(rate[:, 3]).all()
        assert len(f.units) == 3


def test_nwb_errors_leave_no_file(tmp_path):
    pytest.importorskip("pynwb")
    r = make_session_rates(n_sites=2, n_images=2, n_normalizers=1)
    with pytest.raises(NeuroitError, match="onset_sample"):
        to_nwb(r.drop_vars("onset_sample"), tmp_path / "x.nwb")
    import xarray as xr

    both = xr.concat([r, make_session_rates(n_sites=2, n_images=2, n_normalizers=1, session="s2")], "presentation")
    with pytest.raises(NeuroitError, match="one session"):
        to_nwb(both, tmp_path / "x.nwb")
    with pytest.raises(NeuroitError, match="spike train"):
        to_nwb(r, tmp_path / "x.nwb", spike_trains={"Z-999": np.array([1, 2])}, sampling_rate=20000.0)
    assert os.listdir(tmp_path) == []
