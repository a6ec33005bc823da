"""Write valid Intan RHD2000/RHS2000 files in every layout and header version.

Used by the tests and the simulator to make real files::

    with IntanWriter("session/intan", layout="per_channel", amplifier_channels=["A-000", "A-001"],
                     adc_channels=["ANALOG-IN-1"], digital_in_channels=["DIGITAL-IN-02"]) as w:
        w.write(amplifier=codes_int16, adc=volts, digital_in=words_uint16)

Inputs per stream, all at the amplifier sampling rate and with the same number of rows in one
``write`` call (a missing stream is written as zero volts / zero codes):

- ``amplifier``: integer codes as in ``.dat`` files (µV / 0.195, signed), or float µV.
- ``aux``, ``supply``, ``dc_amplifier``, ``dac``, ``adc``: integer codes as stored (uint16), or float volts.
  Header-attached files keep every 4th ``aux`` sample and the first ``supply`` sample of each block,
  as the chips sample them; the ``.dat`` layouts store the full rate.
- ``temperature``: (samples, n_sensors) int16 codes (0.01 °C) or float °C; header-attached files only.
- ``digital_in``/``digital_out``: the 16-bit word per sample (1-D), or (samples, n_channels) 0/1.
- ``stim`` (RHS): uint16 Intan stim words (magnitude | sign<<8 | flags), signed integer step counts,
  or float µA.

Header-attached files hold whole data blocks only (60 samples before RHD 2.0, 128 after); a trailing
partial block is dropped at ``close`` with a warning. Output is atomic: each file or folder appears
under its final name only once complete.
"""
from __future__ import annotations

import logging
import os
import re
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from neuroit._atomic import atomic_path
from neuroit.errors import NeuroitError
from neuroit.io import _intan_header as ih

log = logging.getLogger(__name__)

LAYOUTS = ("traditional", "per_signal", "per_channel")
_STREAM_ARGS = ("amplifier", "aux", "supply", "temperature", "adc", "dac", "digital_in", "digital_out",
                "dc_amplifier", "stim")


def write_intan(path, *, amplifier=None, aux=None, supply=None, temperature=None, adc=None, dac=None,
                digital_in=None, digital_out=None, dc_amplifier=None, stim=None, **kwargs) -> list[str]:
    """Write whole arrays in one call; returns the files/folders written. Channel lists default to
    ``A-000``… / ``A-AUX1``… / ``ANALOG-IN-1``… / ``DIGITAL-IN-01``… sized from the arrays."""
    data = dict(amplifier=amplifier, aux=aux, supply=supply, temperature=temperature, adc=adc, dac=dac,
                digital_in=digital_in, digital_out=digital_out, dc_amplifier=dc_amplifier, stim=stim)
    data = {k: np.asarray(v) for k, v in data.items() if v is not None}
    defaults = {"amplifier": "amplifier_channels", "aux": "aux_channels", "supply": "supply_channels",
                "adc": "adc_channels", "dac": "dac_channels", "digital_in": "digital_in_channels",
                "digital_out": "digital_out_channels"}
    for stream, arg in defaults.items():
        if stream in data and arg not in kwargs:
            a = data[stream]
            n = a.shape[1] if a.ndim == 2 else 16
            kwargs[arg] = default_channel_names(stream, n)
    if "temperature" in data and "temperature_sensors" not in kwargs:
        kwargs["temperature_sensors"] = data["temperature"].shape[1]
    with IntanWriter(path, **kwargs) as w:
        w.write(**data)
    return w.files


def default_channel_names(stream: str, n: int) -> list[str]:
    """Intan's native names: amplifiers fill ports A, B, … 128 channels each."""
    if stream == "amplifier":
        return [f"{'ABCDEFGH'[i // 128]}-{i % 128:03d}" for i in range(n)]
    if stream == "aux":
        return [f"{'ABCDEFGH'[i // 3]}-AUX{i % 3 + 1}" for i in range(n)]
    if stream == "supply":
        return [f"{'ABCDEFGH'[i]}-VDD1" for i in range(n)]
    if stream == "adc":
        return [f"ANALOG-IN-{i + 1}" for i in range(n)]
    if stream == "dac":
        return [f"ANALOG-OUT-{i + 1}" for i in range(n)]
    if stream == "digital_in":
        return [f"DIGITAL-IN-{i + 1:02d}" for i in range(n)]
    if stream == "digital_out":
        return [f"DIGITAL-OUT-{i + 1:02d}" for i in range(n)]
    raise NeuroitError(f"No default channel names for stream {stream!r}.")


# ---------------------------------------------------------------------------------------------
# header construction
def _native_order(name: str) -> int:
    m = re.search(r"(\d+)$", name)
    if not m:
        return 0
    n = int(m.group(1))
    # RHX names count from 1 (ANALOG-IN-1, DIGITAL-IN-01, A-AUX1, A-VDD1); older ones from 0 (ADC-00, DIN-00)
    one_based = re.search(r"(ANALOG-IN|ANALOG-OUT|DIGITAL-IN|DIGITAL-OUT|AUX|VDD)-?\d+$", name)
    return n - 1 if one_based else n


def _kind_of(name: str) -> str:
    if re.search(r"-AUX\d+$", name):
        return "aux"
    if re.search(r"-VDD\d+$", name):
        return "supply"
    for prefix, kind in (("ANALOG-IN", "adc"), ("ADC", "adc"), ("ANALOG-OUT", "dac"), ("DAC", "dac"),
                         ("DIGITAL-IN", "digital_in"), ("DIN", "digital_in"),
                         ("DIGITAL-OUT", "digital_out"), ("DOUT", "digital_out")):
        if name.startswith(prefix + "-"):
            return kind
    return "amplifier"


_BOARD_GROUPS = {"adc": ("Analog In Ports", "ANALOG-IN"), "dac": ("Analog Out Ports", "ANALOG-OUT"),
                 "digital_in": ("Digital In Ports", "DIGITAL-IN"), "digital_out": ("Digital Out Ports", "DIGITAL-OUT")}


def build_header_object(*, fmt, version, sampling_rate, channels: dict, disabled_channels=(), disabled_groups=(),
                        temperature_sensors=0, eval_board_mode=None, notes=("", "", ""), reference_channel="n/a",
                        dc_amplifier_saved=True, stim_step_size=1e-6, notch_filter_mode=0,
                        bandwidth=(0.1, 7500.0)) -> ih.Header:
    """An :class:`~neuroit.io._intan_header.Header` for the given enabled channels per stream."""
    types = ih.RHD_TYPES if fmt == "rhd" else ih.RHS_TYPES
    groups: dict[str, ih.Group] = {}

    def group_for(kind: str, name: str) -> ih.Group:
        if kind in _BOARD_GROUPS:
            gname, prefix = _BOARD_GROUPS[kind]
        else:
            prefix = name.split("-")[0]
            gname = f"Port {prefix}"
        return groups.setdefault(prefix, ih.Group(gname, prefix))

    for kind, names in channels.items():
        if kind not in types:
            if names:
                raise NeuroitError(f"An .{fmt} file has no {kind!r} channels; got {list(names)[:3]}.")
            continue
        for i, name in enumerate(names):
            order = _native_order(name)
            g = group_for(kind, name)
            is_amp = kind == "amplifier"
            g.channels.append(ih.Channel(
                native_name=name, custom_name=name, signal_type=types[kind], native_order=order,
                custom_order=len(g.channels), chip_channel=order % 32 if is_amp else order,
                board_stream=(ord(name[0]) - 65) * 2 + order // 32 if is_amp and name[0].isalpha() else 0,
                command_stream=(ord(name[0]) - 65) if is_amp and fmt == "rhs" else 0,
                impedance_magnitude=1.0e6 if is_amp else 0.0, impedance_phase=-60.0 if is_amp else 0.0))
    for name in disabled_channels:
        kind = _kind_of(name)
        if kind not in types:
            raise NeuroitError(f"Disabled channel {name!r} is a {kind} channel, which .{fmt} files do not have.")
        order = _native_order(name)
        g = group_for(kind, name)
        ch = ih.Channel(native_name=name, custom_name=name, signal_type=types[kind], native_order=order,
                        enabled=False, chip_channel=order % 32)
        pos = next((i for i, c in enumerate(g.channels)
                    if c.signal_type == ch.signal_type and c.native_order > order), len(g.channels))
        g.channels.insert(pos, ch)
    for g in groups.values():
        for i, c in enumerate(g.channels):
            c.custom_order = i
    out = list(groups.values())
    disabled_groups = dict.fromkeys(disabled_groups, 32) if not isinstance(disabled_groups, dict) else disabled_groups
    for prefix, n in disabled_groups.items():
        if prefix in groups:
            raise NeuroitError(f"Group {prefix!r} cannot be disabled: it holds enabled channels.")
        out.append(ih.Group(f"Port {prefix}", prefix, enabled=False, channels=[], n_channels=int(n), n_amplifier=int(n)))
    if eval_board_mode is None:
        eval_board_mode = (13 if tuple(version) >= (3, 0) else 0) if fmt == "rhd" else 14
    if fmt == "rhd" and tuple(version) < (1, 3) and eval_board_mode != 0:
        raise NeuroitError(f"RHD header version {version[0]}.{version[1]} has no eval_board_mode (needs 1.3 or later); "
                           f"got eval_board_mode={eval_board_mode}.")
    if fmt == "rhd" and tuple(version) < (1, 1) and temperature_sensors:
        raise NeuroitError("RHD header version 1.0 cannot record temperature sensors (needs 1.1 or later).")
    notes = tuple(notes) + ("",) * (3 - len(notes))
    return ih.Header(fmt=fmt, version=tuple(version), sampling_rate=float(sampling_rate), notes=notes[:3],
                     groups=out, num_temp_sensors=int(temperature_sensors), eval_board_mode=int(eval_board_mode),
                     reference_channel=reference_channel if tuple(version) >= (2, 0) or fmt == "rhs" else "",
                     dc_amplifier_saved=bool(dc_amplifier_saved), stim_step_size=float(stim_step_size),
                     notch_filter_mode=int(notch_filter_mode),
                     lower_bandwidth=(bandwidth[0], bandwidth[0]), upper_bandwidth=(bandwidth[1], bandwidth[1]))


# ---------------------------------------------------------------------------------------------
# the writer
class IntanWriter:
    """Streaming writer of Intan files; see the module docstring for the inputs.

    Parameters (keyword-only after ``path``): ``fmt`` ("rhd"/"rhs"), ``layout`` ("per_channel",
    "per_signal", "traditional"), ``version`` (header version, e.g. (1, 0) … (3, 3)),
    ``sampling_rate``, channel lists ``amplifier_channels``, ``aux_channels``, ``supply_channels``,
    ``adc_channels``, ``dac_channels`` (RHS), ``digital_in_channels``, ``digital_out_channels``,
    ``temperature_sensors`` (RHD ≥ 1.1, header-attached only), ``disabled_channels`` (names listed
    in the header as disabled, no data), ``disabled_groups`` (ports listed as disabled groups),
    ``stim_channels`` (RHS per_channel: amplifier channels that get a stim file; default all),
    ``dc_amplifier_saved`` (RHS), ``stim_step_size`` (RHS, A), ``eval_board_mode``, ``notes``,
    ``reference_channel``, ``samples_per_file`` (start a new file/folder every N samples, as Intan
    does every N minutes), ``timestamp_start`` (first timestamp), ``timestamp_gaps`` ({sample: n
    missing timestamps before it}, to make discontinuous files for tests).

    For the ``.dat`` layouts ``path`` is a folder (info.rhd + .dat files); for "traditional" a file
    (split files are named ``<stem>_000.rhd``, …; split ``.dat`` sessions go to sub-folders
    ``<folder>/<name>_000/``).
    """

    def __init__(self, path, *, fmt="rhd", layout="per_channel", version=(3, 3), sampling_rate=20000.0,
                 amplifier_channels: Sequence[str] = (), aux_channels=(), supply_channels=(), adc_channels=(),
                 dac_channels=(), digital_in_channels=(), digital_out_channels=(), temperature_sensors=0,
                 disabled_channels=(), disabled_groups=(), stim_channels=None, dc_amplifier_saved=True,
                 stim_step_size=1e-6, eval_board_mode=None, notes=("", "", ""), reference_channel="n/a",
                 notch_filter_mode=0, samples_per_file=None, timestamp_start=0, timestamp_gaps=None):
        if fmt not in ("rhd", "rhs"):
            raise NeuroitError(f"The 'fmt' parameter of IntanWriter must be 'rhd' or 'rhs'; got {fmt!r}.")
        if layout not in LAYOUTS:
            raise NeuroitError(f"The 'layout' parameter of IntanWriter must be one of {LAYOUTS}; got {layout!r}.")
        version = tuple(int(v) for v in version)
        known = ih.KNOWN_VERSIONS[fmt].get(version[0], ())
        if len(version) != 2 or (known is not None and version[1] not in known):
            raise NeuroitError(f"Unknown .{fmt} header version {version}; RHD: 1.0-1.3, 2.x, 3.x; RHS: 1.0, 2.x, 3.x.")
        if temperature_sensors and layout != "traditional":
            raise NeuroitError("Temperature sensors are stored only in header-attached ('traditional') files; "
                               f"got temperature_sensors={temperature_sensors} with layout={layout!r}.")
        channels = dict(amplifier=list(amplifier_channels), aux=list(aux_channels), supply=list(supply_channels),
                        adc=list(adc_channels), dac=list(dac_channels), digital_in=list(digital_in_channels),
                        digital_out=list(digital_out_channels))
        all_names = [n for v in channels.values() for n in v] + list(disabled_channels)
        dup = sorted({n for n in all_names if all_names.count(n) > 1})
        if dup:
            raise NeuroitError(f"Channel names must be unique; {dup} appear more than once.")
        self.header = build_header_object(
            fmt=fmt, version=version, sampling_rate=sampling_rate, channels=channels,
            disabled_channels=disabled_channels, disabled_groups=disabled_groups,
            temperature_sensors=temperature_sensors, eval_board_mode=eval_board_mode, notes=notes,
            reference_channel=reference_channel, dc_amplifier_saved=dc_amplifier_saved,
            stim_step_size=stim_step_size, notch_filter_mode=notch_filter_mode)
        self.fmt, self.layout, self.path = fmt, layout, Path(path)
        if layout == "traditional" and self.path.suffix.lower() != f".{fmt}":
            raise NeuroitError(f"A header-attached .{fmt} file needs a path ending in .{fmt}; got {os.fspath(path)!r}.")
        self.specs = {s.name: s for s in ih.stream_specs(self.header, layout)}
        amps = channels["amplifier"]
        self.stim_channels = list(amps) if stim_channels is None else list(stim_channels)
        if not set(self.stim_channels) <= set(amps):
            raise NeuroitError(f"stim_channels must be amplifier channels; got {sorted(set(self.stim_channels) - set(amps))}.")
        B = self.header.block_size
        if samples_per_file is not None:
            samples_per_file = int(samples_per_file)
            if samples_per_file <= 0 or (layout == "traditional" and samples_per_file % B):
                raise NeuroitError(f"samples_per_file must be a positive multiple of the block size ({B}) for "
                                   f"header-attached files; got {samples_per_file}.")
        self.samples_per_file = samples_per_file
        self.timestamp_start = int(timestamp_start)
        gaps = dict(timestamp_gaps or {})
        self._gap_at = np.array(sorted(gaps), dtype=np.int64)
        self._gap_cum = np.cumsum([int(gaps[k]) for k in sorted(gaps)]).astype(np.int64)
        self.files: list[str] = []
        self.n_samples = 0  # samples accepted by write()
        self._file_index = 0
        self._sink = None
        self._pending: dict[str, np.ndarray] | None = None  # traditional: samples short of a whole block
        self._closed = False

    # -- context manager -----------------------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort(exc_type, exc, tb)
        return False

    # -- public --------------------------------------------------------------------------------
    def write(self, **streams) -> None:
        """Append a chunk (any number of samples) of every stream given."""
        if self._closed:
            raise NeuroitError("This IntanWriter is closed.")
        unknown = set(streams) - set(_STREAM_ARGS)
        if unknown:
            raise NeuroitError(f"IntanWriter.write got unknown stream(s) {sorted(unknown)}; expected {_STREAM_ARGS}.")
        chunk = self._normalize(streams)
        n = next(iter(chunk.values())).shape[0] if chunk else 0
        if n == 0:
            return
        start = self.n_samples
        self.n_samples += n
        if self.layout == "traditional" and self._pending is not None:
            chunk = {k: np.concatenate([self._pending[k], v]) for k, v in chunk.items()}
            start -= next(iter(self._pending.values())).shape[0]
            self._pending = None
        self._emit(chunk, start)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._pending is not None:
            n = next(iter(self._pending.values())).shape[0]
            warnings.warn(f"IntanWriter: dropped the last {n} samples of {self.path}: header-attached files "
                          f"hold whole blocks of {self.header.block_size} samples.", stacklevel=2)
            self._pending = None
        if self._file_index == 0:  # nothing written: still make a valid (empty) recording
            self._open_sink(self.n_samples)
        if self._sink is not None:
            self._sink.close()
            self._sink = None
        log.info("wrote %d samples to %d Intan %s file(s)/folder(s) under %s", self.n_samples, len(self.files),
                 self.layout, self.path)

    def abort(self, *exc_info) -> None:
        """Remove the file being written (called on errors inside ``with``)."""
        self._closed = True
        if self._sink is not None:
            if not exc_info or exc_info[0] is None:
                err = RuntimeError("IntanWriter aborted")
                exc_info = (RuntimeError, err, None)
            self._sink.abort(*exc_info)
            self._sink = None

    # -- internals -----------------------------------------------------------------------------
    def _timestamps(self, start: int, n: int) -> np.ndarray:
        idx = np.arange(start, start + n, dtype=np.int64)
        shift = np.zeros(n, dtype=np.int64)
        if self._gap_at.size:
            k = np.searchsorted(self._gap_at, idx, side="right")
            shift = np.where(k > 0, self._gap_cum[np.maximum(k - 1, 0)], 0)
        return self.timestamp_start + idx + shift

    def _normalize(self, streams: dict) -> dict[str, np.ndarray]:
        """Convert every stream to (samples, channels) stored codes; fill the ones not given."""
        out = {}
        n = None
        for name, a in streams.items():
            if a is None:
                continue
            spec = self.specs.get(name)
            if spec is None or not spec.channels:
                raise NeuroitError(f"IntanWriter.write got {name!r} data, but the writer has no {name} channels.")
            a = np.asarray(a)
            out[name] = self._to_codes(name, spec, a)
            if n is None:
                n = out[name].shape[0]
            elif out[name].shape[0] != n:
                raise NeuroitError(f"Every stream in one write() must have the same number of samples; "
                                   f"{name!r} has {out[name].shape[0]}, others {n}.")
        if n is None:
            return {}
        for name, spec in self.specs.items():
            if name not in out and spec.channels:
                out[name] = self._fill(name, spec, n)
        return out

    def _fill(self, name, spec, n):
        if name.startswith("digital"):
            return np.zeros((n, 1), np.uint16)
        if name in ("amplifier", "temperature"):
            return np.zeros((n, len(spec.channels)), np.int16)
        zero = 0
        if spec.stored_dtype == np.uint16 and spec.offset:  # offset-binary streams: the code of 0 V
            zero = int(round(-spec.offset / spec.gain))
        return np.full((n, len(spec.channels)), zero, dtype=np.uint16)

    def _to_codes(self, name, spec, a):
        n_ch = len(spec.channels)
        if name.startswith("digital"):
            if a.ndim == 1:
                return a.astype(np.uint16).reshape(-1, 1)
            if a.ndim != 2 or a.shape[1] != n_ch:
                raise NeuroitError(f"{name} must be a 1-D 16-bit word per sample or (samples, {n_ch}) 0/1; got {a.shape}.")
            word = np.zeros(a.shape[0], np.uint16)
            for j, ch in enumerate(spec.channels):
                word |= (a[:, j] != 0).astype(np.uint16) << np.uint16(ih.digital_bit(ch))
            return word.reshape(-1, 1)
        if a.ndim == 1 and n_ch == 1:
            a = a.reshape(-1, 1)
        if a.ndim != 2 or a.shape[1] != n_ch:
            raise NeuroitError(f"{name} must be a (samples, {n_ch}) array; got shape {a.shape}.")
        if name == "amplifier":
            if a.dtype.kind == "f":
                a = np.rint(a / ih.AMP_GAIN_UV)
            return np.clip(a, -32768, 32767).astype(np.int16)
        if name == "temperature":
            if a.dtype.kind == "f":
                a = np.rint(a / ih.TEMP_GAIN_C)
            return np.clip(a, -32768, 32767).astype(np.int16)
        if name == "stim":
            if a.dtype == np.uint16:
                return a
            if a.dtype.kind == "f":
                a = np.rint(a / (self.header.stim_step_size * 1e6))
            a = a.astype(np.int64)
            mag = np.minimum(np.abs(a), 255).astype(np.uint16)
            return mag | ((a < 0).astype(np.uint16) << np.uint16(8))
        if a.dtype.kind == "f":
            a = np.rint((a - spec.offset) / spec.gain)
        return np.clip(a, 0, 65535).astype(np.uint16)

    def _emit(self, chunk: dict, start: int) -> None:
        """Send ``chunk`` (first sample = ``start``) to sinks, rotating files every samples_per_file."""
        n = next(iter(chunk.values())).shape[0]
        pos = 0
        while pos < n:
            absolute = start + pos
            if self._sink is None:
                self._open_sink(absolute)
            room = n - pos
            if self.samples_per_file:
                room = min(room, self.samples_per_file - (absolute - self._sink.first_sample))
            part = {k: v[pos:pos + room] for k, v in chunk.items()}
            kept = self._sink.write(part, self._timestamps(absolute, room))
            if kept < room:  # traditional: remainder short of a block
                self._pending = {k: v[kept:] for k, v in part.items()}
                return
            pos += room
            if self.samples_per_file and absolute + room - self._sink.first_sample >= self.samples_per_file:
                self._sink.close()
                self._sink = None

    def _open_sink(self, first_sample: int) -> None:
        split = self.samples_per_file is not None
        k = self._file_index
        self._file_index += 1
        if self.layout == "traditional":
            target = self.path.with_name(f"{self.path.stem}_{k:03d}{self.path.suffix}") if split else self.path
            self._sink = _BlockSink(self, target, first_sample)
        else:
            target = self.path / f"{self.path.name}_{k:03d}" if split else self.path
            self._sink = _DatSink(self, target, first_sample)
        self.files.append(os.fspath(target))


class _BlockSink:
    """One header-attached file: whole data blocks, built vectorised from a structured dtype."""

    def __init__(self, writer: IntanWriter, target: Path, first_sample: int):
        self.w, self.first_sample = writer, first_sample
        self._atomic = atomic_path(target)
        tmp = self._atomic.__enter__()
        self.f = open(tmp, "wb")
        self.f.write(ih.build_header(writer.header))
        self.specs = [s for s in writer.specs.values() if s.channels]
        self.dtype = ih.block_dtype(writer.header, list(writer.specs.values()))

    def write(self, part: dict, ts: np.ndarray) -> int:
        B = self.w.header.block_size
        n = ts.shape[0]
        nb = n // B
        if nb:
            blocks = np.zeros(nb, dtype=self.dtype)
            blocks["timestamp"] = ts[: nb * B].reshape(nb, B).astype(self.dtype["timestamp"].base)
            for s in self.specs:
                a = part[s.name][: nb * B].reshape(nb, B, -1)
                if s.name == "amplifier":
                    a = a.view(np.uint16) ^ np.uint16(0x8000)  # signed -> offset binary
                if s.name.startswith("digital"):
                    blocks[s.name] = a[:, :, 0]
                    continue
                step = B // s.per_block
                blocks[s.name] = a[:, ::step, :].transpose(0, 2, 1)
            blocks.tofile(self.f)
        return nb * B

    def close(self):
        self.f.close()
        self._atomic.__exit__(None, None, None)

    def abort(self, *exc_info):
        self.f.close()
        try:
            self._atomic.__exit__(*exc_info)
        except BaseException:  # the cleanup re-raises the original error; the caller raises it anyway
            pass


class _DatSink:
    """One folder of a headerless layout: info.rhd + .dat files, each opened once."""

    def __init__(self, writer: IntanWriter, target: Path, first_sample: int):
        self.w, self.first_sample = writer, first_sample
        target.parent.mkdir(parents=True, exist_ok=True)
        self._atomic = atomic_path(target)
        tmp = self._atomic.__enter__()
        tmp.mkdir()
        (tmp / f"info.{writer.fmt}").write_bytes(ih.build_header(writer.header))
        self.files: dict[str, list] = {}
        open_ = lambda name: open(tmp / name, "wb")  # noqa: E731
        self.time = open_("time.dat")
        specs = [s for s in writer.specs.values() if s.channels]
        self.specs = specs
        for s in specs:
            if writer.layout == "per_signal":
                self.files[s.name] = [open_(ih.SIGNAL_FILES[writer.fmt][s.name])]
            else:
                names = s.channel_names
                if s.name == "stim":
                    names = tuple(n for n in names if n in set(writer.stim_channels))
                self.files[s.name] = [open_(ih.CHANNEL_PREFIX[s.name] + n + ".dat") for n in names]
        self.stim_idx = [i for i, n in enumerate(writer.specs["amplifier"].channel_names)
                         if n in set(writer.stim_channels)] if writer.fmt == "rhs" else []

    def write(self, part: dict, ts: np.ndarray) -> int:
        self.time.write(ts.astype(self.w.header.timestamp_dtype).tobytes())
        for s in self.specs:
            a = part[s.name]
            files = self.files[s.name]
            if self.w.layout == "per_signal":
                files[0].write(np.ascontiguousarray(a).tobytes())
            elif s.name.startswith("digital"):
                word = a[:, 0]
                for f, ch in zip(files, s.channels):
                    f.write(((word >> np.uint16(ih.digital_bit(ch))) & np.uint16(1)).astype(np.uint16).tobytes())
            else:
                cols = a.T if s.name != "stim" else a[:, self.stim_idx].T
                cols = np.ascontiguousarray(cols)
                for f, col in zip(files, cols):
                    f.write(col.data)
        return ts.shape[0]

    def _close_files(self):
        self.time.close()
        for files in self.files.values():
            for f in files:
                f.close()

    def close(self):
        self._close_files()
        self._atomic.__exit__(None, None, None)

    def abort(self, *exc_info):
        self._close_files()
        try:
            self._atomic.__exit__(*exc_info)
        except BaseException:
            pass
