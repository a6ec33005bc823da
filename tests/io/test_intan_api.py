"""Laziness, random slices, the SpikeInterface adapter, ``describe`` and ``neuroit info``."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from neuroit.cli import main
from neuroit.io import IntanWriter, NumpyRecording, describe, from_spikeinterface, read_intan, write_intan
from neuroit.io import _intan_header as ih

REPO = Path(__file__).resolve().parents[2]


def test_opening_a_large_file_reads_only_header_and_end_timestamps(tmp_path):
    """A 2 GiB sparse file whose middle is all zeros: a reader that looked at the samples or every
    timestamp would see ~zero timestamps (gaps); read_intan only maps them."""
    path = tmp_path / "big.rhd"
    with IntanWriter(path, layout="traditional", amplifier_channels=[f"A-{i:03d}" for i in range(64)]) as w:
        w.write(amplifier=np.ones((128, 64), np.int16))
    h = ih.parse_header(path)
    dtype = ih.block_dtype(h, ih.stream_specs(h, "traditional"))
    n_blocks = (2 << 30) // dtype.itemsize
    last = np.zeros(1, dtype)
    last["timestamp"] = np.arange(128 * (n_blocks - 1), 128 * n_blocks)
    with open(path, "r+b") as f:
        f.seek(h.size + (n_blocks - 1) * dtype.itemsize)
        f.write(last.tobytes())
    rec = read_intan(path)
    assert rec.n_samples == n_blocks * 128 and rec.gaps == ()
    np.testing.assert_array_equal(rec.traces(start=0, stop=128, scaled=False), 32768 + 1)
    np.testing.assert_allclose(rec.traces(start=0, stop=128), 0.195)
    mid = rec.n_samples // 2
    np.testing.assert_array_equal(rec.traces(start=mid, stop=mid + 10, scaled=False), 0)  # the sparse hole


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    base = tmp_path_factory.mktemp("slices")
    rng = np.random.default_rng(3)
    n = 128 * 5 + 17
    data = dict(amplifier=rng.integers(-3000, 3000, (n, 6)).astype(np.int16),
                aux=rng.integers(0, 65536, (n, 3)).astype(np.uint16),
                adc=rng.integers(0, 65536, (n, 2)).astype(np.uint16),
                digital_in=rng.integers(0, 65536, n).astype(np.uint16))
    out = {}
    for layout in ("traditional", "per_signal", "per_channel"):
        target = base / ("r.rhd" if layout == "traditional" else layout)
        with pytest.warns(UserWarning) if layout == "traditional" else _Quiet():
            write_intan(target, layout=layout, samples_per_file=256 if layout != "traditional" else None,
                        digital_in_channels=["DIGITAL-IN-01", "DIGITAL-IN-04", "DIGITAL-IN-16"], **data)
        out[layout] = read_intan(target)
    return out


class _Quiet:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layout=st.sampled_from(["traditional", "per_signal", "per_channel"]),
       stream=st.sampled_from(["amplifier", "aux", "adc", "digital_in"]),
       a=st.integers(0, 700), b=st.integers(0, 700), pick=st.lists(st.integers(0, 5), max_size=4),
       scaled=st.booleans())
def test_any_slice_equals_the_full_read(recordings, layout, stream, a, b, pick, scaled):
    rec = recordings[layout]
    s = rec.streams[stream]
    start, stop = sorted((min(a, s.n_samples), min(b, s.n_samples)))
    chans = [p % s.n_channels for p in pick] or None
    full = rec.traces(stream, scaled=scaled)
    part = rec.traces(stream, start, stop, channels=chans, scaled=scaled)
    expected = full[start:stop] if chans is None else full[start:stop][:, chans]
    np.testing.assert_array_equal(part, expected)
    assert part.dtype == (np.float64 if scaled else s.raw_dtype)


def test_channels_by_name_and_timestamps(recordings):
    rec = recordings["per_channel"]
    np.testing.assert_array_equal(rec.traces(channels=["A-004", "A-001"]), rec.traces()[:, [4, 1]])
    np.testing.assert_array_equal(rec.timestamps(100, 300), np.arange(100, 300))
    assert rec.streams["amplifier"].channel_info["port"].tolist() == ["A"] * 6
    assert len(rec.files) == 3


def test_from_spikeinterface_matches_the_native_reader(tmp_path):
    se = pytest.importorskip("spikeinterface.extractors")
    amp = np.random.default_rng(4).integers(-3000, 3000, (640, 4)).astype(np.int16)
    write_intan(tmp_path / "rec.rhd", layout="traditional", amplifier=amp)
    native = read_intan(tmp_path / "rec.rhd")
    si = se.read_intan(str(tmp_path / "rec.rhd"), stream_id="0")
    rec = from_spikeinterface(si)
    assert rec.sampling_rate == 20000.0 and rec.n_samples == 640
    assert rec.channel_names["amplifier"] == native.channel_names["amplifier"]
    np.testing.assert_array_equal(rec.traces(start=10, stop=90, channels=[3, 1], scaled=False),
                                  native.traces(start=10, stop=90, channels=[3, 1], scaled=False))
    np.testing.assert_allclose(rec.traces(), native.traces(), rtol=1e-9, atol=1e-9)
    # a plain SpikeInterface NumpyRecording with its own gains
    from spikeinterface.core import NumpyRecording as SINumpy

    si2 = SINumpy([amp], sampling_frequency=30000.0)
    si2.set_channel_gains(0.25)
    si2.set_channel_offsets(-1.0)
    rec2 = from_spikeinterface(si2)
    np.testing.assert_allclose(rec2.traces(channels=[0]), amp[:, [0]] * 0.25 - 1.0)
    assert "SpikeInterface" in describe(rec2)


def test_describe_summarises_header(tmp_path):
    target = tmp_path / "sess"
    with IntanWriter(target, layout="per_channel", amplifier_channels=["A-000", "A-001", "B-000"],
                     adc_channels=["ANALOG-IN-1"], digital_in_channels=["DIGITAL-IN-02"], notes=("hello", "", "x"),
                     disabled_channels=["A-002"], timestamp_gaps={50: 20}) as w:
        w.write(amplifier=np.zeros((100, 3), np.int16))
    with pytest.warns(UserWarning, match="gap"):
        text = describe(read_intan(target))
    for piece in ("Intan RHD2000 recording, header version 3.3, one file per channel", "sampling rate: 20000 Hz",
                  "duration: 0.005 s (100 samples", "amplifier       3 ch", "adc             1 ch",
                  "digital_in      1 ch", "notes: hello | x", "disabled: 1 channel(s) A-002",
                  "gaps: 1", "at sample 50 (0.003 s): 20 samples missing", str(target)):
        assert piece in text, piece
    assert "in memory" in describe(NumpyRecording(np.zeros((10, 2), np.int16), 1000.0))


def test_cli_info(tmp_path, capsys):
    target = tmp_path / "sess"
    write_intan(target, layout="per_signal", amplifier=np.zeros((64, 2), np.int16), notes=("rig 3",))
    assert main(["info", str(target)]) == 0
    out = capsys.readouterr().out
    assert "one file per signal type" in out and "notes: rig 3" in out
    assert main(["info", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No such file" in err
    bad = tmp_path / "bad.rhd"
    bad.write_bytes(b"\x00" * 12)
    assert main(["info", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neuroit info: error:") and "magic number" in err and err.count("\n") == 1


def test_cli_info_subprocess(tmp_path):
    target = tmp_path / "s.rhd"
    write_intan(target, layout="traditional", amplifier=np.zeros((128, 1), np.int16))
    exe = Path(sys.executable).with_name("neuroit")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "neuroit.cli"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(cmd + ["info", str(target)], capture_output=True, text=True, cwd=REPO, env=env)
    assert done.returncode == 0, done.stderr
    assert "header-attached" in done.stdout and "128 samples" in done.stdout
    bad = subprocess.run(cmd + ["info", str(tmp_path / "nope")], capture_output=True, text=True, cwd=REPO, env=env)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


@settings(max_examples=15, deadline=None)
@given(layout=st.sampled_from(["traditional", "per_signal", "per_channel"]),
       version=st.sampled_from([(1, 0), (3, 0)]), cuts=st.lists(st.integers(0, 700), max_size=6))
def test_writer_output_does_not_depend_on_chunking(layout, version, cuts):
    import tempfile
    import warnings

    rng = np.random.default_rng(5)
    n = 700
    data = dict(amplifier=rng.integers(-999, 999, (n, 3)).astype(np.int16),
                aux=rng.integers(0, 65536, (n, 3)).astype(np.uint16),
                digital_in=rng.integers(0, 2, (n, 2)).astype(np.uint16))
    kw = dict(layout=layout, version=version, amplifier_channels=["A-000", "A-001", "A-002"],
              aux_channels=["A-AUX1", "A-AUX2", "A-AUX3"], digital_in_channels=["DIGITAL-IN-01", "DIGITAL-IN-02"],
              eval_board_mode=0)
    bounds = sorted({0, n, *cuts})
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the dropped partial block of header-attached files
        name = "x.rhd" if layout == "traditional" else "x"
        one, many = Path(tmp, "one", name), Path(tmp, "many", name)
        write_intan(one, **data, **kw)
        with IntanWriter(many, **kw) as w:
            for a, b in zip(bounds[:-1], bounds[1:]):
                w.write(**{k: v[a:b] for k, v in data.items()})
        files = sorted(p.relative_to(one) for p in one.rglob("*")) if one.is_dir() else [Path()]
        assert files == (sorted(p.relative_to(many) for p in many.rglob("*")) if many.is_dir() else [Path()])
        for f in files:
            assert (one / f).read_bytes() == (many / f).read_bytes(), f
