"""Bad Intan input gives one clear FileFormatError; split sessions and timestamp gaps."""
from __future__ import annotations

import os
import struct
import warnings

import numpy as np
import pytest

from neuroit.errors import FileFormatError, NeuroitError
from neuroit.io import IntanWriter, read_intan, write_intan

neo_rawio = pytest.importorskip("neo.rawio")


def _amp(n=512, ch=3, seed=0):
    return np.random.default_rng(seed).integers(-2000, 2000, (n, ch)).astype(np.int16)


def _one_line(exc) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


@pytest.fixture
def rhd(tmp_path):
    path = tmp_path / "rec.rhd"
    write_intan(path, layout="traditional", amplifier=_amp(), digital_in=np.zeros(512, np.uint16))
    return path


def test_wrong_magic_number(tmp_path, rhd):
    data = bytearray(rhd.read_bytes())
    data[:4] = struct.pack("<I", 0x12345678)
    bad = tmp_path / "bad.rhd"
    bad.write_bytes(data)
    with pytest.raises(FileFormatError, match="magic number 0x12345678") as e:
        read_intan(bad)
    assert str(bad) in _one_line(e)
    rhs = tmp_path / "renamed.rhs"  # an .rhd file under an .rhs name
    rhs.write_bytes(rhd.read_bytes())
    with pytest.raises(FileFormatError, match=r"that of an \.rhd file"):
        read_intan(rhs)


def test_unknown_version(tmp_path, rhd):
    data = bytearray(rhd.read_bytes())
    data[4:8] = struct.pack("<hh", 1, 7)
    bad = tmp_path / "v17.rhd"
    bad.write_bytes(data)
    with pytest.raises(FileFormatError, match="unknown Intan .rhd header version 1.7") as e:
        read_intan(bad)
    _one_line(e)


@pytest.mark.parametrize("cut", [2, 6, 30, 60, 120])
def test_header_cut_short(tmp_path, rhd, cut):
    bad = tmp_path / "short.rhd"
    bad.write_bytes(rhd.read_bytes()[:cut])
    with pytest.raises(FileFormatError, match="header is cut short") as e:
        read_intan(bad)
    _one_line(e)


def test_truncated_mid_block_reads_whole_blocks_with_warning(tmp_path, rhd):
    full = read_intan(rhd)
    bad = tmp_path / "trunc.rhd"
    bad.write_bytes(rhd.read_bytes()[:-1000])
    with pytest.warns(UserWarning, match=r"incomplete data block .* dropped its 128 samples"):
        rec = read_intan(bad)
    assert rec.n_samples == full.n_samples - 128
    np.testing.assert_array_equal(rec.traces(), full.traces(stop=rec.n_samples))
    with pytest.raises(FileFormatError, match="incomplete data block"):
        read_intan(bad, strict=True)


def test_missing_companion_dat(tmp_path):
    folder = tmp_path / "pc"
    write_intan(folder, layout="per_channel", amplifier=_amp(), adc=np.zeros((512, 1)))
    os.remove(folder / "amp-A-001.dat")
    with pytest.raises(FileFormatError, match="missing companion .dat file.*amp-A-001.dat") as e:
        read_intan(folder)
    _one_line(e)
    folder2 = tmp_path / "ps"
    write_intan(folder2, layout="per_signal", amplifier=_amp(), adc=np.zeros((512, 1)))
    os.remove(folder2 / "time.dat")
    with pytest.raises(FileFormatError, match="time.dat"):
        read_intan(folder2)


@pytest.mark.parametrize("layout,victim", [("per_channel", "amp-A-002.dat"), ("per_signal", "analogin.dat")])
def test_dat_files_of_unequal_length(tmp_path, layout, victim):
    folder = tmp_path / layout
    write_intan(folder, layout=layout, amplifier=_amp(), adc=np.zeros((512, 1)))
    with open(folder / victim, "r+b") as f:
        f.truncate(2 * 100)
    with pytest.raises(FileFormatError, match=f"unequal length.*{victim} \\(100 samples\\)") as e:
        read_intan(folder)
    _one_line(e)


def test_dat_partial_sample_warns(tmp_path):
    folder = tmp_path / "ps"
    write_intan(folder, layout="per_signal", amplifier=_amp())
    for name in ("amplifier.dat", "time.dat"):
        with open(folder / name, "ab") as f:
            f.write(b"\x01")
    with pytest.warns(UserWarning, match="partial sample"):
        assert read_intan(folder).n_samples == 512


def test_not_intan_paths(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(FileFormatError, match="not an Intan file"):
        read_intan(tmp_path / "notes.txt")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileFormatError, match="no Intan data here"):
        read_intan(empty)
    with pytest.raises(FileNotFoundError):
        read_intan(tmp_path / "nope.rhd")


def test_reading_writes_nothing_into_input_folders(tmp_path):
    folder = tmp_path / "pc"
    write_intan(folder, layout="per_channel", amplifier=_amp(), digital_in=np.zeros(512, np.uint16))
    before = {p: p.stat().st_mtime_ns for p in folder.iterdir()}
    rec = read_intan(folder)
    rec.traces()
    rec.timestamps()
    assert {p: p.stat().st_mtime_ns for p in folder.iterdir()} == before


def test_writer_rejects_bad_parameters(tmp_path):
    with pytest.raises(NeuroitError, match="layout"):
        IntanWriter(tmp_path / "x", layout="zip")
    with pytest.raises(NeuroitError, match="version"):
        IntanWriter(tmp_path / "x", version=(1, 9))
    with pytest.raises(NeuroitError, match="traditional"):
        IntanWriter(tmp_path / "x", layout="per_channel", temperature_sensors=1, amplifier_channels=["A-000"])
    with pytest.raises(NeuroitError, match="unique"):
        IntanWriter(tmp_path / "x", amplifier_channels=["A-000", "A-000"])
    with pytest.raises(NeuroitError, match="multiple of the block size"):
        IntanWriter(tmp_path / "x.rhd", layout="traditional", samples_per_file=1000, amplifier_channels=["A-000"])
    with pytest.raises(NeuroitError, match="ending in .rhd"):
        IntanWriter(tmp_path / "x.dat", layout="traditional", amplifier_channels=["A-000"])
    with IntanWriter(tmp_path / "y", amplifier_channels=["A-000"]) as w:
        with pytest.raises(NeuroitError, match=r"\(samples, 1\)"):
            w.write(amplifier=np.zeros((10, 2), np.int16))
        with pytest.raises(NeuroitError, match="no adc channels"):
            w.write(adc=np.zeros((10, 1)))


def test_writer_error_inside_with_leaves_no_output(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with IntanWriter(target, amplifier_channels=["A-000"]) as w:
            w.write(amplifier=np.zeros((10, 1), np.int16))
            raise RuntimeError("boom")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


# -- split sessions and gaps -----------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["traditional", "per_signal", "per_channel"])
def test_split_session_reads_as_one_recording(tmp_path, layout):
    amp = _amp(n=128 * 10, ch=2)
    din = (np.arange(amp.shape[0]) % 7 == 0).astype(np.uint16) << 1
    target = tmp_path / ("rec.rhd" if layout == "traditional" else "rec")
    with IntanWriter(target, layout=layout, samples_per_file=128 * 4, amplifier_channels=["A-000", "A-001"],
                     digital_in_channels=["DIGITAL-IN-02"], timestamp_start=-256) as w:
        for chunk in np.array_split(np.arange(amp.shape[0]), 7):  # chunks that straddle blocks and files
            w.write(amplifier=amp[chunk], digital_in=din[chunk])
    assert len(w.files) == 3
    src = tmp_path if layout == "traditional" else target
    rec = read_intan(src)
    assert rec.files == tuple(w.files)
    assert rec.gaps == ()
    assert rec.n_samples == amp.shape[0]
    raw = rec.traces(scaled=False).astype(np.int32) - (32768 if layout == "traditional" else 0)
    np.testing.assert_array_equal(raw, amp)
    np.testing.assert_array_equal(rec.traces("digital_in")[:, 0], din >> 1)
    np.testing.assert_array_equal(rec.timestamps(), np.arange(amp.shape[0]) - 256)
    assert read_intan(list(w.files)).n_samples == amp.shape[0]  # a list of the files works too
    # each file on its own agrees with Neo
    for k, f in enumerate(w.files):
        info = f if layout == "traditional" else os.path.join(f, "info.rhd")
        r = neo_rawio.IntanRawIO(filename=info)
        r.parse_header()
        part = read_intan(f).traces(scaled=False)
        np.testing.assert_array_equal(r.get_analogsignal_chunk(0, 0, None, None, 0), part)


@pytest.mark.parametrize("layout", ["traditional", "per_channel"])
def test_gaps_within_and_between_files_are_reported(tmp_path, layout):
    n = 128 * 8
    target = tmp_path / ("rec.rhd" if layout == "traditional" else "rec")
    gaps = {128 * 2: 1000, 128 * 4: 50, 128 * 6 + 3: 7}  # 512 starts file 2: a gap between files
    with IntanWriter(target, layout=layout, samples_per_file=128 * 4, amplifier_channels=["A-000"],
                     timestamp_gaps=gaps) as w:
        w.write(amplifier=_amp(n=n, ch=1))
    src = tmp_path if layout == "traditional" else target
    with pytest.warns(UserWarning, match=r"3 gap\(s\) \(1057 samples missing"):
        rec = read_intan(src)
    assert len(w.files) == 2  # two full files, no empty third one
    assert [(g.sample, g.n_missing) for g in rec.gaps] == [(256, 1000), (512, 50), (771, 7)]
    assert rec.gaps[1].file == w.files[1] and rec.gaps[0].file == w.files[0]
    assert rec.n_samples == n  # samples are not invented for the gaps
    # Neo refuses the discontinuous file; neuroit reports where and how long
    info = w.files[0] if layout == "traditional" else os.path.join(w.files[0], "info.rhd")
    r = neo_rawio.IntanRawIO(filename=info)
    with pytest.raises(Exception, match="not continuous"):
        r.parse_header()


def test_scan_timestamps_finds_hidden_gaps(tmp_path):
    # a gap and an overlap of equal size cancel out at the file ends: only a full scan sees them
    target = tmp_path / "rec"
    with IntanWriter(target, layout="per_signal", amplifier_channels=["A-000"], timestamp_gaps={100: 5, 200: -5}) as w:
        w.write(amplifier=_amp(n=300, ch=1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_intan(target).gaps == ()
    with pytest.warns(UserWarning, match="gap"):
        rec = read_intan(target, scan_timestamps=True)
    assert [(g.sample, g.n_missing) for g in rec.gaps] == [(100, 5), (200, -5)]


def test_split_files_must_match(tmp_path):
    write_intan(tmp_path / "a.rhd", layout="traditional", amplifier=_amp(n=256, ch=2))
    write_intan(tmp_path / "b.rhd", layout="traditional", amplifier=_amp(n=256, ch=3))
    with pytest.raises(FileFormatError, match=r"cannot continue the recording of .*a.rhd: its amplifier channels differ"):
        read_intan(tmp_path)


def test_writer_abort_removes_partial_output(tmp_path):
    w = IntanWriter(tmp_path / "p.rhd", layout="traditional", amplifier_channels=["A-000"])
    w.write(amplifier=np.zeros((300, 1), np.int16))
    w.abort()
    assert list(tmp_path.iterdir()) == []


def test_list_of_dat_files_names_their_folder_once(tmp_path):
    folder = tmp_path / "pc"
    write_intan(folder, layout="per_channel", amplifier=_amp(n=100, ch=2))
    rec = read_intan([folder / "amp-A-000.dat", folder / "amp-A-001.dat"])
    assert rec.files == (str(folder),) and rec.n_samples == 100


def test_split_files_of_different_versions_are_refused(tmp_path):
    write_intan(tmp_path / "a.rhd", layout="traditional", version=(3, 0), amplifier=_amp(n=256, ch=2))
    write_intan(tmp_path / "b.rhd", layout="traditional", version=(3, 1), amplifier=_amp(n=256, ch=2))
    with pytest.raises(FileFormatError, match="header version is 3.1, not 3.0"):
        read_intan(tmp_path)


def test_empty_writer_makes_a_valid_empty_recording(tmp_path):
    with IntanWriter(tmp_path / "e", layout="per_signal", amplifier_channels=["A-000"]):
        pass
    rec = read_intan(tmp_path / "e")
    assert rec.n_samples == 0 and rec.traces().shape == (0, 1)
