"""Lazy reader of Intan RHD2000 (``.rhd``) and RHS2000 (``.rhs``) recordings, in every layout.

>>> rec = read_intan("session/intan")          # folder with info.rhd + .dat files
>>> rec.traces("amplifier", 0, 20000, channels=["A-000"])   # µV, (samples, channels)

Layouts: header-attached ("traditional" ``.rhd``/``.rhs`` files of 60/128-sample data blocks),
one file per signal type (``info.rhd`` + ``amplifier.dat``, ``time.dat``, …) and one file per channel
(``info.rhd`` + ``amp-A-000.dat``, ``board-DIGITAL-IN-02.dat``, …). Opening parses the header(s) and
memory-maps the samples; nothing else is read except the first and last timestamp of every file
(the whole timestamp column only when those disagree with the sample count, to locate the gaps).

Several files of one session (Intan starts a new file every N minutes) read as one recording;
discontinuities in the timestamps are listed in ``recording.gaps`` and warned about.

Raw codes and scaling (``physical = raw * gain + offset``), as Intan documents them:
amplifier 0.195 µV × (code − 32768) (header-attached, uint16) or 0.195 µV × code (``.dat``, int16);
aux 37.4 µV/code; supply 74.8 µV/code; temperature 0.01 °C/code; RHD ADC by eval-board mode
(0: 50.354 µV × code; 1: 152.59 µV × (code − 32768); 13: 312.5 µV × (code − 32768)); RHS ADC/DAC
312.5 µV × (code − 32768); RHS DC amplifier −19.23 mV × (code − 512); digital: one 0/1 column per
bit (raw = the bit, uint16). RHS stim: raw = the signed step count (bits 0–7 magnitude, bit 8
sign) × ``stim_step_size`` → µA; the compliance-limit (bit 15), charge-recovery (bit 14) and
amp-settle (bit 13) flags are dropped from the traces and returned by
:meth:`IntanRecording.stim_flags`.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from neuroit.errors import FileFormatError, NeuroitError
from neuroit.io import _intan_header as ih
from neuroit.io.recording import Gap, Recording, Stream

log = logging.getLogger(__name__)

_LAYOUT_NAMES = {"traditional": "header-attached", "per_signal": "one file per signal type",
                 "per_channel": "one file per channel"}
_SCAN_CHUNK = 1 << 20
# notch_filter_mode: from RHX 3.0 the filter is applied before saving; earlier versions only record the
# request (Intan's own scripts apply it when loading; neuroit returns the samples as stored)
_NOTCH = {0: "off", 1: "50 Hz", 2: "60 Hz"}


def read_intan(path, *, strict: bool = False, scan_timestamps: bool = False) -> "IntanRecording":
    """Open an Intan recording lazily.

    ``path``: an ``.rhd``/``.rhs`` file; a folder holding ``info.rhd``/``info.rhs`` and its
    ``.dat`` files; a folder of split files (several ``.rhd`` files, or sub-folders each with an
    ``info.rhd``); or a list of any of these (read in the order given; folders and split files in
    name order). ``strict=True`` turns a truncated last block (otherwise dropped with a warning)
    into a :class:`~neuroit.errors.FileFormatError`. ``scan_timestamps=True`` checks every
    timestamp for gaps instead of only the first and last of each file.
    """
    return IntanRecording(_segment_paths(path), strict=strict, scan_timestamps=scan_timestamps)


def _segment_paths(path) -> list[Path]:
    if isinstance(path, (list, tuple)):
        if not path:
            raise NeuroitError("read_intan got an empty list of paths.")
        out = []
        for p in path:
            out.extend(_segment_paths(p))
        return list(dict.fromkeys(out))  # several .dat files of one folder name that folder once
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(2, "No such file or directory", os.fspath(p))
    if p.is_file():
        if p.suffix.lower() == ".dat" or p.name.lower() in ("info.rhd", "info.rhs"):
            return [p.parent]
        if p.suffix.lower() not in (".rhd", ".rhs"):
            raise FileFormatError(p, "not an Intan file: expected a .rhd or .rhs file, or a folder holding info.rhd.")
        return [p]
    if (p / "info.rhd").is_file() or (p / "info.rhs").is_file():
        return [p]
    files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in (".rhd", ".rhs"))
    if files:
        return files
    dirs = sorted(d for d in p.iterdir() if d.is_dir() and ((d / "info.rhd").is_file() or (d / "info.rhs").is_file()))
    if dirs:
        return dirs
    raise FileFormatError(p, "no Intan data here: expected .rhd/.rhs files, info.rhd/info.rhs, "
                             "or sub-folders holding info.rhd.")


# ---------------------------------------------------------------------------------------------
@dataclass
class _Segment:
    """One file (header-attached) or one folder (headerless layouts) of a recording."""

    path: Path
    header: ih.Header
    layout: str
    specs: dict  # stream name -> StreamSpec (streams with channels only)
    n: dict = field(default_factory=dict)  # stream name -> samples in this segment
    data: dict = field(default_factory=dict)  # stream name -> memmap view(s)
    ts: np.ndarray | None = None  # timestamps (memmap, 1-D or (blocks, B))
    data_files: list = field(default_factory=list)  # every file holding samples (with the header file)

    def timestamps(self, start: int, stop: int) -> np.ndarray:
        if self.layout == "traditional":  # ts: (blocks, B) view of the block timestamps
            B = self.ts.shape[1]
            b0, b1 = start // B, -(-stop // B)
            flat = np.asarray(self.ts[b0:b1]).reshape(-1)
            return flat[start - b0 * B: stop - b0 * B].astype(np.int64)
        return np.asarray(self.ts[start:stop]).astype(np.int64)


def _open_segment(path: Path, *, strict: bool) -> _Segment:
    if path.is_dir():
        info = path / "info.rhd" if (path / "info.rhd").is_file() else path / "info.rhs"
        h = ih.parse_header(info)
        layout = _dat_layout(path, h)
    else:
        h = ih.parse_header(path)
        layout = "traditional"
    specs = {s.name: s for s in ih.stream_specs(h, layout) if s.channels}
    seg = _Segment(path, h, layout, specs)
    if layout == "traditional":
        _map_blocks(seg, strict=strict)
    else:
        _map_dat(seg, strict=strict)
    return seg


def _dat_layout(folder: Path, h: ih.Header) -> str:
    names = set(ih.SIGNAL_FILES[h.fmt].values())
    if any((folder / n).is_file() for n in names):
        return "per_signal"
    return "per_channel"


def _map_blocks(seg: _Segment, *, strict: bool) -> None:
    h, path = seg.header, seg.path
    dtype = ih.block_dtype(h, list(seg.specs.values()))
    size = path.stat().st_size - h.size
    nb, rem = divmod(size, dtype.itemsize)
    if rem:
        msg = (f"the data end in an incomplete data block ({rem} of {dtype.itemsize} bytes): "
               f"dropped its {h.block_size} samples; {nb} whole blocks ({nb * h.block_size} samples) remain readable.")
        if strict:
            raise FileFormatError(path, msg)
        warnings.warn(f"{path}: {msg}", stacklevel=4)
    mm = np.memmap(path, dtype=dtype, mode="r", offset=h.size, shape=(nb,)) if nb else np.zeros(0, dtype)
    seg.ts = mm["timestamp"]
    seg.data_files = [path]
    for name, s in seg.specs.items():
        seg.data[name] = mm[name]
        seg.n[name] = nb * s.per_block
    seg.n["_time"] = nb * h.block_size


def _map_dat(seg: _Segment, *, strict: bool) -> None:
    h, folder = seg.header, seg.path
    files: dict[str, list[Path]] = {}
    missing = []
    for name, s in seg.specs.items():
        if seg.layout == "per_signal":
            f = folder / ih.SIGNAL_FILES[h.fmt][name]
            if f.is_file():
                files[name] = [f]
            elif name != "stim":  # stim.dat is optional: no stimulation saved
                missing.append(f.name)
        else:
            fs = [folder / (ih.CHANNEL_PREFIX[name] + n + ".dat") for n in s.channel_names]
            if name == "stim":  # only stim-enabled channels have a file
                keep = [i for i, f in enumerate(fs) if f.is_file()]
                seg.specs[name] = dataclasses.replace(s, channels=[s.channels[i] for i in keep])
                fs = [fs[i] for i in keep]
                if not fs:
                    continue
            missing += [f.name for f in fs if not f.is_file()]
            files[name] = fs
    if not (folder / "time.dat").is_file():
        missing.insert(0, "time.dat")
    if missing:
        shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        raise FileFormatError(folder, f"missing companion .dat file(s) that info.{h.fmt} announces: {shown}.")
    seg.specs = {k: v for k, v in seg.specs.items() if k in files}
    # sample counts of every file must agree
    counts: dict[Path, int] = {}
    tsize = h.timestamp_dtype.itemsize
    counts[folder / "time.dat"] = _count(folder / "time.dat", tsize, strict)
    for name, fs in files.items():
        s = seg.specs[name]
        width = 1 if (name.startswith("digital") or seg.layout == "per_channel") else len(s.channels)
        for f in fs:
            counts[f] = _count(f, 2 * width, strict)
    if len(set(counts.values())) > 1:
        ref = counts[folder / "time.dat"]
        odd = [f"{f.name} ({c} samples)" for f, c in counts.items() if c != ref][:3]
        raise FileFormatError(folder, f".dat files of unequal length: time.dat has {ref} samples but "
                                      f"{', '.join(odd)}.")
    n = counts[folder / "time.dat"]
    seg.data_files = [folder / f"info.{h.fmt}", *counts]
    seg.ts = _memmap(folder / "time.dat", h.timestamp_dtype, (n,))
    seg.n["_time"] = n
    for name, fs in files.items():
        s = seg.specs[name]
        seg.n[name] = n
        if seg.layout == "per_signal":
            width = 1 if name.startswith("digital") else len(s.channels)
            seg.data[name] = _memmap(fs[0], s.stored_dtype, (n, width))
        else:
            seg.data[name] = [_memmap(f, s.stored_dtype, (n,)) for f in fs]


def _memmap(path: Path, dtype, shape):
    if shape[0] == 0:
        return np.zeros(shape, dtype)
    return np.memmap(path, dtype=dtype, mode="r", shape=shape)


def _count(path: Path, frame: int, strict: bool) -> int:
    n, rem = divmod(path.stat().st_size, frame)
    if rem:
        msg = f"ends in a partial sample ({rem} of {frame} bytes), dropped."
        if strict:
            raise FileFormatError(path, msg)
        warnings.warn(f"{path}: {msg}", stacklevel=5)
    return n


# ---------------------------------------------------------------------------------------------
class IntanRecording(Recording):
    """A lazy Intan recording of one or more files (see :func:`read_intan`)."""

    def __init__(self, paths: Sequence[Path], *, strict: bool = False, scan_timestamps: bool = False):
        self._segments = [_open_segment(Path(p), strict=strict) for p in paths]
        first = self._segments[0]
        for seg in self._segments[1:]:
            _check_compatible(first, seg)
        h = first.header
        self.header = h
        self.layout = first.layout
        self.files = tuple(os.fspath(s.path) for s in self._segments)
        self.data_files = tuple(os.fspath(f) for s in self._segments for f in s.data_files)
        self.streams = {}
        self._starts = {}
        for name, s in first.specs.items():
            counts = [seg.n[name] for seg in self._segments]
            self._starts[name] = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
            self.streams[name] = Stream(
                name=name, sampling_rate=float(s.sampling_rate), n_samples=int(sum(counts)),
                channel_names=s.channel_names, units=ih.UNITS[name],
                gain=np.full(len(s.channels), s.gain, dtype=np.float64),
                offset=np.full(len(s.channels), s.offset, dtype=np.float64),
                raw_dtype=np.dtype(s.raw_dtype),
                channel_info=_channel_info(s, first.header))
        counts = [seg.n["_time"] for seg in self._segments]
        self._starts["_time"] = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.gaps = tuple(_find_gaps(self._segments, self._starts["_time"], scan_timestamps))
        if self.gaps:
            total = sum(g.n_missing for g in self.gaps)
            warnings.warn(f"{self.files[0]}: the timestamps have {len(self.gaps)} gap(s) ({total} samples missing "
                          f"in all, first at sample {self.gaps[0].sample}); see recording.gaps.", stacklevel=3)
        self.annotations = _annotations(h, self.layout, first)
        log.debug("opened %s Intan %s recording: %d file(s)/folder(s), %d samples", self.layout, h.fmt,
                  len(self.files), self.n_samples)

    # -- Recording API ---------------------------------------------------------------------------
    def _read_raw(self, stream, start, stop, channel_idx):
        s = self.streams[stream]
        starts = self._starts[stream]
        k = int(np.searchsorted(starts, start, side="right")) - 1
        if 0 <= k < len(self._segments) and stop <= starts[k + 1]:
            # one segment covers the range: hand back its (fresh) copy instead of copying it again
            raw = self._read_segment(self._segments[k], stream, start - starts[k], stop - starts[k], channel_idx)
            if raw.dtype == s.raw_dtype and raw.flags.writeable and _owns(raw):
                return raw
        out = np.empty((stop - start, len(channel_idx)), dtype=s.raw_dtype)
        for k, seg in enumerate(self._segments):
            lo, hi = max(start, starts[k]), min(stop, starts[k + 1])
            if lo >= hi:
                continue
            out[lo - start: hi - start] = self._read_segment(seg, stream, lo - starts[k], hi - starts[k], channel_idx)
        return out

    def _view(self, stream):
        # one file per signal type holds a stream as one C-ordered (samples, channels) memory map
        seg = self._segments[0]
        if (len(self._segments) > 1 or seg.layout != "per_signal" or stream == "stim"
                or stream.startswith("digital") or seg.data[stream].shape[1] != self.streams[stream].n_channels):
            return None
        return np.asarray(seg.data[stream])

    def timestamps(self, start: int | None = None, stop: int | None = None) -> np.ndarray:
        """Intan's sample timestamps (int64) of samples ``start:stop`` of the full-rate streams."""
        return self._concat("_time", start, stop, lambda seg, a, b: seg.timestamps(a, b), np.int64)

    def stim_flags(self, start: int | None = None, stop: int | None = None, channels=None) -> dict[str, np.ndarray]:
        """RHS only: boolean (samples, channels) arrays ``compliance_limit``, ``charge_recovery``, ``amp_settle``."""
        s = self.stream("stim")
        idx = self._channel_indices(s, channels)
        words = self._concat("stim", start, stop,
                             lambda seg, a, b: self._read_segment(seg, "stim", a, b, idx, decode=False), np.uint16)
        return {"compliance_limit": (words & 0x8000) != 0, "charge_recovery": (words & 0x4000) != 0,
                "amp_settle": (words & 0x2000) != 0}

    @property
    def sampling_rate(self) -> float:
        return float(self.header.sampling_rate)

    @property
    def n_samples(self) -> int:
        return int(self._starts["_time"][-1])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sampling_rate

    # -- internals -------------------------------------------------------------------------------
    def _concat(self, key, start, stop, read, dtype):
        starts = self._starts[key]
        n = int(starts[-1])
        start = 0 if start is None else int(start)
        stop = n if stop is None else int(stop)
        if not 0 <= start <= stop <= n:
            raise NeuroitError(f"Sample range must satisfy 0 <= start <= stop <= {n}; got start={start}, stop={stop}.")
        parts = []
        for k, seg in enumerate(self._segments):
            lo, hi = max(start, starts[k]), min(stop, starts[k + 1])
            if lo < hi:
                parts.append(read(seg, int(lo - starts[k]), int(hi - starts[k])))
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros((0,), dtype)

    def _read_segment(self, seg, stream, start, stop, idx, decode=True):
        spec = seg.specs[stream]
        data = seg.data[stream]
        digital = stream.startswith("digital")
        if seg.layout == "per_channel":
            raw = np.empty((stop - start, len(idx)), dtype=spec.stored_dtype)
            for j, i in enumerate(idx):
                raw[:, j] = data[i][start:stop]
            if digital:
                return (raw & 1).astype(np.uint16)
        elif seg.layout == "per_signal":
            if digital:
                return _bits(np.asarray(data[start:stop, 0]), [spec.channels[i] for i in idx])
            raw = np.array(data[start:stop]) if _is_all(idx, data.shape[1]) else np.asarray(data[start:stop, idx])
        else:
            p = spec.per_block
            b0, b1 = start // p, -(-stop // p)
            a, b = start - b0 * p, stop - b0 * p
            if digital:
                word = np.asarray(data[b0:b1]).reshape(-1)[a:b]
                return _bits(word, [spec.channels[i] for i in idx])
            block = data[b0:b1]
            block = np.asarray(block) if _is_all(idx, block.shape[1]) else block[:, idx, :]
            raw = block.transpose(0, 2, 1).reshape(-1, len(idx))[a:b]
        if stream == "stim" and decode:
            return _decode_stim(raw)
        return raw


def _owns(a: np.ndarray) -> bool:
    """True when ``a`` is (a view of) a fresh in-memory array, not of a memory-mapped file."""
    base = a if a.base is None else a.base
    return type(a) is np.ndarray and isinstance(base, np.ndarray) and type(base) is np.ndarray and base.flags.owndata


def _is_all(idx: np.ndarray, n: int) -> bool:
    """True when ``idx`` selects every channel in order (a plain slice then avoids a gather)."""
    return len(idx) == n and bool(np.all(idx == np.arange(n)))


def _bits(word: np.ndarray, channels) -> np.ndarray:
    out = np.empty((word.shape[0], len(channels)), dtype=np.uint16)
    for j, ch in enumerate(channels):
        out[:, j] = (word >> np.uint16(ih.digital_bit(ch))) & np.uint16(1)
    return out


def _decode_stim(words: np.ndarray) -> np.ndarray:
    words = np.asarray(words, dtype=np.uint16)
    mag = (words & 0xFF).astype(np.int16)
    return np.where((words & 0x100) != 0, -mag, mag).astype(np.int16)


def _check_compatible(a: _Segment, b: _Segment) -> None:
    ha, hb = a.header, b.header
    problems = []
    if (ha.fmt, a.layout) != (hb.fmt, b.layout):
        problems.append(f"it is a {hb.fmt} {b.layout} file, the first a {ha.fmt} {a.layout} one")
    if ha.version != hb.version:
        problems.append(f"its header version is {hb.version[0]}.{hb.version[1]}, not {ha.version[0]}.{ha.version[1]}")
    if ha.sampling_rate != hb.sampling_rate:
        problems.append(f"its sampling rate is {hb.sampling_rate:g} Hz, not {ha.sampling_rate:g} Hz")
    for name in set(a.specs) | set(b.specs):
        na = a.specs[name].channel_names if name in a.specs else ()
        nb = b.specs[name].channel_names if name in b.specs else ()
        if na != nb:
            problems.append(f"its {name} channels differ ({len(nb)} vs {len(na)})")
    if problems:
        raise FileFormatError(b.path, f"cannot continue the recording of {a.path}: {'; '.join(problems)}.")


def _channel_info(s: ih.StreamSpec, h: ih.Header) -> dict:
    ch = s.channels
    port = [c.native_name.split("-")[0] if s.name in ("amplifier", "aux", "supply", "stim", "dc_amplifier") else ""
            for c in ch]
    return {"native_order": np.array([c.native_order for c in ch], dtype=np.int64),
            "custom_name": np.array([c.custom_name or c.native_name for c in ch], dtype=object),
            "port": np.array(port, dtype=object),
            "impedance_ohm": np.array([c.impedance_magnitude for c in ch], dtype=np.float64)}


def _annotations(h: ih.Header, layout: str, seg: _Segment) -> dict:
    ann = {
        "format": "RHD2000" if h.fmt == "rhd" else "RHS2000", "fmt": h.fmt,
        "version": f"{h.version[0]}.{h.version[1]}", "layout": layout, "notes": tuple(h.notes),
        "eval_board_mode": h.eval_board_mode, "reference_channel": h.reference_channel,
        "dsp_enabled": bool(h.dsp_enabled), "dsp_cutoff_hz": h.dsp_cutoff[0],
        "lower_bandwidth_hz": h.lower_bandwidth[0], "upper_bandwidth_hz": h.upper_bandwidth[0],
        "notch_filter_mode": h.notch_filter_mode, "block_size": h.block_size,
        "num_temp_sensors": h.num_temp_sensors, "disabled_channels": tuple(h.disabled_channels()),
        "disabled_groups": tuple(g.prefix for g in h.groups if not g.enabled),
        "first_timestamp": int(seg.timestamps(0, 1)[0]) if seg.n["_time"] else None,
    }
    if h.fmt == "rhs":
        ann.update(stim_step_size_a=h.stim_step_size, dc_amplifier_saved=h.dc_amplifier_saved,
                   amp_settle_mode=h.amp_settle_mode, charge_recovery_mode=h.charge_recovery_mode)
    return ann


# gap detection --------------------------------------------------------------------------------
def _segment_gaps(seg: _Segment, offset: int, scan: bool) -> list[Gap]:
    n = seg.n["_time"]
    if n < 2:
        return []
    first, last = seg.timestamps(0, 1)[0], seg.timestamps(n - 1, n)[0]
    if not scan and last - first == n - 1:
        return []
    gaps = []
    prev = None
    for a in range(0, n, _SCAN_CHUNK):
        t = seg.timestamps(a, min(n, a + _SCAN_CHUNK))
        if prev is not None:
            t = np.concatenate([[prev], t])
            base = a - 1
        else:
            base = a
        d = np.diff(t)
        for i in np.flatnonzero(d != 1):
            gaps.append(Gap(int(offset + base + i + 1), int(d[i] - 1), os.fspath(seg.path)))
        prev = t[-1]
    return gaps


def _find_gaps(segments, starts, scan: bool) -> list[Gap]:
    gaps = []
    prev_last = None
    for k, seg in enumerate(segments):
        n = seg.n["_time"]
        if n == 0:
            continue
        if prev_last is not None:
            first = seg.timestamps(0, 1)[0]
            if first != prev_last + 1:
                gaps.append(Gap(int(starts[k]), int(first - prev_last - 1), os.fspath(seg.path)))
        gaps.extend(_segment_gaps(seg, int(starts[k]), scan))
        prev_last = seg.timestamps(n - 1, n)[0]
    return gaps


# ---------------------------------------------------------------------------------------------
def describe(recording: Recording) -> str:
    """A header summary: format, version, layout, rate, channels per stream, duration, notes, gaps, files."""
    ann = getattr(recording, "annotations", {}) or {}
    lines = []
    fmt = ann.get("format")
    if fmt:
        layout = _LAYOUT_NAMES.get(ann.get("layout"), ann.get("layout", ""))
        lines.append(f"Intan {fmt} recording, header version {ann.get('version')}, {layout}")
    else:
        lines.append(f"{type(recording).__name__} ({ann.get('source', 'in memory')})")
    n = recording.n_samples
    lines.append(f"sampling rate: {recording.sampling_rate:g} Hz")
    lines.append(f"duration: {recording.duration_s:.3f} s ({n} samples"
                 + (f", first timestamp {ann['first_timestamp']})" if ann.get("first_timestamp") is not None else ")"))
    lines.append("streams:")
    for name, s in recording.streams.items():
        names = s.channel_names
        shown = ", ".join(names) if len(names) <= 4 else f"{names[0]}, {names[1]}, …, {names[-1]}"
        lines.append(f"  {name:<13}{s.n_channels:>4} ch  {s.sampling_rate:>9g} Hz  {s.units:<5} {shown}")
    if fmt:
        notes = [x for x in ann.get("notes", ()) if x]
        lines.append("notes: " + (" | ".join(notes) if notes else "(none)"))
        bw = (f"bandwidth {ann['lower_bandwidth_hz']:g}–{ann['upper_bandwidth_hz']:g} Hz, "
              f"DSP {'on' if ann['dsp_enabled'] else 'off'} ({ann['dsp_cutoff_hz']:g} Hz), "
              f"notch {_NOTCH.get(ann['notch_filter_mode'], ann['notch_filter_mode'])}, "
              f"eval board mode {ann['eval_board_mode']}")
        if ann.get("reference_channel"):
            bw += f", reference {ann['reference_channel']}"
        lines.append(f"settings: {bw}")
        if ann.get("fmt") == "rhs":
            lines.append(f"stimulation: step {ann['stim_step_size_a'] * 1e6:g} µA, DC amplifier data "
                         f"{'saved' if ann['dc_amplifier_saved'] else 'not saved'}")
        dis = ann.get("disabled_channels", ())
        dg = ann.get("disabled_groups", ())
        if dis or dg:
            lines.append(f"disabled: {len(dis)} channel(s) {', '.join(dis[:8])}{' …' if len(dis) > 8 else ''}"
                         + (f"; group(s) {', '.join(dg)}" if dg else ""))
    gaps = getattr(recording, "gaps", ())
    if gaps:
        lines.append(f"gaps: {len(gaps)}")
        for g in gaps[:10]:
            lines.append(f"  at sample {g.sample} ({g.sample / recording.sampling_rate:.3f} s): "
                         f"{g.n_missing} samples missing, in {g.file}")
        if len(gaps) > 10:
            lines.append(f"  … and {len(gaps) - 10} more")
    else:
        lines.append("gaps: none")
    files = getattr(recording, "files", ())
    if files:
        data_files = getattr(recording, "data_files", files)
        size = sum(os.path.getsize(f) for f in data_files if os.path.isfile(f))
        if os.path.isdir(files[0]):
            lines.append(f"files: {len(files)} folder(s) holding {len(data_files)} files, {size / 1e6:.1f} MB")
        else:
            lines.append(f"files: {len(files)} file(s), {size / 1e6:.1f} MB")
        for f in files[:10]:
            lines.append(f"  {f}")
        if len(files) > 10:
            lines.append(f"  … and {len(files) - 10} more")
    return "\n".join(lines)
