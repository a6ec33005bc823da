"""Intan files written by neuroit, read back by neuroit and by Neo's IntanRawIO, sample for sample.

Every layout (header-attached, one file per signal type, one file per channel) and every header
version is covered, RHD and RHS. Temperature sensors (which Neo 0.14.6 cannot read) are checked
against a direct NumPy decode of the data blocks.
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from neuroit.io import read_intan, write_intan

neo_rawio = pytest.importorskip("neo.rawio")

RHD_VERSIONS = [(1, 0), (1, 1), (1, 2), (1, 3), (2, 0), (3, 0), (3, 3)]
RHS_VERSIONS = [(1, 0), (3, 0), (3, 3)]
LAYOUTS = ["traditional", "per_signal", "per_channel"]
NEO_NAMES = {
    "RHD2000 amplifier channel": "amplifier", "RHD2000 auxiliary input channel": "aux",
    "RHD2000 supply voltage channel": "supply", "RHS2000 amplifier channel": "amplifier",
    "USB board ADC input channel": "adc", "USB board ADC output channel": "dac",
    "USB board digital input channel": "digital_in", "USB board digital output channel": "digital_out",
    "DC Amplifier channel": "dc_amplifier", "Stim channel": "stim",
}
# streams whose physical units are the same in Neo and neuroit (Neo: DC in mV with the opposite sign
# of Intan's −19.23 mV/code, stim in A; neuroit follows Intan: V and µA, checked separately below)
SAME_UNITS = {"amplifier", "aux", "supply", "adc", "dac", "digital_in", "digital_out"}


def rhd_data(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    return dict(
        amplifier=rng.integers(-6000, 6000, (n, 5)).astype(np.int16),
        aux=rng.integers(0, 65536, (n, 3)).astype(np.uint16),
        supply=rng.integers(0, 65536, (n, 1)).astype(np.uint16),
        adc=rng.integers(0, 65536, (n, 2)).astype(np.uint16),
        digital_in=rng.integers(0, 65536, n).astype(np.uint16),
        digital_out=rng.integers(0, 65536, n).astype(np.uint16),
    )


RHD_KW = dict(amplifier_channels=["A-000", "A-001", "A-003", "B-000", "B-005"],
              aux_channels=["A-AUX1", "A-AUX2", "A-AUX3"], supply_channels=["A-VDD1"],
              adc_channels=["ANALOG-IN-1", "ANALOG-IN-3"],
              digital_in_channels=["DIGITAL-IN-01", "DIGITAL-IN-02", "DIGITAL-IN-09"],
              digital_out_channels=["DIGITAL-OUT-04"],
              disabled_channels=["A-002", "ANALOG-IN-2", "DIGITAL-IN-03"], disabled_groups=["C"],
              notes=("monkey M", "IT arrays", ""))


def _target(tmp_path: Path, fmt: str, layout: str, version) -> Path:
    name = f"{fmt}_{layout}_{version[0]}{version[1]}"
    return tmp_path / (name + f".{fmt}" if layout == "traditional" else name)


def _neo(path: Path, fmt: str, layout: str):
    f = path if layout == "traditional" else path / f"info.{fmt}"
    r = neo_rawio.IntanRawIO(filename=str(f))
    r.parse_header()
    out = {}
    for i, name in enumerate(r.header["signal_streams"]["name"]):
        raw = r.get_analogsignal_chunk(0, 0, None, None, i)
        mine = NEO_NAMES[str(name)]
        if layout == "per_channel" and mine in ("dc_amplifier", "stim"):
            # Neo keeps these per-channel files in directory order; put its columns in channel order
            stems = [Path(m.filename).stem.split("-", 1)[1] for m in r._raw_data[str(name)]]
            order = np.argsort(stems)
            raw = raw[:, order]
        out[mine] = (raw, r.rescale_signal_raw_to_float(raw, stream_index=i, dtype="float64"))
    return out


def _expected_digital(words, channels):
    bits = [int(c.split("-")[-1]) - 1 for c in channels]
    return np.stack([(words >> b) & 1 for b in bits], axis=1).astype(np.uint16)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("version", RHD_VERSIONS, ids=lambda v: f"v{v[0]}.{v[1]}")
def test_rhd_matches_neo_and_input(tmp_path, layout, version):
    data = rhd_data()
    path = _target(tmp_path, "rhd", layout, version)
    kw = dict(RHD_KW)
    if version < (1, 3):
        kw["eval_board_mode"] = 0
    with pytest.warns(UserWarning) if layout == "traditional" and 1000 % (60 if version < (2, 0) else 128) else _nowarn():
        write_intan(path, fmt="rhd", layout=layout, version=version, **data, **kw)
    rec = read_intan(path)
    neo = _neo(path, "rhd", layout)
    assert set(neo) == set(rec.streams)
    for name, (neo_raw, neo_scaled) in neo.items():
        raw = rec.traces(name, scaled=False)
        np.testing.assert_array_equal(raw, neo_raw, err_msg=name)
        assert raw.dtype == neo_raw.dtype
        np.testing.assert_allclose(rec.traces(name), neo_scaled, rtol=1e-6, atol=1e-9, err_msg=name)
    # and against what was written
    B = 60 if version < (2, 0) else 128
    n = 1000 // B * B if layout == "traditional" else 1000
    assert rec.n_samples == n
    amp = rec.traces("amplifier", scaled=False).astype(np.int32)
    if layout == "traditional":
        amp -= 32768
    np.testing.assert_array_equal(amp, data["amplifier"][:n])
    np.testing.assert_allclose(rec.traces("amplifier"), data["amplifier"][:n] * 0.195)
    step_aux, step_sup = (4, B) if layout == "traditional" else (1, 1)
    np.testing.assert_array_equal(rec.traces("aux", scaled=False), data["aux"][:n:step_aux])
    np.testing.assert_array_equal(rec.traces("supply", scaled=False), data["supply"][:n:step_sup])
    assert rec.streams["aux"].sampling_rate == (5000.0 if layout == "traditional" else 20000.0)
    np.testing.assert_array_equal(rec.traces("digital_in", scaled=False),
                                  _expected_digital(data["digital_in"][:n], RHD_KW["digital_in_channels"]))
    np.testing.assert_array_equal(rec.traces("digital_out"),
                                  _expected_digital(data["digital_out"][:n], RHD_KW["digital_out_channels"]))
    # disabled channels/groups carry no data but are reported
    assert "A-002" not in rec.channel_names["amplifier"]
    assert rec.channel_names["adc"] == ("ANALOG-IN-1", "ANALOG-IN-3")
    assert rec.annotations["disabled_channels"] == ("A-002", "ANALOG-IN-2", "DIGITAL-IN-03")
    assert rec.annotations["disabled_groups"] == ("C",)
    assert rec.annotations["notes"] == ("monkey M", "IT arrays", "")
    assert rec.annotations["version"] == f"{version[0]}.{version[1]}"


class _nowarn:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


@pytest.mark.parametrize("mode,gain,zero", [(0, 50.354e-6, 0), (1, 152.59e-6, 32768), (13, 312.5e-6, 32768)])
def test_adc_scaling_by_eval_board_mode(tmp_path, mode, gain, zero):
    codes = np.array([[0], [1000], [32768], [65535]], dtype=np.uint16)
    path = tmp_path / "adc"
    write_intan(path, layout="per_signal", version=(3, 0), eval_board_mode=mode, adc=codes,
                amplifier=np.zeros((4, 1), np.int16))
    rec = read_intan(path)
    np.testing.assert_allclose(rec.traces("adc")[:, 0], gain * (codes[:, 0].astype(float) - zero))
    # volts in, the same codes out
    volts = gain * (codes.astype(float) - zero)
    write_intan(tmp_path / "adc_v", layout="per_signal", version=(3, 0), eval_board_mode=mode, adc=volts,
                amplifier=np.zeros((4, 1), np.int16))
    np.testing.assert_array_equal(read_intan(tmp_path / "adc_v").traces("adc", scaled=False), codes)


def _decode_blocks_by_hand(path: Path, n_amp, n_aux, n_sup, n_temp, n_adc, n_din, n_dout, B=128):
    """An independent NumPy decode of an RHD 2.0+ header-attached file (header length by parsing the
    string fields only as far as needed: from the end, using the block size)."""
    raw = path.read_bytes()
    block = 4 * B + 2 * (n_amp * B + n_aux * B // 4 + n_sup + n_temp + n_adc * B + (B if n_din else 0)
                         + (B if n_dout else 0))
    n_blocks = None
    for header_size in range(len(raw) - 1, 0, -1):  # the data are a whole number of blocks after the header
        if (len(raw) - header_size) % block == 0 and struct.unpack_from("<i", raw, header_size)[0] == 0:
            n_blocks = (len(raw) - header_size) // block
            break
    temps = []
    for b in range(n_blocks):
        off = header_size + b * block + 4 * B + 2 * (n_amp * B + n_aux * B // 4 + n_sup)
        temps.append(np.frombuffer(raw, "<i2", n_temp, off))
    return np.array(temps)


def test_temperature_sensors_traditional(tmp_path):
    n, B = 128 * 6, 128
    temp = (np.linspace(30.0, 37.0, n)[:, None] + np.array([0.0, 1.5])).round(2)
    path = tmp_path / "temp.rhd"
    write_intan(path, layout="traditional", version=(3, 0), amplifier=np.zeros((n, 2), np.int16),
                temperature=temp, supply=np.full((n, 1), 44000, np.uint16))
    rec = read_intan(path)
    s = rec.streams["temperature"]
    assert s.n_channels == 2 and s.sampling_rate == 20000.0 / B and s.units == "degC"
    expected = _decode_blocks_by_hand(path, 2, 0, 1, 2, 0, 0, 0)
    np.testing.assert_array_equal(rec.traces("temperature", scaled=False), expected)
    np.testing.assert_allclose(rec.traces("temperature"), expected * 0.01)
    np.testing.assert_allclose(rec.traces("temperature"), temp[::B], atol=0.005)
    # the same file with an older header (1.1: the first version with temperature sensors)
    path11 = tmp_path / "temp11.rhd"
    write_intan(path11, layout="traditional", version=(1, 1), amplifier=np.zeros((600, 1), np.int16),
                temperature=temp[:600])
    np.testing.assert_allclose(read_intan(path11).traces("temperature"), temp[:600:60], atol=0.005)


def rhs_data(n=900, seed=1):
    rng = np.random.default_rng(seed)
    stim_mag = rng.integers(0, 256, (n, 3)).astype(np.uint16)
    flags = rng.integers(0, 2, (n, 3, 4)).astype(np.uint16)
    stim = stim_mag | (flags[..., 0] << 8) | (flags[..., 1] << 13) | (flags[..., 2] << 14) | (flags[..., 3] << 15)
    return dict(
        amplifier=rng.integers(-6000, 6000, (n, 3)).astype(np.int16),
        dc_amplifier=rng.integers(0, 1024, (n, 3)).astype(np.uint16),
        stim=stim.astype(np.uint16),
        adc=rng.integers(0, 65536, (n, 2)).astype(np.uint16),
        dac=rng.integers(0, 65536, (n, 1)).astype(np.uint16),
        digital_in=rng.integers(0, 65536, n).astype(np.uint16),
        digital_out=rng.integers(0, 65536, n).astype(np.uint16),
    )


RHS_KW = dict(amplifier_channels=["A-000", "A-001", "B-002"], adc_channels=["ANALOG-IN-1", "ANALOG-IN-2"],
              dac_channels=["ANALOG-OUT-1"], digital_in_channels=["DIGITAL-IN-01", "DIGITAL-IN-16"],
              digital_out_channels=["DIGITAL-OUT-02"], disabled_channels=["A-005"], stim_step_size=2e-6)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("version", RHS_VERSIONS, ids=lambda v: f"v{v[0]}.{v[1]}")
def test_rhs_matches_neo_and_intan_scaling(tmp_path, layout, version):
    data = rhs_data()
    path = _target(tmp_path, "rhs", layout, version)
    with pytest.warns(UserWarning) if layout == "traditional" else _nowarn():
        write_intan(path, fmt="rhs", layout=layout, version=version, **data, **RHS_KW)
    rec = read_intan(path)
    neo = _neo(path, "rhs", layout)
    assert set(neo) == set(rec.streams)
    for name, (neo_raw, neo_scaled) in neo.items():
        np.testing.assert_array_equal(rec.traces(name, scaled=False), neo_raw, err_msg=name)
        if name in SAME_UNITS:
            np.testing.assert_allclose(rec.traces(name), neo_scaled, rtol=1e-6, atol=1e-9, err_msg=name)
    n = rec.n_samples
    assert n == (900 // 128 * 128 if layout == "traditional" else 900)
    # Intan's documented scaling: DC −19.23 mV × (code − 512) V; stim step × signed magnitude µA
    np.testing.assert_allclose(rec.traces("dc_amplifier"), -0.01923 * (data["dc_amplifier"][:n] - 512.0))
    s = data["stim"][:n]
    signed = np.where(s & 0x100, -1.0, 1.0) * (s & 0xFF)
    np.testing.assert_allclose(rec.traces("stim"), signed * 2.0)  # 2 µA steps
    flags = rec.stim_flags()
    np.testing.assert_array_equal(flags["compliance_limit"], (s & 0x8000) != 0)
    np.testing.assert_array_equal(flags["charge_recovery"], (s & 0x4000) != 0)
    np.testing.assert_array_equal(flags["amp_settle"], (s & 0x2000) != 0)
    np.testing.assert_allclose(rec.traces("dac"), 312.5e-6 * (data["dac"][:n] - 32768.0))
    np.testing.assert_array_equal(rec.traces("digital_in", scaled=False),
                                  _expected_digital(data["digital_in"][:n], RHS_KW["digital_in_channels"]))


def test_rhs_stim_only_on_some_channels_per_channel(tmp_path):
    data = rhs_data(n=200)
    path = tmp_path / "rhs_pc"
    write_intan(path, fmt="rhs", layout="per_channel", stim_channels=["A-001"], **data, **RHS_KW)
    rec = read_intan(path)
    assert rec.channel_names["stim"] == ("A-001",)
    np.testing.assert_array_equal(rec.traces("stim", scaled=False)[:, 0],
                                  np.where(data["stim"][:, 1] & 0x100, -1, 1) * (data["stim"][:, 1] & 0xFF))


def test_spikeinterface_read_intan_agrees(tmp_path):
    se = pytest.importorskip("spikeinterface.extractors")
    data = rhd_data(n=512)
    path = tmp_path / "si"
    write_intan(path, layout="per_channel", **data, **RHD_KW)
    si = se.read_intan(str(path / "info.rhd"), stream_id="0")
    rec = read_intan(path)
    np.testing.assert_array_equal(si.get_traces(return_in_uV=False), rec.traces(scaled=False))
    np.testing.assert_allclose(si.get_traces(return_in_uV=True), rec.traces(), rtol=1e-6)
