"""Intan RHD2000/RHS2000 headers: parse, build and describe the sample layout they imply.

The header format follows Intan's "RHD2000/RHS2000 data file formats" application notes:
little-endian, ``QString`` = uint32 byte length (0xFFFFFFFF for an empty string) followed by
UTF-16LE characters. Fields appear by version (RHD): ``num_temp_sensor_channels`` from 1.1,
``eval_board_mode`` from 1.3, ``reference_channel`` from 2.0. Channel records of a disabled
signal group are absent (Intan's own readers skip them), and disabled channels carry no data.
"""
from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass, field

import numpy as np

from neuroit.errors import FileFormatError

MAGIC = {"rhd": 0xC6912702, "rhs": 0xD69127AC}
KNOWN_VERSIONS = {
    "rhd": {1: (0, 1, 2, 3), 2: None, 3: None},  # None: any minor version
    "rhs": {1: (0,), 2: None, 3: None},
}
# signal_type codes in the channel records
RHD_TYPES = {"amplifier": 0, "aux": 1, "supply": 2, "adc": 3, "digital_in": 4, "digital_out": 5}
RHS_TYPES = {"amplifier": 0, "adc": 3, "dac": 4, "digital_in": 5, "digital_out": 6}

AMP_GAIN_UV = 0.195
AUX_GAIN_V = 37.4e-6
SUPPLY_GAIN_V = 74.8e-6
TEMP_GAIN_C = 0.01
DC_GAIN_V = -0.01923  # RHS DC amplifier: -19.23 mV x (code - 512)
RHS_ADC_GAIN_V = 312.5e-6
ADC_MODES = {0: (50.354e-6, 0), 1: (152.59e-6, 32768), 13: (312.5e-6, 32768)}  # eval_board_mode -> (gain, zero code)

# .dat names of the headerless layouts
SIGNAL_FILES = {
    "rhd": {"amplifier": "amplifier.dat", "aux": "auxiliary.dat", "supply": "supply.dat", "adc": "analogin.dat",
            "digital_in": "digitalin.dat", "digital_out": "digitalout.dat"},
    "rhs": {"amplifier": "amplifier.dat", "dc_amplifier": "dcamplifier.dat", "stim": "stim.dat", "adc": "analogin.dat",
            "dac": "analogout.dat", "digital_in": "digitalin.dat", "digital_out": "digitalout.dat"},
}
CHANNEL_PREFIX = {"amplifier": "amp-", "aux": "aux-", "supply": "vdd-", "adc": "board-", "dac": "board-",
                  "digital_in": "board-", "digital_out": "board-", "dc_amplifier": "dc-", "stim": "stim-"}
UNITS = {"amplifier": "uV", "aux": "V", "supply": "V", "temperature": "degC", "adc": "V", "dac": "V",
         "digital_in": "bit", "digital_out": "bit", "dc_amplifier": "V", "stim": "uA"}


@dataclass
class Channel:
    native_name: str
    signal_type: int
    native_order: int = 0
    custom_name: str = ""
    custom_order: int = 0
    enabled: bool = True
    chip_channel: int = 0
    command_stream: int = 0  # RHS only
    board_stream: int = 0
    trigger_mode: int = 1
    threshold: int = 0
    trigger_channel: int = 0
    edge_polarity: int = 1
    impedance_magnitude: float = 0.0
    impedance_phase: float = 0.0


@dataclass
class Group:
    name: str
    prefix: str
    enabled: bool = True
    channels: list = field(default_factory=list)
    n_channels: int | None = None  # as written in the header (kept for disabled groups, whose records are absent)
    n_amplifier: int | None = None

    def counts(self) -> tuple[int, int]:
        n = len(self.channels) if self.n_channels is None else self.n_channels
        n_amp = sum(c.signal_type == 0 for c in self.channels) if self.n_amplifier is None else self.n_amplifier
        return n, n_amp


@dataclass
class Header:
    """Everything in an Intan header; ``size`` is its length in bytes (where the samples start)."""

    fmt: str  # "rhd" | "rhs"
    version: tuple[int, int]
    sampling_rate: float
    notes: tuple[str, str, str] = ("", "", "")
    groups: list = field(default_factory=list)
    num_temp_sensors: int = 0
    eval_board_mode: int = 0
    reference_channel: str = ""
    dc_amplifier_saved: bool = False  # RHS
    dsp_enabled: int = 1
    dsp_cutoff: tuple[float, float] = (1.0, 1.0)  # (actual, desired) Hz
    lower_bandwidth: tuple[float, float] = (0.1, 0.1)
    lower_settle_bandwidth: tuple[float, float] = (1000.0, 1000.0)  # RHS
    upper_bandwidth: tuple[float, float] = (7500.0, 7500.0)
    notch_filter_mode: int = 0
    impedance_test_frequency: tuple[float, float] = (1000.0, 1000.0)  # (desired, actual)
    amp_settle_mode: int = 0  # RHS
    charge_recovery_mode: int = 0
    stim_step_size: float = 1e-6  # A
    recovery_current_limit: float = 1e-6
    recovery_target_voltage: float = 0.0
    size: int = 0

    @property
    def block_size(self) -> int:
        """Samples per data block of a header-attached file: 60 before RHD 2.0, 128 after (RHS: 128)."""
        return 60 if (self.fmt == "rhd" and self.version[0] < 2) else 128

    @property
    def timestamp_dtype(self) -> np.dtype:
        """uint32 before RHD 1.2, signed int32 from then on."""
        return np.dtype("<u4") if (self.fmt == "rhd" and self.version < (1, 2)) else np.dtype("<i4")

    def enabled_channels(self, stream: str) -> list:
        types = RHD_TYPES if self.fmt == "rhd" else RHS_TYPES
        code = types[stream]
        return [c for g in self.groups if g.enabled for c in g.channels if c.enabled and c.signal_type == code]

    def disabled_channels(self) -> list[str]:
        return [c.native_name for g in self.groups if g.enabled for c in g.channels if not c.enabled]


# ---------------------------------------------------------------------------------------------
# parsing
class _Reader:
    def __init__(self, f, path):
        self.f, self.path = f, path

    def take(self, fmt: str, what: str):
        size = struct.calcsize("<" + fmt)
        data = self.f.read(size)
        if len(data) < size:
            raise FileFormatError(self.path, f"the header is cut short: the file ends at byte {self.f.tell()} "
                                             f"while reading {what}.")
        out = struct.unpack("<" + fmt, data)
        return out[0] if len(out) == 1 else out

    def qstring(self, what: str) -> str:
        n = self.take("I", what)
        if n == 0xFFFFFFFF or n == 0:
            return ""
        if n % 2 or n > 1 << 20:
            raise FileFormatError(self.path, f"corrupt header: string {what} claims {n} bytes.")
        data = self.f.read(n)
        if len(data) < n:
            raise FileFormatError(self.path, f"the header is cut short: the file ends inside {what}.")
        return data.decode("utf-16-le")


def parse_header(path: str | os.PathLike) -> Header:
    """Parse the header of an ``.rhd``/``.rhs`` file (header-attached or ``info.rhd``)."""
    path = os.fspath(path)
    fmt = "rhs" if path.lower().endswith(".rhs") else "rhd"
    with open(path, "rb") as f:
        r = _Reader(f, path)
        magic = r.take("I", "the magic number")
        if magic != MAGIC[fmt]:
            other = {v: k for k, v in MAGIC.items()}.get(magic)
            hint = f" (that of an .{other} file)" if other else ""
            raise FileFormatError(path, f"not an Intan .{fmt} file: magic number 0x{magic:08X}{hint}, "
                                        f"expected 0x{MAGIC[fmt]:08X}.")
        version = tuple(int(v) for v in r.take("hh", "the version"))
        minors = KNOWN_VERSIONS[fmt].get(version[0], ())
        if minors is not None and version[1] not in minors:
            raise FileFormatError(path, f"unknown Intan .{fmt} header version {version[0]}.{version[1]}.")
        h = Header(fmt=fmt, version=version, sampling_rate=0.0)
        h.sampling_rate = float(r.take("f", "the sampling rate"))
        h.dsp_enabled = r.take("h", "dsp_enabled")
        a_dsp, a_low = r.take("ff", "bandwidths")
        a_settle = r.take("f", "bandwidths") if fmt == "rhs" else 1000.0
        a_up, d_dsp, d_low = r.take("fff", "bandwidths")
        d_settle = r.take("f", "bandwidths") if fmt == "rhs" else 1000.0
        d_up = r.take("f", "bandwidths")
        h.dsp_cutoff, h.lower_bandwidth, h.upper_bandwidth = (a_dsp, d_dsp), (a_low, d_low), (a_up, d_up)
        h.lower_settle_bandwidth = (a_settle, d_settle)
        h.notch_filter_mode = r.take("h", "the notch filter mode")
        h.impedance_test_frequency = r.take("ff", "the impedance test frequency")
        if fmt == "rhs":
            h.amp_settle_mode, h.charge_recovery_mode = r.take("hh", "the stimulation settings")
            h.stim_step_size, h.recovery_current_limit, h.recovery_target_voltage = r.take("fff", "the stimulation settings")
        h.notes = tuple(r.qstring(f"note {i}") for i in (1, 2, 3))
        if fmt == "rhd":
            if version >= (1, 1):
                h.num_temp_sensors = r.take("h", "the number of temperature sensors")
            if version >= (1, 3):
                h.eval_board_mode = r.take("h", "the eval board mode")
            if version >= (2, 0):
                h.reference_channel = r.qstring("the reference channel")
        else:
            h.dc_amplifier_saved = bool(r.take("h", "dc_amplifier_data_saved"))
            h.eval_board_mode = r.take("h", "the eval board mode")
            h.reference_channel = r.qstring("the reference channel")
        n_groups = r.take("h", "the number of signal groups")
        for gi in range(n_groups):
            name = r.qstring(f"signal group {gi} name")
            prefix = r.qstring(f"signal group {gi} prefix")
            enabled, n_ch, n_amp = r.take("hhh", f"signal group {name!r}")
            g = Group(name, prefix, bool(enabled), [], n_ch, n_amp)
            if enabled and n_ch > 0:
                for ci in range(n_ch):
                    g.channels.append(_parse_channel(r, fmt, f"channel {ci} of group {name!r}"))
            h.groups.append(g)
        h.size = f.tell()
    if not h.sampling_rate > 0:
        raise FileFormatError(path, f"the header gives a sampling rate of {h.sampling_rate} Hz.")
    return h


def _parse_channel(r: _Reader, fmt: str, what: str) -> Channel:
    native = r.qstring(what)
    custom = r.qstring(what)
    native_order, custom_order, sig, enabled, chip = r.take("hhhhh", what)
    command = r.take("h", what) if fmt == "rhs" else 0
    board, trig, thr, trig_ch, pol = r.take("hhhhh", what)
    mag, phase = r.take("ff", what)
    types = set((RHD_TYPES if fmt == "rhd" else RHS_TYPES).values())
    if sig not in types:
        raise FileFormatError(r.path, f"{what} ({native!r}) has unknown signal type {sig} for an .{fmt} file.")
    return Channel(native, sig, native_order, custom, custom_order, bool(enabled), chip, command, board,
                   trig, thr, trig_ch, pol, mag, phase)


# ---------------------------------------------------------------------------------------------
# building
def _qstring(s: str) -> bytes:
    if not s:
        return struct.pack("<I", 0xFFFFFFFF)
    b = s.encode("utf-16-le")
    return struct.pack("<I", len(b)) + b


def build_header(h: Header) -> bytes:
    """Serialise ``h`` exactly as Intan's software writes it for ``h.version``."""
    fmt, version = h.fmt, h.version
    out = io.BytesIO()
    w = lambda f, *v: out.write(struct.pack("<" + f, *v))  # noqa: E731
    w("I", MAGIC[fmt])
    w("hh", *version)
    w("f", h.sampling_rate)
    w("h", h.dsp_enabled)
    w("ff", h.dsp_cutoff[0], h.lower_bandwidth[0])
    if fmt == "rhs":
        w("f", h.lower_settle_bandwidth[0])
    w("fff", h.upper_bandwidth[0], h.dsp_cutoff[1], h.lower_bandwidth[1])
    if fmt == "rhs":
        w("f", h.lower_settle_bandwidth[1])
    w("f", h.upper_bandwidth[1])
    w("h", h.notch_filter_mode)
    w("ff", *h.impedance_test_frequency)
    if fmt == "rhs":
        w("hh", h.amp_settle_mode, h.charge_recovery_mode)
        w("fff", h.stim_step_size, h.recovery_current_limit, h.recovery_target_voltage)
    for note in h.notes:
        out.write(_qstring(note))
    if fmt == "rhd":
        if version >= (1, 1):
            w("h", h.num_temp_sensors)
        if version >= (1, 3):
            w("h", h.eval_board_mode)
        if version >= (2, 0):
            out.write(_qstring(h.reference_channel))
    else:
        w("hh", int(h.dc_amplifier_saved), h.eval_board_mode)
        out.write(_qstring(h.reference_channel))
    w("h", len(h.groups))
    for g in h.groups:
        out.write(_qstring(g.name) + _qstring(g.prefix))
        n_ch, n_amp = g.counts()
        w("hhh", int(g.enabled), n_ch, n_amp)
        if not (g.enabled and n_ch > 0):
            continue  # Intan's readers skip the channel records of a disabled group
        for c in g.channels:
            out.write(_qstring(c.native_name) + _qstring(c.custom_name or c.native_name))
            w("hhhhh", c.native_order, c.custom_order, c.signal_type, int(c.enabled), c.chip_channel)
            if fmt == "rhs":
                w("h", c.command_stream)
            w("hhhhh", c.board_stream, c.trigger_mode, c.threshold, c.trigger_channel, c.edge_polarity)
            w("ff", c.impedance_magnitude, c.impedance_phase)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# sample layout
@dataclass
class StreamSpec:
    """One stream as a file stores it: channels, rate, samples per data block, gains."""

    name: str
    channels: list  # Channel objects (digital: one per bit; stim/dc: the amplifier channels)
    sampling_rate: float
    per_block: int  # samples per data block in header-attached files
    stored_dtype: np.dtype
    raw_dtype: np.dtype
    gain: float
    offset: float

    @property
    def channel_names(self) -> tuple[str, ...]:
        return tuple(c.native_name for c in self.channels)


def stream_specs(h: Header, layout: str) -> list[StreamSpec]:
    """Streams in the order they appear in a data block. ``layout``: traditional | per_signal | per_channel."""
    B, fs = h.block_size, h.sampling_rate
    attached = layout == "traditional"
    u16, i16 = np.dtype("<u2"), np.dtype("<i2")
    specs = []
    amps = h.enabled_channels("amplifier")
    amp_dtype = u16 if attached else i16
    amp_offset = -32768 * AMP_GAIN_UV if attached else 0.0
    specs.append(StreamSpec("amplifier", amps, fs, B, amp_dtype, amp_dtype, AMP_GAIN_UV, amp_offset))
    if h.fmt == "rhd":
        # aux inputs: fs/4 in data blocks; the .dat layouts store them at the full rate (each sample held)
        specs.append(StreamSpec("aux", h.enabled_channels("aux"), fs / 4 if attached else fs, B // 4,
                                u16, u16, AUX_GAIN_V, 0.0))
        specs.append(StreamSpec("supply", h.enabled_channels("supply"), fs / B if attached else fs, 1,
                                u16, u16, SUPPLY_GAIN_V, 0.0))
        if attached:
            temps = [Channel(f"TEMP-{i + 1}", -1, i) for i in range(h.num_temp_sensors)]
            specs.append(StreamSpec("temperature", temps, fs / B, 1, i16, i16, TEMP_GAIN_C, 0.0))
        gain, zero = ADC_MODES.get(h.eval_board_mode, ADC_MODES[0])
        specs.append(StreamSpec("adc", h.enabled_channels("adc"), fs, B, u16, u16, gain, -zero * gain))
    else:
        if h.dc_amplifier_saved:
            specs.append(StreamSpec("dc_amplifier", amps, fs, B, u16, u16, DC_GAIN_V, -512 * DC_GAIN_V))
        specs.append(StreamSpec("stim", amps, fs, B, u16, i16, h.stim_step_size * 1e6, 0.0))
        for name in ("adc", "dac"):
            specs.append(StreamSpec(name, h.enabled_channels(name), fs, B, u16, u16,
                                    RHS_ADC_GAIN_V, -32768 * RHS_ADC_GAIN_V))
    for name in ("digital_in", "digital_out"):
        specs.append(StreamSpec(name, h.enabled_channels(name), fs, B, u16, u16, 1.0, 0.0))
    return specs


def block_dtype(h: Header, specs: list[StreamSpec]) -> np.dtype:
    """Structured dtype of one data block of a header-attached file."""
    B = h.block_size
    fields = [("timestamp", h.timestamp_dtype, (B,))]
    for s in specs:
        n = len(s.channels)
        if n == 0:
            continue
        if s.name.startswith("digital"):
            fields.append((s.name, s.stored_dtype, (s.per_block,)))  # one 16-bit word per sample
        else:
            fields.append((s.name, s.stored_dtype, (n, s.per_block)))
    return np.dtype(fields)


def digital_bit(channel: Channel) -> int:
    """Bit of the 16-bit digital word that carries ``channel`` (its native order)."""
    return int(channel.native_order)
