"""One row per stimulus presentation, from MWorks events or a CSV presentation log.

MWorks events are matched **by time**, never by position alone:

- each ``stimulus_presented`` event (value: stimulus index = row of ``stimuli.csv``) is one
  presentation; its image comes from the ``#stimDisplayUpdate`` event carrying an image
  ``draw`` closest in time (within ``display_tolerance_us``, default 5 ms);
- its fixation flag is the first ``correct_fixation`` event after it and before the next
  presentation (no such event: ``fixation_correct`` is False and the row says so in ``fixation_event``);
- its trial is the value of the last ``trial_start_line`` event at or before it, and
  ``order_in_trial`` counts presentations since that trial start.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from neuroit.errors import FileFormatError, NeuroitError

log = logging.getLogger(__name__)

COLUMNS = (
    "presentation",
    "stimulus_id",
    "image_file",
    "stimulus_index",
    "trial",
    "order_in_trial",
    "fixation_correct",
    "mworks_time_us",
)

_CSV_REQUIRED = ("time_us", "stimulus_id")


def read_presentations(
    path_or_events,
    *,
    stimuli: pd.DataFrame | None = None,
    display_tolerance_us: int = 5000,
) -> pd.DataFrame:
    """Read stimulus presentations into one row per presentation, in time order.

    ``path_or_events`` is a ``.mwk2`` file, a CSV presentation log, a DataFrame of MWorks
    events (columns ``name``, ``time_us``, ``value`` as from :func:`neuroit.io.read_mwk2`) or a
    DataFrame shaped like the CSV log (``time_us``, ``stimulus_id``, ...).
    ``stimuli`` (the stimulus table, row = stimulus index) fills missing ids/file names and
    cross-checks the image names.

    Returns a DataFrame with columns :data:`COLUMNS` plus ``fixation_event`` (whether a
    fixation outcome was logged); ``attrs`` holds the source and parameters.
    """
    source = "events"
    if isinstance(path_or_events, (str, os.PathLike)):
        path = Path(path_or_events)
        source = os.fspath(path)
        if not path.exists():
            raise FileNotFoundError(2, "No such file or directory", source)
        if path.suffix.lower() == ".csv":
            from neuroit.io import read_presentation_log

            table = _from_log(read_presentation_log(path), stimuli, source)
        else:
            from neuroit.io import read_mwk2

            table = _from_events(read_mwk2(path), stimuli, display_tolerance_us, source)
    elif isinstance(path_or_events, pd.DataFrame):
        df = path_or_events
        if {"name", "time_us", "value"} <= set(df.columns):
            table = _from_events(df, stimuli, display_tolerance_us, source)
        elif set(_CSV_REQUIRED) <= set(df.columns):
            table = _from_log(df, stimuli, "log")
            source = "log"
        else:
            raise NeuroitError(
                "read_presentations expects MWorks events (columns name, time_us, value) or a presentation "
                f"log (columns time_us, stimulus_id, ...); got columns {list(df.columns)}."
            )
    else:
        raise NeuroitError(
            f"read_presentations expects a file path or a DataFrame; got {type(path_or_events).__name__}."
        )
    table.attrs = {"source": source, "display_tolerance_us": int(display_tolerance_us)}
    return table


# -- MWorks events -----------------------------------------------------------------------------
def _image_of(value) -> tuple[str, str] | None:
    """(name, filename) of the image drawn by a #stimDisplayUpdate value, or None."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, (list, tuple)):
        return None
    for item in value:
        if isinstance(item, dict) and item.get("type") == "image" and item.get("action", "draw") == "draw":
            return str(item.get("name", "")), str(item.get("filename", ""))
    return None


def _from_events(events: pd.DataFrame, stimuli, tol_us: int, source: str) -> pd.DataFrame:
    ev = events.sort_values("time_us", kind="stable")
    names = ev["name"].to_numpy()
    times = ev["time_us"].to_numpy(np.int64)
    values = ev["value"].to_numpy()

    sel = names == "stimulus_presented"
    t_pres = times[sel]
    if t_pres.size == 0:
        raise FileFormatError(source, "no 'stimulus_presented' events; cannot find presentations.")
    idx_pres = np.array([_as_int(v, -1) for v in values[sel]], dtype=np.int64)
    n = t_pres.size

    # images: #stimDisplayUpdate events that draw an image, nearest in time
    upd = np.flatnonzero(names == "#stimDisplayUpdate")
    img_t, img_name, img_file = [], [], []
    for i in upd:
        got = _image_of(values[i])
        if got is not None:
            img_t.append(times[i])
            img_name.append(got[0])
            img_file.append(got[1])
    img_t = np.asarray(img_t, dtype=np.int64)
    stim_id = np.full(n, "", dtype=object)
    image_file = np.full(n, "", dtype=object)
    if img_t.size:
        j = np.clip(np.searchsorted(img_t, t_pres), 1, max(img_t.size - 1, 1))
        cand = np.stack([j - 1, np.minimum(j, img_t.size - 1)])
        dist = np.abs(img_t[cand] - t_pres[None, :])
        best = cand[np.argmin(dist, axis=0), np.arange(n)]
        ok = np.abs(img_t[best] - t_pres) <= tol_us
        for k in np.flatnonzero(ok):
            stim_id[k] = img_name[best[k]]
            image_file[k] = img_file[best[k]]
        if (~ok).any():
            log.warning("%d presentation(s) have no image display update within %d us.", int((~ok).sum()), tol_us)

    # fixation: first correct_fixation after the presentation and before the next one
    fsel = names == "correct_fixation"
    t_fix = times[fsel]
    v_fix = np.array([_as_int(v, 0) for v in values[fsel]], dtype=np.int64)
    nxt = np.append(t_pres[1:], np.iinfo(np.int64).max)
    j = np.searchsorted(t_fix, t_pres, side="left")
    if t_fix.size:
        has_fix = (j < t_fix.size) & (t_fix[np.minimum(j, t_fix.size - 1)] < nxt)
    else:
        has_fix = np.zeros(n, bool)
    fixation = np.zeros(n, dtype=bool)
    fixation[has_fix] = v_fix[j[has_fix]] != 0
    if (~has_fix).any():
        log.warning("%d presentation(s) have no correct_fixation event; marked as not fixated.", int((~has_fix).sum()))

    # trials: last trial_start_line at or before each presentation
    tsel = names == "trial_start_line"
    t_trial = times[tsel]
    v_trial = np.array([_as_int(v, -1) for v in values[tsel]], dtype=np.int64)
    if t_trial.size:
        j = np.searchsorted(t_trial, t_pres, side="right") - 1
        trial = np.where(j >= 0, v_trial[np.maximum(j, 0)], -1)
        trial_key = j  # which trial-start event (distinguishes repeated trial numbers)
    else:
        trial = np.full(n, -1, dtype=np.int64)
        trial_key = np.zeros(n, dtype=np.int64)
    order = _order_within(trial_key)

    table = pd.DataFrame(
        {
            "presentation": np.arange(n, dtype=np.int64),
            "stimulus_id": stim_id,
            "image_file": image_file,
            "stimulus_index": idx_pres,
            "trial": trial.astype(np.int64),
            "order_in_trial": order,
            "fixation_correct": fixation,
            "mworks_time_us": t_pres,
            "fixation_event": has_fix,
        }
    )
    return _fill_from_stimuli(table, stimuli, source)


def _order_within(key: np.ndarray) -> np.ndarray:
    key = np.asarray(key)
    order = np.zeros(key.size, dtype=np.int64)
    if key.size:
        start = np.r_[0, np.flatnonzero(key[1:] != key[:-1]) + 1]
        lengths = np.diff(np.r_[start, key.size])
        order = np.arange(key.size) - np.repeat(start, lengths)
    return order


def _as_int(v, default: int) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return default


# -- CSV log ------------------------------------------------------------------------------------
def _from_log(df: pd.DataFrame, stimuli, source: str) -> pd.DataFrame:
    missing = [c for c in _CSV_REQUIRED if c not in df.columns]
    if missing:
        raise FileFormatError(source, f"the presentation log lacks column(s) {missing}.")
    df = df.sort_values("time_us", kind="stable").reset_index(drop=True)
    n = len(df)
    trial = df["trial"].to_numpy(np.int64) if "trial" in df else np.full(n, -1, np.int64)
    if "order_in_trial" in df:
        order = df["order_in_trial"].to_numpy(np.int64)
    else:
        order = _order_within(trial)
    fix = df["fixation_correct"] if "fixation_correct" in df else pd.Series(np.ones(n, bool))
    table = pd.DataFrame(
        {
            "presentation": np.arange(n, dtype=np.int64),
            "stimulus_id": df["stimulus_id"].astype(str).to_numpy(dtype=object),
            "image_file": (df["image_file"].fillna("").astype(str) if "image_file" in df else pd.Series([""] * n))
            .to_numpy(dtype=object),
            "stimulus_index": (df["stimulus_index"].to_numpy(np.int64) if "stimulus_index" in df
                               else np.full(n, -1, np.int64)),
            "trial": trial,
            "order_in_trial": order,
            "fixation_correct": fix.astype(bool).to_numpy(),
            "mworks_time_us": df["time_us"].to_numpy(np.int64),
            "fixation_event": np.full(n, "fixation_correct" in df),
        }
    )
    return _fill_from_stimuli(table, stimuli, source)


# -- stimulus table -----------------------------------------------------------------------------
def _fill_from_stimuli(table: pd.DataFrame, stimuli, source: str) -> pd.DataFrame:
    if stimuli is None:
        return table
    if "stimulus_id" not in stimuli:
        raise NeuroitError(f"The stimulus table must have a 'stimulus_id' column; got {list(stimuli.columns)}.")
    ids = stimuli["stimulus_id"].astype(str).to_numpy(dtype=object)
    files = stimuli["image_file"].astype(str).to_numpy(dtype=object) if "image_file" in stimuli else None
    index_of = {s: i for i, s in enumerate(ids)}
    idx = table["stimulus_index"].to_numpy(np.int64).copy()
    sid = table["stimulus_id"].to_numpy(dtype=object).copy()
    valid = (idx >= 0) & (idx < len(ids))
    # ids from the index where the display update gave none
    fill = valid & (sid == "")
    sid[fill] = ids[idx[fill]]
    # index from the id where the log gave none
    for k in np.flatnonzero(~valid):
        idx[k] = index_of.get(sid[k], -1)
    unknown = np.flatnonzero(idx < 0)
    if unknown.size:
        raise FileFormatError(
            source,
            f"{unknown.size} presentation(s) name stimuli absent from the stimulus table "
            f"(first: {sid[unknown[0]]!r}, stimulus_index {table['stimulus_index'].iat[unknown[0]]}).",
        )
    mismatch = np.flatnonzero((sid != ids[idx]) & (sid != ""))
    if mismatch.size:
        k = mismatch[0]
        raise FileFormatError(
            source,
            f"{mismatch.size} presentation(s) show an image that differs from the stimulus index "
            f"(presentation {k}: image {sid[k]!r}, but stimulus_index {idx[k]} is {ids[idx[k]]!r}).",
        )
    table["stimulus_id"] = sid
    table["stimulus_index"] = idx
    if files is not None:
        f = table["image_file"].to_numpy(dtype=object).copy()
        empty = f == ""
        f[empty] = files[idx[empty]]
        table["image_file"] = f
    return table
