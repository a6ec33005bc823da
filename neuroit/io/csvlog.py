"""A plain CSV/TSV presentation log: the alternative to an MWorks file.

Schema: one row per image presentation, in any column order, extra columns kept.

============================  =========  ================================================
column                        type       meaning
============================  =========  ================================================
``time_us``                   integer    image onset on the stimulus computer's clock, µs
``stimulus_id``               text       identifier of the image (a row of the stimulus set)
``image_file``                text       file name of the image
``trial``                     integer    trial number
``order_in_trial``            integer    position of the image in its trial (0, 1, …)
``fixation_correct``          boolean    1/0, true/false, yes/no: the animal held fixation
``stimulus_index`` (optional) integer    row of the stimulus set (as MWorks' ``stimulus_presented``)
============================  =========  ================================================

The delimiter (comma, tab or semicolon) is sniffed from the header line; ``#`` starts a comment
line. Rows are returned in file order; a log whose times go backwards is sorted (stably) with a
warning.
"""
from __future__ import annotations

import csv
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from neuroit._atomic import atomic_path
from neuroit.errors import FileFormatError, NeuroitError

__all__ = ["read_presentation_log", "write_presentation_log", "LOG_COLUMNS"]

LOG_COLUMNS = ("time_us", "stimulus_id", "image_file", "trial", "order_in_trial", "fixation_correct")
_OPTIONAL = ("stimulus_index",)
_INT_COLUMNS = ("time_us", "trial", "order_in_trial", "stimulus_index")
_TEXT_COLUMNS = ("stimulus_id", "image_file")
_TRUE = {"1", "true", "t", "yes", "y", "1.0"}
_FALSE = {"0", "false", "f", "no", "n", "0.0"}


def read_presentation_log(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV/TSV presentation log (schema in the module docstring).

    Returns a DataFrame with the schema's columns typed (``time_us``, ``trial``,
    ``order_in_trial``, ``stimulus_index``: int64; ``stimulus_id``, ``image_file``: str;
    ``fixation_correct``: bool) followed by any extra columns as read. ``attrs["path"]`` and
    ``attrs["delimiter"]`` record the source. Missing columns and values of the wrong type raise
    :class:`~neuroit.errors.FileFormatError` naming the file, the column and the row.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "No such file (expected a CSV/TSV presentation log)", str(path))
    if path.is_dir():
        raise FileFormatError(path, "is a folder; expected a CSV/TSV presentation log.")
    delimiter, header_line = _sniff(path)
    try:
        raw = pd.read_csv(path, sep=delimiter, dtype=str, keep_default_na=False, comment="#",
                          skip_blank_lines=True, skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise FileFormatError(path, f"cannot be parsed as a presentation log ({exc}).") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in LOG_COLUMNS if c not in raw.columns]
    if missing:
        raise FileFormatError(
            path, f"is missing column(s) {missing}; a presentation log needs {list(LOG_COLUMNS)} "
            f"(found {list(raw.columns)}).")
    out = {}
    for col in raw.columns:
        values = raw[col].str.strip()
        if col in _INT_COLUMNS:
            out[col] = _parse_ints(values, path, col, header_line)
        elif col == "fixation_correct":
            out[col] = _parse_bools(values, path, col, header_line)
        elif col in _TEXT_COLUMNS:
            empty = np.flatnonzero(values.to_numpy() == "")
            if empty.size:
                _bad(path, col, int(empty[0]), header_line, "a non-empty text", "an empty value")
            out[col] = values.to_numpy(dtype=object)
        else:
            out[col] = raw[col].to_numpy(dtype=object)
    order = [*LOG_COLUMNS, *[c for c in _OPTIONAL if c in out], *[c for c in raw.columns
                                                                   if c not in LOG_COLUMNS + _OPTIONAL]]
    df = pd.DataFrame({c: out[c] for c in order})
    if len(df) and np.any(np.diff(df["time_us"].to_numpy()) < 0):
        warnings.warn(f"{path}: times (time_us) are not in increasing order; rows were sorted by time.",
                      stacklevel=2)
        df = df.sort_values("time_us", kind="stable").reset_index(drop=True)
    df.attrs.update(path=str(path), delimiter=delimiter)
    return df


def write_presentation_log(path: str | os.PathLike, df: pd.DataFrame, *, delimiter: str | None = None) -> Path:
    """Write a presentation log, atomically: tab-separated for ``.tsv``/``.tab``, else comma-separated.

    ``df`` needs the schema's columns (extra columns are written too); ``fixation_correct`` is
    written as 1/0. Returns the path written.
    """
    path = Path(path)
    if not isinstance(df, pd.DataFrame):
        raise NeuroitError(f"write_presentation_log expects a pandas DataFrame; got {type(df).__name__}.")
    missing = [c for c in LOG_COLUMNS if c not in df.columns]
    if missing:
        raise NeuroitError(f"The table given to write_presentation_log is missing column(s) {missing}; "
                           f"a presentation log needs {list(LOG_COLUMNS)}.")
    if delimiter is None:
        delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    out = df.copy()
    for col in _INT_COLUMNS:
        if col in out.columns:
            try:
                vals = out[col].to_numpy()
                ints = vals.astype(np.int64)
                if not np.array_equal(ints, vals.astype(np.float64)):
                    raise ValueError
            except (TypeError, ValueError):
                raise NeuroitError(f"Column {col!r} given to write_presentation_log must hold integers.") from None
            out[col] = ints
    out["fixation_correct"] = out["fixation_correct"].astype(bool).astype(np.int8)
    order = [*LOG_COLUMNS, *[c for c in out.columns if c not in LOG_COLUMNS]]
    with atomic_path(path) as tmp:
        out[order].to_csv(tmp, sep=delimiter, index=False, lineterminator="\n")
    return path


def _sniff(path: Path) -> tuple[str, int]:
    """Delimiter from the header line, and the 1-based line number of that header."""
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            for lineno, line in enumerate(fh, start=1):
                if line.strip() and not line.lstrip().startswith("#"):
                    break
            else:
                raise FileFormatError(path, "is empty; expected a presentation log with a header line.")
    except UnicodeDecodeError:
        raise FileFormatError(path, "is not a UTF-8 text file; expected a CSV/TSV presentation log.") from None
    try:
        delimiter = csv.Sniffer().sniff(line, delimiters=",\t;").delimiter
    except csv.Error:
        counts = {d: line.count(d) for d in (",", "\t", ";")}
        delimiter = max(counts, key=counts.get)
        if counts[delimiter] == 0:
            raise FileFormatError(path, f"header line {lineno} has no comma, tab or semicolon: {line.strip()!r}.") from None
    return delimiter, lineno


def _bad(path, col, row, header_line, expected, got):
    raise FileFormatError(
        path, f"column {col!r}, row {row + 1} (line {header_line + row + 1}): expected {expected}, got {got}.")


def _parse_ints(values: pd.Series, path, col, header_line) -> np.ndarray:
    nums = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(nums) | (nums != np.round(nums)))
    if bad.size:
        row = int(bad[0])
        _bad(path, col, row, header_line, "an integer", repr(values.iloc[row]))
    return nums.astype(np.int64)


def _parse_bools(values: pd.Series, path, col, header_line) -> np.ndarray:
    low = values.str.lower().to_numpy(dtype=object)
    is_true = np.isin(low, list(_TRUE))
    is_false = np.isin(low, list(_FALSE))
    bad = np.flatnonzero(~(is_true | is_false))
    if bad.size:
        row = int(bad[0])
        _bad(path, col, row, header_line, "a boolean (1/0, true/false, yes/no)", repr(values.iloc[row]))
    return is_true
