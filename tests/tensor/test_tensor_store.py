"""NetCDF / Zarr round trips with provenance attrs, checksums, and atomic writes."""
import hashlib
import os

import numpy as np
import pytest
import xarray as xr

from neuroit.errors import FileFormatError
from neuroit.tensor import average_repetitions, merge_sessions, open_tensor, to_netcdf, to_zarr
from neuroit.tensor._testing import make_session_rates
from neuroit.tensor.store import neuroit_version


@pytest.fixture()
def merged():
    d1 = make_session_rates(n_sites=4, n_images=6, n_normalizers=2, session="d1", seed=1)
    d2 = make_session_rates(n_sites=4, n_images=9, n_normalizers=2, session="d2", date="2026-01-06", seed=2)
    m = merge_sessions([d1, d2])
    m.attrs.update(flag=True, nothing=None, nested={"a": [1, 2], "b": {"c": "x"}}, window_ms=(70, 170),
                   array_attr=np.arange(3), seed=7)
    return m


@pytest.fixture()
def inputs(tmp_path):
    folder = tmp_path / "session"
    (folder / "intan").mkdir(parents=True)
    (folder / "intan" / "amp-A-000.dat").write_bytes(os.urandom(3000))
    (folder / "stimuli.csv").write_text("stimulus_id\nimg_000\n")
    log = tmp_path / "log.csv"
    log.write_text("time_us,stimulus_id\n0,img_000\n")
    return folder, log


def _check_roundtrip(back, original, files):
    xr.testing.assert_identical(back.drop_attrs(), original.drop_attrs())
    assert back.name == original.name
    a = back.attrs
    assert a["flag"] is True and a["nothing"] is None and a["seed"] == 7
    assert a["nested"] == {"a": [1, 2], "b": {"c": "x"}}
    assert a["window_ms"] == [70, 170] and a["array_attr"] == [0, 1, 2]
    assert a["merge_sessions"] == original.attrs["merge_sessions"]
    assert a["sessions"] == ["d1", "d2"]
    assert a["neuroit_version"] == neuroit_version() == "0.1.0"
    got = {e["path"]: e["sha256"] for e in a["inputs"]}
    assert got == {os.fspath(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
    assert back["stimulus_id"].dtype == object and back["is_normalizer"].dtype == bool


def test_netcdf_roundtrip_with_attrs_and_checksums(tmp_path, merged, inputs):
    folder, log = inputs
    path = to_netcdf(merged, tmp_path / "out" / "pico.nc", inputs=[folder, log])
    files = sorted(p for p in folder.rglob("*") if p.is_file()) + [log]
    back = open_tensor(path)
    _check_roundtrip(back, merged, files)
    assert back.attrs["writer"]["function"] == "to_netcdf"
    with xr.open_dataset(path, engine="h5netcdf") as ds:  # plain xarray reads it too; attrs are strings/numbers
        assert all(isinstance(v, (str, int, float, np.number)) for v in ds["rate"].attrs.values())
    assert sorted(os.listdir(path.parent)) == ["pico.nc"]


def test_zarr_roundtrip(tmp_path, merged, inputs):
    folder, log = inputs
    path = to_zarr(merged, tmp_path / "pico.zarr", inputs=[log])
    back = open_tensor(path)
    _check_roundtrip(back, merged, [log])
    # rewriting replaces the store atomically
    to_zarr(merged.isel(site=[0]), path, inputs=[log])
    assert open_tensor(path).sizes["site"] == 1
    assert sorted(os.listdir(tmp_path)) == ["log.csv", "pico.zarr", "session"]


def test_presentation_tensor_roundtrip(tmp_path):
    r = make_session_rates(n_sites=3, n_images=4, n_normalizers=2, n_time_bins=2)
    back = open_tensor(to_netcdf(r, tmp_path / "r.nc"))
    xr.testing.assert_identical(back.drop_attrs(), r.drop_attrs())
    assert back.attrs["inputs"] == [] and back.attrs["window_ms"] == [70, 170]
    np.testing.assert_array_equal(average_repetitions(back).values, average_repetitions(r).values)


@pytest.mark.parametrize("writer,name", [(to_netcdf, "t.nc"), (to_zarr, "t.zarr")])
def test_failed_write_leaves_no_file_and_keeps_old(tmp_path, writer, name):
    r = make_session_rates(n_sites=2, n_images=2, n_normalizers=1)
    bad = r.copy(data=r.values.astype(object))
    bad.values[5, 1] = {"not": "a number"}  # fails while the file is being encoded/written
    with pytest.raises(ValueError):
        writer(bad, tmp_path / name)
    assert os.listdir(tmp_path) == []  # no file, no temporary file
    writer(r, tmp_path / name)
    with pytest.raises(ValueError):
        writer(bad, tmp_path / name)
    assert os.listdir(tmp_path) == [name]
    xr.testing.assert_identical(open_tensor(tmp_path / name).drop_attrs(), r.drop_attrs())


def test_open_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        open_tensor(tmp_path / "missing.nc")
    junk = tmp_path / "junk.nc"
    junk.write_text("not netcdf")
    with pytest.raises(FileFormatError, match="junk.nc"):
        open_tensor(junk)
    with pytest.raises(FileNotFoundError):
        to_netcdf(make_session_rates(n_sites=1, n_images=1, n_normalizers=1), tmp_path / "x.nc",
                  inputs=[tmp_path / "nope.bin"])
