"""read_presentations: MWorks events matched by time, and the CSV log."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuroit.errors import FileFormatError, NeuroitError
from neuroit.events import read_presentations

STIMULI = pd.DataFrame({"stimulus_id": ["cat", "dog", "car"], "image_file": ["cat.png", "dog.png", "car.png"]})


def image(name):
    return [{"type": "blank_screen", "name": "bg", "action": "draw"},
            {"type": "image", "name": name, "filename": f"{name}.png", "action": "draw"},
            {"type": "circle", "name": "fix", "action": "draw"}]


def events():
    ev = [
        ("trial_start_line", 1_000, 0),
        ("#stimDisplayUpdate", 1_300, image("cat")), ("stimulus_presented", 1_300, 0),
        ("#stimDisplayUpdate", 1_400, [{"type": "circle", "name": "fix", "action": "draw"}]),
        ("correct_fixation", 1_401, 1),
        ("#stimDisplayUpdate", 1_500, image("dog")), ("stimulus_presented", 1_502, 1),  # logged 2 µs later
        ("correct_fixation", 1_601, 0),
        # trial 1: image update logged *after* stimulus_presented, one presentation with no fixation event
        ("trial_start_line", 3_000, 1),
        ("stimulus_presented", 3_300, 2), ("#stimDisplayUpdate", 3_301, image("car")),
        ("stimulus_presented", 3_500, 0), ("#stimDisplayUpdate", 3_500, image("cat")),
        ("correct_fixation", 3_601, 1),
    ]
    return pd.DataFrame({"code": 0, "name": [e[0] for e in ev], "time_us": [e[1] for e in ev],
                         "value": [e[2] for e in ev]})


def test_events_matched_by_time():
    t = read_presentations(events(), stimuli=STIMULI)
    assert list(t["stimulus_id"]) == ["cat", "dog", "car", "cat"]
    assert list(t["image_file"]) == ["cat.png", "dog.png", "car.png", "cat.png"]
    assert list(t["stimulus_index"]) == [0, 1, 2, 0]
    assert list(t["trial"]) == [0, 0, 1, 1]
    assert list(t["order_in_trial"]) == [0, 1, 0, 1]
    # the fixation flag is the next one *before the following presentation*, never a later one
    assert list(t["fixation_correct"]) == [True, False, False, True]
    assert list(t["fixation_event"]) == [True, True, False, True]
    assert list(t["mworks_time_us"]) == [1300, 1502, 3300, 3500]


def test_index_image_mismatch_is_an_error():
    ev = events()
    ev.loc[ev["name"] == "stimulus_presented", "value"] = [0, 2, 2, 0]
    with pytest.raises(FileFormatError, match="differs from the stimulus index"):
        read_presentations(ev, stimuli=STIMULI)


def test_csv_log(tmp_path):
    from neuroit.io import write_presentation_log

    log = pd.DataFrame({"time_us": [10, 20, 30], "stimulus_id": ["dog", "car", "cat"],
                        "image_file": ["dog.png", "car.png", "cat.png"], "trial": [0, 0, 1],
                        "order_in_trial": [0, 1, 0], "fixation_correct": [True, False, True]})
    path = tmp_path / "log.csv"
    write_presentation_log(path, log)
    t = read_presentations(path, stimuli=STIMULI)
    assert list(t["stimulus_index"]) == [1, 2, 0]
    assert list(t["fixation_correct"]) == [True, False, True]
    assert list(t["mworks_time_us"]) == [10, 20, 30]
    with pytest.raises(FileFormatError, match="absent from the stimulus table"):
        read_presentations(path, stimuli=STIMULI.iloc[:2])


def test_bad_inputs(tmp_path):
    with pytest.raises(NeuroitError, match="expects"):
        read_presentations(pd.DataFrame({"a": [1]}))
    with pytest.raises(FileNotFoundError):
        read_presentations(tmp_path / "nope.mwk2")
    with pytest.raises(FileFormatError, match="stimulus_presented"):
        read_presentations(events()[lambda d: d["name"] != "stimulus_presented"])
