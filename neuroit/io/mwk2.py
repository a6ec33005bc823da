"""MWorks ``.mwk2`` event files: read them into a tidy table, and write them.

An ``.mwk2`` file is an SQLite database with one table::

    events(code INTEGER, time INTEGER, data <no affinity>, PRIMARY KEY (code, time)) WITHOUT ROWID

``time`` is in microseconds on the MWorks clock. ``data`` holds integers and booleans as SQL
INTEGER, floats as REAL, strings as TEXT, nothing as NULL, and everything else (lists,
dictionaries, byte strings) as a MessagePack blob. MWorks compresses a string or a blob with
raw DEFLATE when that makes it smaller, and stores the result as a MessagePack *extension*
object: type 1 holds compressed UTF-8 text, type 2 a compressed MessagePack stream. Several
events with the same code and time are stored in one row, as a MessagePack stream of their
values (compressed as a whole, type 2, when that helps).

The event with code 0 (the *codec*) maps codes to variable names: a dictionary
``{code: {"tagname": name, ...}}``. Codes 0–3 are reserved by MWorks (codec, system event,
component codec, termination).
"""
from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import zlib
from pathlib import Path
from typing import Iterable, Sequence

import msgpack
import numpy as np
import pandas as pd

from neuroit._atomic import atomic_path
from neuroit.errors import FileFormatError, NeuroitError

__all__ = ["read_mwk2", "write_mwk2"]

logger = logging.getLogger(__name__)

CODEC_CODE = 0
_RESERVED_NAMES = {0: "#codec", 1: "#systemEvent", 2: "#componentCodec", 3: "#termination"}
_FIRST_USER_CODE = 4
_COMPRESSED_TEXT = 1
_COMPRESSED_MSGPACK_STREAM = 2
_PAGE_SIZE = 16384  # what MWorks uses
_COLUMNS = ("code", "name", "time_us", "value")


# --------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------
def read_mwk2(path: str | os.PathLike, names: Sequence[str] | str | None = None) -> pd.DataFrame:
    """Read the events of an MWorks ``.mwk2`` file into a table.

    Parameters
    ----------
    path
        The ``.mwk2`` file. It is opened read-only (an SQLite ``mode=ro`` URI): nothing is ever
        written next to it, and a wrong path is an error, never a new empty database.
    names
        Variable names (``tagname`` in the codec) to keep, e.g. ``["stimulus_presented",
        "#stimDisplayUpdate"]``; ``None`` keeps every event. Names absent from the file give no
        rows (their absence is logged).

    Returns
    -------
    pandas.DataFrame
        Columns ``code`` (int64), ``name`` (str), ``time_us`` (int64, MWorks clock) and ``value``
        (object: int, float, str, None, list, dict, bytes), one row per event, sorted by time
        (ties by code, then by order within a stored row). The codec events (code 0) are not rows;
        the code → name mapping is in ``df.attrs["codec"]`` and the file in ``df.attrs["path"]``.
    """
    path = Path(path)
    if isinstance(names, str):
        names = [names]
    with _open_readonly(path) as conn:
        codecs = _read_codecs(conn, path)
        codec = _merge_codecs(codecs)
        sql = "SELECT code, time, data FROM events WHERE code != 0"
        params: list = []
        if names is not None:
            wanted = set(names)
            codes = sorted({c for _, cod in codecs for c, n in cod.items() if n in wanted}
                           | {c for c, n in _RESERVED_NAMES.items() if n in wanted and c != 0})
            missing = wanted - {codec.get(c, _RESERVED_NAMES.get(c)) for c in codes}
            if missing:
                logger.info("%s: no variable(s) %s in the codec", path, sorted(missing))
            if not codes:
                return _empty_table(path, codec)
            sql += f" AND code IN ({', '.join('?' * len(codes))})"
            params = codes
        try:
            rows = conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise FileFormatError(path, f"cannot read the events table ({exc}).") from None
    codes_out, times_out, values_out = [], [], []
    for code, time, data in rows:
        for value in _decode(data, path, code, time):
            codes_out.append(code)
            times_out.append(time)
            values_out.append(value)
    if not codes_out:
        return _empty_table(path, codec)
    code_arr = np.asarray(codes_out, dtype=np.int64)
    time_arr = np.asarray(times_out, dtype=np.int64)
    order = np.lexsort((code_arr, time_arr))  # stable: keeps the order within a row
    code_arr, time_arr = code_arr[order], time_arr[order]
    value_arr = np.empty(len(values_out), dtype=object)
    value_arr[:] = [values_out[i] for i in order]
    name_arr = _names_at(code_arr, time_arr, codecs)
    df = pd.DataFrame({"code": code_arr, "name": name_arr, "time_us": time_arr, "value": value_arr})
    df.attrs.update(path=str(path), codec=codec)
    return df


@contextlib.contextmanager
def _open_readonly(path: Path):
    if not path.exists():
        raise FileNotFoundError(2, "No such file (expected an MWorks .mwk2 file)", str(path))
    if path.is_dir():
        raise FileFormatError(path, "is a folder; expected an MWorks .mwk2 file (an SQLite database).")
    uri = path.resolve().as_uri() + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise FileFormatError(path, f"cannot be opened as an SQLite database ({exc}).") from None
    try:
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as exc:
            raise FileFormatError(path, f"is not an MWorks .mwk2 file: cannot read it as an SQLite database ({exc}).") from None
        if "events" not in tables:
            raise FileFormatError(
                path, f"is an SQLite database without an 'events' table (tables: {sorted(tables)}); "
                "not an MWorks .mwk2 file.")
        cols = [r[1] for r in conn.execute("PRAGMA table_info(events)")]
        if not {"code", "time", "data"} <= set(cols):
            raise FileFormatError(path, f"has an 'events' table with columns {cols}; expected code, time, data.")
        yield conn
    finally:
        conn.close()


def _read_codecs(conn: sqlite3.Connection, path: Path) -> list[tuple[int, dict[int, str]]]:
    """All codec events, as (time, {code: name}) in time order."""
    out = []
    for code, time, data in conn.execute("SELECT code, time, data FROM events WHERE code = 0 ORDER BY time"):
        for value in _decode(data, path, code, time):
            if not isinstance(value, dict):
                raise FileFormatError(path, f"codec event at time {time} is a {type(value).__name__}, not a dictionary.")
            cod = {}
            for c, props in value.items():
                name = props.get("tagname") if isinstance(props, dict) else None
                if not isinstance(name, str):
                    raise FileFormatError(path, f"codec event at time {time}: code {c!r} has no 'tagname'.")
                cod[int(c)] = name
            out.append((int(time), cod))
    if not out:
        logger.warning("%s has no codec event (code 0): variables are named by their codes.", path)
    return out


def _merge_codecs(codecs) -> dict[int, str]:
    merged: dict[int, str] = {}
    for _, cod in codecs:
        merged.update(cod)
    return merged


def _names_at(codes: np.ndarray, times: np.ndarray, codecs) -> np.ndarray:
    """Name of each event by the codec in force at its time (the first codec before any)."""
    names = np.empty(len(codes), dtype=object)
    if not codecs:
        names[:] = [_RESERVED_NAMES.get(int(c), f"#code{int(c)}") for c in codes]
        return names
    starts = np.array([t for t, _ in codecs], dtype=np.int64)
    which = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(codecs) - 1)
    for k in np.unique(which):
        cod = codecs[k][1]
        sel = np.flatnonzero(which == k)
        names[sel] = [cod.get(int(c)) or _RESERVED_NAMES.get(int(c), f"#code{int(c)}") for c in codes[sel]]
    return names


def _decode(data, path: Path, code: int, time: int) -> list:
    """The event value(s) stored in one row (several when events shared code and time)."""
    if not isinstance(data, bytes):
        return [data]
    try:
        values = list(msgpack.Unpacker(_as_file(data), raw=False, strict_map_key=False))
        if len(values) == 1 and isinstance(values[0], msgpack.ExtType):
            ext = values[0]
            if ext.code == _COMPRESSED_TEXT:
                return [zlib.decompress(ext.data, -15).decode("utf-8")]
            if ext.code == _COMPRESSED_MSGPACK_STREAM:
                raw = zlib.decompress(ext.data, -15)
                return list(msgpack.Unpacker(_as_file(raw), raw=False, strict_map_key=False))
        return values
    except (ValueError, zlib.error, msgpack.UnpackException, UnicodeDecodeError) as exc:
        raise FileFormatError(path, f"event with code {code} at time {time} holds corrupt data ({exc}).") from None


def _as_file(data: bytes):
    import io

    return io.BytesIO(data)


def _empty_table(path: Path, codec: dict) -> pd.DataFrame:
    df = pd.DataFrame({
        "code": np.array([], dtype=np.int64),
        "name": np.array([], dtype=object),
        "time_us": np.array([], dtype=np.int64),
        "value": np.array([], dtype=object),
    })
    df.attrs.update(path=str(path), codec=codec)
    return df


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------
def write_mwk2(
    path: str | os.PathLike,
    events: pd.DataFrame | Iterable[tuple[str, int, object]],
    *,
    codec: dict[str, int] | None = None,
    compress: bool = True,
    overwrite: bool = False,
) -> Path:
    """Write events into an MWorks ``.mwk2`` file, the way MWorks does, atomically.

    Parameters
    ----------
    path
        Output file (``.mwk2``). Written to a temporary file beside it and renamed when complete.
    events
        A table with columns ``name``, ``time_us`` and ``value`` (as :func:`read_mwk2` returns;
        ``code`` is ignored), or an iterable of ``(name, time_us, value)``. Values may be None,
        bool, int, float, str, bytes, lists, tuples, dicts and numpy scalars/arrays (stored as lists).
    codec
        Variable name → code (codes ≥ 4); by default names get codes 4, 5, … in order of first
        appearance. The codec event (code 0) is written first, at the earliest event time.
    compress
        Compress strings and MessagePack blobs with raw DEFLATE when that makes them smaller,
        as MWorks does.
    overwrite
        Replace an existing file (MWorks itself refuses to).

    Returns the path written.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise NeuroitError(f"{path} already exists; pass overwrite=True to replace it.")
    names, times, values = _normalise_events(events)
    codec = _build_codec(names, codec)
    t0 = int(times.min()) if len(times) else 0
    codec_value = {code: {"tagname": name, "groups": ["# ALL VARIABLES"], "logging": 1,
                          "exclude_from_data_file": 0, "persistant": 0, "defaultvalue": 0}
                   for name, code in sorted(codec.items(), key=lambda kv: kv[1])}
    rows: dict[tuple[int, int], list] = {(CODEC_CODE, t0): [codec_value]}
    for name, time, value in zip(names, times.tolist(), values):
        rows.setdefault((codec[name], time), []).append(_to_plain(value))
    with atomic_path(path) as tmp:
        conn = sqlite3.connect(tmp)
        try:
            conn.executescript(
                f"PRAGMA page_size = {_PAGE_SIZE};\n"
                "PRAGMA journal_mode = OFF;\n"
                "PRAGMA synchronous = OFF;\n"
                "CREATE TABLE events (\n"
                "  code INTEGER,\n"
                "  time INTEGER,\n"
                "  data /*no type affinity*/,\n"
                "  PRIMARY KEY (code, time)\n"
                ") WITHOUT ROWID;\n")
            conn.executemany(
                "INSERT INTO events VALUES (?, ?, ?)",
                ((code, time, _encode(vals, compress)) for (code, time), vals in rows.items()))
            conn.commit()
        finally:
            conn.close()
    logger.info("wrote %d events to %s", len(names), path)
    return path


def _normalise_events(events):
    if isinstance(events, pd.DataFrame):
        missing = [c for c in ("name", "time_us", "value") if c not in events.columns]
        if missing:
            raise NeuroitError(
                f"The 'events' table of write_mwk2 must have columns name, time_us, value; missing {missing}.")
        names = [str(n) for n in events["name"]]
        times = events["time_us"].to_numpy()
        values = list(events["value"])
    else:
        triples = list(events)
        if any(len(t) != 3 for t in triples):
            raise NeuroitError("The 'events' of write_mwk2 must be (name, time_us, value) triples.")
        names = [str(t[0]) for t in triples]
        times = np.array([t[1] for t in triples])
        values = [t[2] for t in triples]
    try:
        times_i = np.asarray(times).astype(np.int64)
    except (TypeError, ValueError):
        raise NeuroitError("The event times (time_us) of write_mwk2 must be integers (µs).") from None
    if len(times_i) and not np.array_equal(times_i, np.asarray(times, dtype=np.float64)):
        raise NeuroitError("The event times (time_us) of write_mwk2 must be whole microseconds.")
    return names, times_i, values


def _build_codec(names: list[str], codec: dict[str, int] | None) -> dict[str, int]:
    if codec is None:
        out: dict[str, int] = {}
        for n in names:
            if n not in out:
                out[n] = _FIRST_USER_CODE + len(out)
        return out
    missing = sorted(set(names) - set(codec))
    if missing:
        raise NeuroitError(f"The 'codec' of write_mwk2 has no code for variable(s) {missing}.")
    codes = list(codec.values())
    if len(set(codes)) != len(codes) or min(codes, default=_FIRST_USER_CODE) < _FIRST_USER_CODE:
        raise NeuroitError(f"The 'codec' of write_mwk2 must map names to distinct codes >= 4; got {codec}.")
    return {str(k): int(v) for k, v in codec.items()}


def _to_plain(value):
    """numpy scalars/arrays and tuples → plain Python objects MessagePack can store."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_to_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    return value


def _encode(values: list, compress: bool):
    """SQL value of one row: a scalar for a single simple value, else a (compressed) msgpack blob."""
    if len(values) == 1:
        v = values[0]
        if v is None or isinstance(v, (bool, int, float)):
            if isinstance(v, int) and not isinstance(v, bool) and not -(2**63) <= v < 2**63:
                raise NeuroitError(f"Integer event value {v} does not fit in 64 bits.")
            return int(v) if isinstance(v, bool) else v
        if isinstance(v, str):
            if compress:
                packed = _compressed(v.encode("utf-8"), _COMPRESSED_TEXT)
                if packed is not None and len(packed) < len(v.encode("utf-8")):
                    return packed
            return v
    try:
        raw = b"".join(msgpack.packb(v, use_bin_type=True) for v in values)
    except (TypeError, ValueError) as exc:
        raise NeuroitError(f"Event value cannot be stored in an .mwk2 file: {exc}.") from None
    if compress:
        packed = _compressed(raw, _COMPRESSED_MSGPACK_STREAM)
        if packed is not None and len(packed) < len(raw):
            return packed
    return raw


def _compressed(raw: bytes, ext_code: int) -> bytes | None:
    comp = zlib.compressobj(level=6, wbits=-15)
    data = comp.compress(raw) + comp.flush()
    if len(data) >= len(raw):
        return None
    return msgpack.packb(msgpack.ExtType(ext_code, data))
