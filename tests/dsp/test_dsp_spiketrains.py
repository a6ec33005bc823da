"""The SpikeTrains container."""
import numpy as np
import pytest

from neuroit.dsp import SpikeTrains
from neuroit.errors import FileFormatError, NeuroitError


def _st():
    return SpikeTrains.from_lists([[5, 1, 9], [], [2]], sampling_rate=20000.0, channel_names=["A-000", "A-001", "B-000"],
                                  attrs={"threshold": 3.0, "noise_uv": np.array([1.0, 2.0, np.inf]), "duration_s": 1.0})


def test_indexing_counts_and_iteration():
    st = _st()
    assert len(st) == 3
    np.testing.assert_array_equal(st[0], [1, 5, 9])
    np.testing.assert_array_equal(st["B-000"], [2])
    assert st[1].size == 0 and st[-1][0] == 2
    np.testing.assert_array_equal(st.counts(), [3, 0, 1])
    np.testing.assert_array_equal(st.rates(), [3, 0, 1])
    assert [t.size for t in st] == [3, 0, 1]
    np.testing.assert_allclose(st.times_s("A-000"), np.array([1, 5, 9]) / 20000.0)
    assert st.samples.dtype == np.int64 and st.offsets.tolist() == [0, 3, 3, 4]
    assert "3 channels" in repr(st)


def test_bad_keys_and_arrays():
    st = _st()
    with pytest.raises(NeuroitError):
        st["C-000"]
    with pytest.raises(NeuroitError):
        st[3]
    with pytest.raises(NeuroitError):
        SpikeTrains(np.arange(3), np.array([0, 2]), sampling_rate=1.0, channel_names=["a", "b"])
    with pytest.raises(NeuroitError):
        SpikeTrains(np.arange(3), np.array([0, 4, 3]), sampling_rate=1.0, channel_names=["a", "b"])


def test_save_load_roundtrip(tmp_path):
    st = _st()
    path = tmp_path / "st.npz"
    st.save(path)
    back = SpikeTrains.load(path)
    assert back == st
    assert back.attrs["threshold"] == 3.0 and back.attrs["noise_uv"] == [1.0, 2.0, "inf"]
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(FileFormatError):
        SpikeTrains.load(tmp_path / "bad.npz")
