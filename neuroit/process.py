"""``neuroit process``: session folders of raw files → one merged ``stimulus_id × site`` tensor.

Per session (:func:`process_session`): read the Intan files and the stimulus log, detect threshold
crossings, align the presentations to the photodiode, bin the spikes (70–170 ms). Across sessions
(:func:`process`): z-score each session to its normalizer images, keep the reliable sites, merge
the sessions on one stimulus axis, write the tensor atomically, and summarise.

A session folder holds ``intan/`` (any Intan layout), ``mworks/*.mwk2`` (or a CSV presentation log
``presentations.csv``) and ``stimuli.csv``. Parameters come from a :class:`ProcessConfig`
(TOML or YAML file; defaults are the lab recipe).

Re-running skips what is done: per-session spike trains, alignments and rates are cached in a folder
next to the output (``<out>.cache/``, never in the input folders), keyed by the content fingerprint
of their input files and the parameters of the stage. A file's fingerprint is its size,
modification time and SHA-256 — of the whole file up to 1 MiB, of its first and last 64 KiB beyond.
An interrupted run resumes from the stages it finished.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from neuroit._atomic import atomic_path
from neuroit.errors import FileFormatError, NeuroitError
from neuroit.stimuli.table import read_stimulus_set

log = logging.getLogger(__name__)

CACHE_VERSION = 1
_SMALL = 1 << 20
_EDGE = 1 << 16


# -- configuration -------------------------------------------------------------------------------
@dataclass
class DetectConfig:
    band: tuple[float, float] = (300.0, 6000.0)
    ftype: str = "ellip"
    order: int = 2
    ripple_db: float = 0.1
    stop_db: float = 50.0
    notch: float | None = None
    threshold: float = 3.0
    sign: str = "neg"
    noise: str = "mad"
    noise_scope: str = "session"
    dead_time_ms: float = 0.0
    chunk_s: float = 1.0
    n_jobs: int | None = None


@dataclass
class AlignConfig:
    pulse_channel: str = "DIGITAL-IN-02"
    pulse_stream: str = "digital_in"
    photodiode_channel: str = "ANALOG-IN-1"
    photodiode_stream: str = "adc"
    polarity: str = "positive"
    hysteresis: float = 0.5
    onset_fraction: float = 0.05
    min_off_ms: float = 5.0
    window_ms: tuple[float, float] = (0.0, 100.0)
    warn_latency_ms: float = 40.0
    match_tolerance_ms: float = 5.0
    guard_ms: float = 200.0
    exclude_broken_fixation: bool = True


@dataclass
class BinConfig:
    window_ms: tuple[float, float] = (70.0, 170.0)
    bin_ms: float | None = None
    psth_ms: tuple[float, float] = (-100.0, 300.0)


@dataclass
class NormalizeConfig:
    enabled: bool = True
    normalizer: str = "is_normalizer"
    normalizer_pattern: str = r"(^|/)normalizers/"
    exclude: tuple[str, ...] = (r"blank", r"gr[ae]y")
    across: str = "presentations"
    separate_sessions: bool = True


@dataclass
class QualityConfig:
    normalizer_threshold: float | None = 0.75
    experiment_threshold: float | None = 0.7
    n_splits: int = 100
    seed: int = 0
    min_repetitions: int = 2


@dataclass
class SitesConfig:
    animal: str = ""
    regions: dict = field(default_factory=lambda: {"A": "posterior", "B": "central", "C": "anterior"})
    site_map: str = ""


@dataclass
class OutputConfig:
    combine: str = "mean"
    checksums: bool = True


_SECTIONS = {
    "detect": DetectConfig,
    "align": AlignConfig,
    "bin": BinConfig,
    "normalize": NormalizeConfig,
    "quality": QualityConfig,
    "sites": SitesConfig,
    "output": OutputConfig,
}


@dataclass
class ProcessConfig:
    """Every parameter of ``neuroit process``, in sections (``[detect]``, ``[align]``, ...).

    Build with ``ProcessConfig()`` (the defaults), :meth:`from_file` (TOML or YAML) or
    :meth:`from_dict`; unknown sections or keys and values of the wrong type are errors naming them.
    """

    detect: DetectConfig = field(default_factory=DetectConfig)
    align: AlignConfig = field(default_factory=AlignConfig)
    bin: BinConfig = field(default_factory=BinConfig)
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    sites: SitesConfig = field(default_factory=SitesConfig)
    output: OutputConfig = field(default_factory=OutputConfig)

    @classmethod
    def from_dict(cls, data: dict, *, source: str = "config") -> "ProcessConfig":
        if not isinstance(data, dict):
            raise NeuroitError(f"{source}: expected a table of sections; got {type(data).__name__}.")
        unknown = sorted(set(data) - set(_SECTIONS))
        if unknown:
            raise NeuroitError(f"{source}: unknown section(s) {unknown}; expected some of {sorted(_SECTIONS)}.")
        sections = {}
        for name, klass in _SECTIONS.items():
            values = data.get(name, {}) or {}
            if not isinstance(values, dict):
                raise NeuroitError(f"{source}: section [{name}] must be a table of keys; got {values!r}.")
            sections[name] = _build_section(klass, values, f"{source} [{name}]")
        return cls(**sections)

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "ProcessConfig":
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(2, "No such config file", os.fspath(path))
        text = path.read_text(encoding="utf-8")
        try:
            if path.suffix.lower() in (".yaml", ".yml"):
                import yaml

                data = yaml.safe_load(text) or {}
            elif path.suffix.lower() == ".toml":
                data = _load_toml(text)
            else:
                raise FileFormatError(path, "a config file must end in .toml, .yaml or .yml.")
        except FileFormatError:
            raise
        except Exception as exc:  # the parsers' own errors: one line naming the file
            first = (str(exc).splitlines() or [""])[0]
            raise FileFormatError(path, f"cannot be parsed ({type(exc).__name__}: {first}).") from None
        return cls.from_dict(data, source=os.fspath(path))

    def to_dict(self) -> dict:
        return json.loads(json.dumps(dataclasses.asdict(self)))


def _load_toml(text: str) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise NeuroitError('Reading TOML on Python 3.10 needs tomli: pip install tomli (or use YAML).') from None
    return tomllib.loads(text)


def _build_section(klass, values: dict, where: str):
    fields = {f.name: f for f in dataclasses.fields(klass)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise NeuroitError(f"{where}: unknown key(s) {unknown}; expected some of {sorted(fields)}.")
    default = klass()
    kw = {}
    for k, v in values.items():
        kw[k] = _coerce(v, getattr(default, k), f"{where} {k}", fields[k].type)
    return klass(**kw)


def _coerce(v, default, where: str, annotation: str):
    optional = "None" in str(annotation)
    if v is None:
        if optional:
            return None
        raise NeuroitError(f"{where} must not be empty.")
    if isinstance(default, bool):
        if isinstance(v, bool):
            return v
    elif isinstance(default, tuple):
        if isinstance(v, (list, tuple)):
            if "str" in str(annotation):
                return tuple(str(x) for x in v)
            if len(v) == len(default) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
                return tuple(float(x) for x in v)
    elif isinstance(default, dict):
        if isinstance(v, dict):
            return {str(a): str(b) for a, b in v.items()}
    elif isinstance(v, bool):
        pass
    elif isinstance(default, float) or ("float" in str(annotation) and isinstance(v, (int, float))):
        if isinstance(v, (int, float)):
            return float(v)
    elif isinstance(default, int) or "int" in str(annotation):
        if isinstance(v, int):
            return v
    elif isinstance(default, str):
        if isinstance(v, str):
            return v
    raise NeuroitError(f"{where} must be like {default!r} ({annotation}); got {v!r}.")


# -- fingerprints and cache ----------------------------------------------------------------------
def fingerprint_file(path: str | os.PathLike) -> str:
    """Content fingerprint: size, mtime and SHA-256 of the whole file (≤ 1 MiB) or of its first and last 64 KiB."""
    path = Path(path)
    st = path.stat()
    h = hashlib.sha256(f"{st.st_size}:{st.st_mtime_ns}:".encode())
    with open(path, "rb") as f:
        if st.st_size <= _SMALL:
            h.update(f.read())
        else:
            h.update(f.read(_EDGE))
            f.seek(-_EDGE, os.SEEK_END)
            h.update(f.read(_EDGE))
    return h.hexdigest()


def _files_of(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(q for q in path.rglob("*") if q.is_file())
    return [path]


def _cache_version() -> str:
    from neuroit import __version__

    return f"{CACHE_VERSION}/{__version__}"


def _key(*parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(json.dumps(p, sort_keys=True, default=str).encode())
        h.update(b"\0")
    return h.hexdigest()[:20]


class _Cache:
    """Per-session stage results in ``root/<session>-<path hash>/<stage>-<key>.<ext>``."""

    def __init__(self, root: Path | None):
        self.root = root
        self._sha_path = root / "sha256.json" if root else None
        self._sha = {}
        if self._sha_path and self._sha_path.is_file():
            try:
                self._sha = json.loads(self._sha_path.read_text())
            except (OSError, ValueError):
                self._sha = {}

    def path(self, session: Path, stage: str, key: str, ext: str) -> Path | None:
        if self.root is None:
            return None
        tag = hashlib.sha256(os.fspath(session.resolve()).encode()).hexdigest()[:8]
        folder = self.root / f"{session.name}-{tag}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{stage}-{key}{ext}"

    def sha256(self, path: Path) -> dict:
        """``{"path", "size", "sha256"}`` with the digest remembered by (path, size, mtime)."""
        from neuroit.tensor.store import sha256_file

        st = path.stat()
        k = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
        if k not in self._sha:
            self._sha[k] = sha256_file(path)
        return {"path": os.fspath(path), "size": st.st_size, "sha256": self._sha[k]}

    def save_checksums(self) -> None:
        if self._sha_path is None:
            return
        with atomic_path(self._sha_path) as tmp:
            tmp.write_text(json.dumps(self._sha, indent=0))


# -- one session ---------------------------------------------------------------------------------
@dataclass
class SessionFiles:
    folder: Path
    intan: Path
    log: Path
    stimuli: Path
    name: str
    date: str


def find_session_files(session_dir: str | os.PathLike) -> SessionFiles:
    """The Intan folder, the stimulus log and the stimulus table of a session folder."""
    folder = Path(session_dir)
    if not folder.is_dir():
        raise NeuroitError(f"{os.fspath(folder)}: not a session folder (expected a folder with intan/, "
                           f"mworks/*.mwk2 or presentations.csv, and stimuli.csv).")
    intan = folder / "intan"
    if not intan.exists():
        raise FileFormatError(folder, "has no intan/ folder with the Intan recording.")
    mwk = sorted((folder / "mworks").glob("*.mwk2")) if (folder / "mworks").is_dir() else []
    if len(mwk) > 1:
        raise FileFormatError(folder / "mworks", f"holds {len(mwk)} .mwk2 files; expected one per session.")
    if mwk:
        log_file = mwk[0]
    else:
        logs = [p for p in (folder / "presentations.csv", folder / "presentations.tsv") if p.is_file()]
        if not logs:
            raise FileFormatError(folder, "has neither mworks/*.mwk2 nor presentations.csv (the stimulus log).")
        log_file = logs[0]
    stimuli = folder / "stimuli.csv"
    if not stimuli.is_file():
        raise FileFormatError(folder, "has no stimuli.csv (the stimulus table).")
    return SessionFiles(folder, intan, log_file, stimuli, folder.name, _session_date(folder))


def _session_date(folder: Path) -> str:
    names = [folder.name] + [p.name for p in (folder / "intan").glob("*.rh[ds]")] + [(folder / "intan").name]
    for n in names:
        m = re.search(r"(20\d\d)-(\d\d)-(\d\d)", n) or re.search(r"(?<!\d)(20\d\d)(\d\d)(\d\d)(?!\d)", n)
        if m:
            return f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
        m = re.search(r"_(\d\d)(\d\d)(\d\d)_\d{6}", n)  # Intan's _YYMMDD_HHMMSS suffix
        if m:
            return f"20{m.group(1)}-{m.group(2)}-{m.group(3)}"
    return ""


def _site_table(recording, config: ProcessConfig, animal: str) -> pd.DataFrame:
    s = recording.stream("amplifier")
    names = list(s.channel_names)
    port = s.channel_info.get("port") if s.channel_info else None
    port = [str(p) for p in port] if port is not None else [n.split("-")[0] if "-" in n else "" for n in names]
    ports = sorted(set(port))
    table = pd.DataFrame({
        "electrode": names,
        "port": port,
        "array": [ports.index(p) for p in port],
        "region": [config.sites.regions.get(p, "") for p in port],
        "animal": animal,
    })
    if config.sites.site_map:
        m = pd.read_csv(config.sites.site_map, dtype=str, keep_default_na=False)
        if "electrode" not in m:
            raise FileFormatError(config.sites.site_map, "a site map needs an 'electrode' column.")
        m = m.set_index("electrode")
        for c in ("array", "region", "port", "site"):
            if c in m:
                vals = [m[c].get(e, None) for e in names]
                if c == "site":
                    table["site"] = [v if v else None for v in vals]
                else:
                    table[c] = [(int(v) if c == "array" else v) if v not in (None, "") else old
                                for v, old in zip(vals, table[c])]
    if "site" not in table or table["site"].isna().any():
        default = [f"{animal}/{e}" if animal else e for e in names]
        table["site"] = default if "site" not in table else table["site"].fillna(pd.Series(default))
    return table[["site", "electrode", "array", "port", "region", "animal"]]


def process_session(
    session_dir: str | os.PathLike,
    *,
    config: ProcessConfig | None = None,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = False,
    return_table: bool = False,
):
    """Rates (spikes/s, ``presentation × site``) of one session folder, for the presentations kept.

    Reads the Intan recording and the stimulus log, detects threshold crossings, aligns the
    presentations to the photodiode and bins the spikes in ``config.bin.window_ms``.
    ``attrs["alignment"]`` summarises the alignment (presentations, kept, dropped per reason,
    photodiode latencies, clock fit); with ``return_table=True`` the result is ``(rates, table)``,
    ``table`` being every presentation with its onset, latency, ``status`` and ``reason``
    (:func:`neuroit.events.align_to_photodiode`). With ``cache_dir``, stage results are cached there.
    """
    rates, table, _ = _run_session(Path(session_dir), config or ProcessConfig(), _Cache(_as_path(cache_dir)),
                                   progress)
    return (rates, table) if return_table else rates


def _as_path(p):
    return Path(p) if p is not None else None


def _run_session(folder: Path, config: ProcessConfig, cache: _Cache, progress: bool):
    """(rates, presentation table with status, timings/cache-hit info) of one session."""
    from neuroit.dsp import SpikeTrains, detect_crossings
    from neuroit.events import (
        align_to_photodiode, bin_counts, detect_digital_edges, detect_photodiode_onsets, read_presentations,
    )
    from neuroit.io import read_intan
    from neuroit.tensor import open_tensor, to_netcdf

    timings, hits = {}, {}
    t0 = time.perf_counter()
    files = find_session_files(folder)
    recording = read_intan(files.intan)
    stimuli = read_stimulus_set(files.stimuli, check_files=False, required=(),
                                normalizer_pattern=config.normalize.normalizer_pattern)
    intan_fp = [(f.name, fingerprint_file(f)) for f in _files_of(files.intan)]
    log_fp = fingerprint_file(files.log)
    stim_fp = fingerprint_file(files.stimuli)
    timings["read"] = time.perf_counter() - t0

    # spikes
    t0 = time.perf_counter()
    dkw = dataclasses.asdict(config.detect)
    n_jobs = dkw.pop("n_jobs")
    spikes_path = cache.path(folder, "spikes", _key(_cache_version(), intan_fp, dkw), ".npz")
    if spikes_path is not None and spikes_path.is_file():
        spikes = SpikeTrains.load(spikes_path)
        hits["detect"] = True
    else:
        dkw["band"] = tuple(dkw["band"])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            spikes = detect_crossings(recording, **dkw, n_jobs=n_jobs, progress=progress, out=spikes_path)
        for w in caught:
            log.warning("%s: %s", files.name, w.message)
        hits["detect"] = False
    timings["detect"] = time.perf_counter() - t0

    # presentations + alignment
    t0 = time.perf_counter()
    akw = dataclasses.asdict(config.align)
    events_path = cache.path(folder, "events", _key(_cache_version(), intan_fp, log_fp, stim_fp, akw), ".pkl")
    if events_path is not None and events_path.is_file():
        table = pd.read_pickle(events_path)
        hits["align"] = True
    else:
        a = config.align
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pres = read_presentations(files.log, stimuli=stimuli)
            pulses = detect_digital_edges(recording, a.pulse_channel, stream=a.pulse_stream)
            flashes = detect_photodiode_onsets(
                recording, a.photodiode_channel, stream=a.photodiode_stream, polarity=a.polarity,
                hysteresis=a.hysteresis, onset_fraction=a.onset_fraction, min_off_ms=a.min_off_ms)
            table = align_to_photodiode(
                pres, pulses, flashes, sampling_rate=recording.stream(a.pulse_stream).sampling_rate,
                window_ms=a.window_ms, warn_latency_ms=a.warn_latency_ms, match_tolerance_ms=a.match_tolerance_ms,
                guard_ms=a.guard_ms, exclude_broken_fixation=a.exclude_broken_fixation)
        for w in caught:
            log.warning("%s: %s", files.name, w.message)
        table.attrs["warnings"] = [str(w.message) for w in caught]
        _drop_outside(table, config, recording)
        table.attrs["session"] = files.name
        if events_path is not None:
            with atomic_path(events_path) as tmp:
                table.to_pickle(tmp)
        hits["align"] = False
    timings["align"] = time.perf_counter() - t0

    # binning
    t0 = time.perf_counter()
    bkw = dataclasses.asdict(config.bin)
    skw = dataclasses.asdict(config.sites)
    rates_path = cache.path(folder, "rates", _key(_cache_version(), spikes_path and spikes_path.name,
                                                  events_path and events_path.name, stim_fp, bkw, skw,
                                                  config.normalize.normalizer_pattern), ".nc")
    psth_path = rates_path and rates_path.with_name("psth" + rates_path.name[len("rates"):])
    want_psth = config.bin.bin_ms is not None
    if rates_path is not None and rates_path.is_file() and (not want_psth or psth_path.is_file()):
        rates = open_tensor(rates_path)
        psth = open_tensor(psth_path) if want_psth else None
        hits["bin"] = True
    else:
        rates, psth = _bin_session(spikes, table, stimuli, recording, files, config, bin_counts)
        if rates_path is not None:
            if want_psth:
                to_netcdf(psth, psth_path, compression=None)
            to_netcdf(rates, rates_path, compression=None)
        hits["bin"] = False
    timings["bin"] = time.perf_counter() - t0
    info = {"timings_s": timings, "cached": hits, "files": files, "psth": psth,
            "duration_s": recording.duration_s, "n_channels": len(spikes)}
    return rates, table, info


def _drop_outside(table: pd.DataFrame, config: ProcessConfig, recording) -> None:
    """Presentations whose counting window leaves the recording are dropped (reason ``window_outside_recording``)."""
    fs = recording.sampling_rate
    w0, w1 = config.bin.window_ms
    if config.bin.bin_ms is not None:
        w0, w1 = min(w0, config.bin.psth_ms[0]), max(w1, config.bin.psth_ms[1])
    on = table["onset_sample"].to_numpy()
    keep = table["status"].to_numpy() != "dropped"
    outside = keep & (on >= 0) & ((on + round(w0 * fs / 1000) < 0) | (on + round(w1 * fs / 1000) > recording.n_samples))
    table.loc[outside, "status"] = "dropped"
    table.loc[outside, "reason"] = "window_outside_recording"


def _bin_session(spikes, table, stimuli, recording, files, config, bin_counts):
    kept = table[table["status"] != "dropped"].reset_index(drop=True)
    meta = stimuli.set_index("stimulus_id")
    pres = pd.DataFrame({
        "stimulus_id": kept["stimulus_id"].astype(str).to_numpy(dtype=object),
        "image_file": meta.loc[kept["stimulus_id"], "image_file"].to_numpy(dtype=object),
        "object_label": meta.loc[kept["stimulus_id"], "object_label"].to_numpy(dtype=object),
        "domain": meta.loc[kept["stimulus_id"], "domain"].to_numpy(dtype=object),
        "is_normalizer": meta.loc[kept["stimulus_id"], "is_normalizer"].to_numpy(dtype=bool),
        "repetition": kept.groupby("stimulus_id").cumcount().to_numpy(np.int64),
        "trial": kept["trial"].to_numpy(np.int64),
        "order_in_trial": kept["order_in_trial"].to_numpy(np.int64),
        "fixation_correct": kept["fixation_correct"].to_numpy(bool),
        "session": files.name,
        "date": files.date,
        "photodiode_latency_ms": kept["photodiode_latency_ms"].to_numpy(np.float64),
        "presentation_number": kept["presentation"].to_numpy(np.int64),
    })
    animal = config.sites.animal
    sites = _site_table(recording, config, animal)
    onsets = kept["onset_sample"].to_numpy(np.int64)
    rates = bin_counts(spikes, onsets, window_ms=config.bin.window_ms, presentations=pres, sites=sites)
    psth = None
    if config.bin.bin_ms is not None:
        psth = bin_counts(spikes, onsets, bin_ms=config.bin.bin_ms, psth_ms=config.bin.psth_ms,
                          presentations=pres, sites=sites)
    detect = {k: v for k, v in spikes.attrs.items() if not isinstance(v, (list, tuple, dict)) or k == "band"}
    for r in (rates, psth):
        if r is not None:
            r.attrs.update(session=files.name, date=files.date, alignment=alignment_summary(table), detect=detect)
    return rates, psth


def alignment_summary(table: pd.DataFrame) -> dict:
    """Counts of kept and dropped presentations (per reason), latency statistics and the clock fit."""
    status = table["status"].to_numpy()
    kept = status != "dropped"
    lat = table["photodiode_latency_ms"].to_numpy(np.float64)[kept]
    lat = lat[np.isfinite(lat)]
    stats = ({"median": float(np.median(lat)), "min": float(lat.min()), "max": float(lat.max()),
              "p5": float(np.percentile(lat, 5)), "p95": float(np.percentile(lat, 95))} if lat.size else {})
    clock = table.attrs.get("clock", {})
    return {
        "n_presentations": int(len(table)),
        "n_kept": int(kept.sum()),
        "n_late": int((status == "warning").sum()),
        "dropped": {str(k): int(v) for k, v in pd.Series(table["reason"][~kept]).value_counts().items()},
        "latency_ms": stats,
        "clock": {k: clock[k] for k in ("drift_ppm", "offset_us", "residual_sd_ms", "n_matched") if k in clock},
        "unmatched_pulses": len(table.attrs.get("unmatched_pulses", [])),
        "unmatched_flashes": len(table.attrs.get("unmatched_flashes", [])),
    }


# -- many sessions -------------------------------------------------------------------------------
@dataclass
class ProcessResult:
    """What :func:`process` made: the merged tensor, per-session tables, the site report, timings."""

    tensor: object
    out: Path
    psth: object
    presentations: pd.DataFrame
    sites: pd.DataFrame
    sessions: list[dict]
    timings_s: dict
    real_time_s: float

    def summary(self) -> str:
        return format_summary(self)


def default_cache_dir(out: str | os.PathLike) -> Path:
    """``<out>.cache`` beside the output file."""
    out = Path(out)
    return out.with_name(out.name + ".cache")


def process(
    session_dirs,
    *,
    out: str | os.PathLike,
    config: ProcessConfig | str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    cache: bool = True,
    progress: bool = True,
) -> ProcessResult:
    """Run every session, z-score, select stable sites, merge and write ``out`` (``.nc`` or ``.zarr``).

    Besides the tensor, writes ``<out stem>.sites.csv`` (per-site reliabilities, kept or why not)
    and ``<out stem>.presentations.csv`` (every presentation with its onset, latency, status and
    reason), and with ``[bin] bin_ms`` set ``<out stem>.psth<suffix>`` (``stimulus_id × site ×
    time_bin`` rates in spikes/s over ``psth_ms``, the same sites), all atomically. Stage results are cached in ``cache_dir`` (default ``<out>.cache``;
    ``cache=False`` disables it). Returns a :class:`ProcessResult`; ``.summary()`` is the text
    report that ``neuroit process`` prints.
    """
    from tqdm.auto import tqdm

    from neuroit.tensor import merge_sessions, to_netcdf, to_zarr

    t_all = time.perf_counter()
    if isinstance(config, (str, os.PathLike)):
        config = ProcessConfig.from_file(config)
    config = config or ProcessConfig()
    out = Path(out)
    if out.suffix.lower() not in (".nc", ".zarr"):
        raise NeuroitError(f"The output must be a .nc (NetCDF) or .zarr file; got {os.fspath(out)!r}.")
    folders = [Path(d) for d in ([session_dirs] if isinstance(session_dirs, (str, os.PathLike)) else session_dirs)]
    if not folders:
        raise NeuroitError("process needs at least one session folder.")
    for f in folders:
        find_session_files(f)  # fail early, before any long stage
        if _inside(out, f):
            raise NeuroitError(f"The output {os.fspath(out)!r} must not be inside the input folder {os.fspath(f)!r}.")
    names = [f.name for f in folders]
    if len(set(names)) != len(names):
        raise NeuroitError(f"Session folders must have distinct names; got {names}.")
    store = _Cache(Path(cache_dir) if cache_dir is not None else default_cache_dir(out)) if cache else _Cache(None)
    if store.root is not None:
        for f in folders:
            if _inside(store.root, f):
                raise NeuroitError(f"The cache folder {os.fspath(store.root)!r} must not be inside the input "
                                   f"folder {os.fspath(f)!r}.")

    rates, psths, tables, sessions = [], [], [], []
    timings = {k: 0.0 for k in ("read", "detect", "align", "bin", "quality", "write")}
    bar = tqdm(folders, desc="sessions", unit="session", disable=not progress)
    for folder in bar:
        bar.set_postfix_str(folder.name)
        r, table, info = _run_session(folder, config, store, progress)
        for k, v in info["timings_s"].items():
            timings[k] += v
        t = table.copy()
        t.insert(0, "session", folder.name)
        tables.append(t)
        rates.append(r)
        psths.append(info["psth"])
        sessions.append({"session": folder.name, "date": info["files"].date, "folder": os.fspath(folder),
                         "duration_s": info["duration_s"], "n_channels": info["n_channels"],
                         "cached": info["cached"], **alignment_summary(table)})

    t0 = time.perf_counter()
    n = config.normalize
    normalizer = n.normalizer if n.normalizer != "pattern" else re.compile(n.normalizer_pattern)
    exclude = tuple(n.exclude) or None
    for r in rates:
        if r.sizes["presentation"] == 0:
            raise NeuroitError(f"Session {r.attrs.get('session')!r} kept no presentation; see the summary of "
                               f"dropped presentations (neuroit process -v).")
    scaled, report, references, ref_names = _normalize_and_select(rates, normalizer, exclude, config)
    for s_info in sessions:
        s_info["normalizer_reference"] = references.get(s_info["session"], "")
        s_info["role"] = "normalizer reference" if s_info["session"] in ref_names else "experiment"
    if not report["kept"].any():
        warnings.warn("No site passed the reliability thresholds; the output keeps every site "
                      "(see the site report).", stacklevel=2)
        keep = "union"
    else:
        keep = report
    stim_order = list(dict.fromkeys(s for f in folders if f.name not in ref_names
                                    for s in read_stimulus_set(find_session_files(f).stimuli, check_files=False,
                                                              required=())["stimulus_id"]))
    merged = merge_sessions(scaled, sites=keep, stimuli=stim_order, combine=config.output.combine)
    psth = None
    if config.bin.bin_ms is not None:
        psth = merge_sessions([p for p, f in zip(psths, folders) if f.name not in ref_names], sites=keep,
                              stimuli=stim_order, combine=config.output.combine)
    timings["quality"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    inputs = []
    if config.output.checksums:
        for folder in folders:
            files = find_session_files(folder)
            for p in [*_files_of(files.intan), files.log, files.stimuli]:
                inputs.append(store.sha256(p) if store.root is not None else _Cache(None).sha256(p))
        store.save_checksums()
    merged.attrs.update(
        inputs=inputs,
        process=config.to_dict(),
        session_summaries=[{k: v for k, v in s.items() if k != "cached"} for s in sessions],
        units="z" if n.enabled else "spikes/s",
    )
    write = to_zarr if out.suffix.lower() == ".zarr" else to_netcdf
    write(merged, out)
    if psth is not None:
        psth.attrs.update(inputs=inputs, process=config.to_dict(), units="spikes/s")
        write(psth, out.with_name(out.stem + ".psth" + out.suffix))
    presentations = pd.concat(tables, ignore_index=True)
    _write_csv(report, out.with_name(out.stem + ".sites.csv"))
    _write_csv(presentations, out.with_name(out.stem + ".presentations.csv"))
    timings["write"] = time.perf_counter() - t0
    return ProcessResult(tensor=merged, out=out, psth=psth, presentations=presentations, sites=report, sessions=sessions,
                         timings_s=timings, real_time_s=sum(s["duration_s"] for s in sessions))


def _normalize_and_select(rates: list, normalizer, exclude, config: ProcessConfig):
    """Z-score (to a same-day normalizer session when there is one), select sites; (tensors to merge, report, refs)."""
    import xarray as xr

    from neuroit.quality import select_sites, zscore_to_normalizer
    from neuroit.quality._rules import normalizer_mask

    n, q = config.normalize, config.quality
    is_ref = [bool(normalizer_mask(r, normalizer).all()) for r in rates]
    if not n.separate_sessions or all(is_ref) or not any(is_ref):
        is_ref = [False] * len(rates)
    refs = [r for r, f in zip(rates, is_ref) if f]
    experiment = [r for r, f in zip(rates, is_ref) if not f]
    used_refs, references, own = [], {}, []
    scaled = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for r in experiment:
            same_day = [x for x in refs if x.attrs.get("date", "") == r.attrs.get("date", "")]
            ref = (xr.concat(same_day, dim="presentation", combine_attrs="drop_conflicts") if same_day else None)
            if ref is not None:
                references[r.attrs.get("session")] = "+".join(x.attrs.get("session", "") for x in same_day)
                used_refs.extend(x for x in same_day if all(x is not u for u in used_refs))
            else:
                own.append(r.isel(presentation=np.flatnonzero(normalizer_mask(r, normalizer))))
            if not n.enabled:
                scaled.append(r)
            else:
                scaled.append(zscore_to_normalizer(r, normalizer=normalizer, exclude=exclude, across=n.across,
                                                   reference=ref))
    pooled = xr.concat(scaled, dim="presentation", join="outer", combine_attrs="drop_conflicts")
    reference = None
    if used_refs:
        reference = xr.concat(used_refs + own, dim="presentation", join="outer", combine_attrs="drop_conflicts")
    report = select_sites(pooled, normalizer_threshold=q.normalizer_threshold,
                          experiment_threshold=q.experiment_threshold, normalizer=normalizer, exclude=exclude,
                          n_splits=q.n_splits, seed=q.seed, min_repetitions=q.min_repetitions, reference=reference)
    return scaled, report, references, [r.attrs.get("session") for r in refs]


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    with atomic_path(path, suffix=".csv") as tmp:
        df.to_csv(tmp, index=False)


def _reason_category(reason: str) -> str:
    parts = []
    for part in str(reason).split("; "):
        m = re.match(r"(r_\w+?) (undefined|[-\d.naN]+ <= ([\d.]+))", part)
        if m:
            parts.append(f"{m.group(1)} undefined" if m.group(2) == "undefined" else f"{m.group(1)} <= {m.group(3)}")
        else:
            parts.append(part)
    return " and ".join(dict.fromkeys(parts))


def format_summary(result: ProcessResult) -> str:
    """The short text report: sessions, presentations kept and dropped, latencies, clock, sites."""
    lines = [f"neuroit process: {len(result.sessions)} session(s) -> {os.fspath(result.out)}"]
    for s in result.sessions:
        cached = [k for k, v in s["cached"].items() if v]
        role = " [normalizer session]" if s.get("role") == "normalizer reference" else ""
        lines.append(f"  {s['session']}{' (' + s['date'] + ')' if s['date'] else ''}{role}: {s['duration_s']:.1f} s, "
                     f"{s['n_channels']} channels{'; cached: ' + ', '.join(cached) if cached else ''}")
        dropped = ", ".join(f"{k} {v}" for k, v in sorted(s["dropped"].items(), key=lambda kv: -kv[1]))
        if s.get("normalizer_reference"):
            lines.append(f"    z-scored to the normalizer session {s['normalizer_reference']}")
        lines.append(f"    presentations: {s['n_presentations']}, kept {s['n_kept']}, dropped "
                     f"{s['n_presentations'] - s['n_kept']}{' (' + dropped + ')' if dropped else ''}")
        lat = s["latency_ms"]
        if lat:
            late = f", {s['n_late']} late (> warn_latency_ms)" if s["n_late"] else ""
            lines.append(f"    photodiode latency: median {lat['median']:.1f} ms, "
                         f"5-95% {lat['p5']:.1f}-{lat['p95']:.1f} ms, range {lat['min']:.1f}-{lat['max']:.1f} ms{late}")
        c = s["clock"]
        if c:
            lines.append(f"    clock: drift {c['drift_ppm']:+.1f} ppm, residual SD {c['residual_sd_ms']:.3f} ms; "
                         f"unmatched pulses {s['unmatched_pulses']}, flashes {s['unmatched_flashes']}")
    rep = result.sites
    kept = int(rep["kept"].sum())
    lines.append(f"  sites: {kept} of {len(rep)} kept")
    if kept < len(rep):
        why = rep.loc[~rep["kept"], "reason"].map(_reason_category)
        for reason, count in why.value_counts().head(4).items():
            lines.append(f"    dropped {count}: {reason}")
    t = result.tensor
    lines.append(f"  tensor: {' x '.join(f'{d} {t.sizes[d]}' for d in t.dims)} ({t.attrs.get('units', '')})")
    total = sum(result.timings_s.values())
    rt = result.real_time_s
    stage = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings_s.items())
    lines.append(f"  time: {total:.1f} s for {rt:.0f} s of recording ({rt / max(total, 1e-9):.1f}x real time): {stage}")
    return "\n".join(lines)
