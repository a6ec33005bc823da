"""CSV/TSV presentation logs: schema, delimiter sniffing, clear errors."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuroit.errors import FileFormatError, NeuroitError
from neuroit.io import read_presentation_log, write_presentation_log


def _log(n=5):
    return pd.DataFrame({
        "time_us": 1_000_000 + 200_000 * np.arange(n),
        "stimulus_id": [f"img_{i}" for i in range(n)],
        "image_file": [f"img_{i}.png" for i in range(n)],
        "trial": [0] * 3 + [1] * (n - 3),
        "order_in_trial": [0, 1, 2] + list(range(n - 3)),
        "fixation_correct": [True, True, False, True, True][:n],
        "stimulus_index": np.arange(n),
        "note": ["a"] * n,
    })


@pytest.mark.parametrize("name", ["log.csv", "log.tsv"])
def test_round_trip(tmp_path, name):
    path = write_presentation_log(tmp_path / name, _log())
    sep = "\t" if name.endswith(".tsv") else ","
    assert sep in path.read_text().splitlines()[0]
    df = read_presentation_log(path)
    assert df.attrs["delimiter"] == sep
    pd.testing.assert_frame_equal(df.reset_index(drop=True), _log(), check_dtype=False)
    assert df["fixation_correct"].dtype == bool and df["time_us"].dtype == np.int64
    assert list(df.columns[:6]) == ["time_us", "stimulus_id", "image_file", "trial", "order_in_trial",
                                    "fixation_correct"]


def test_hand_written_variants(tmp_path):
    path = tmp_path / "semi.txt"
    path.write_text("# exported by rig 3\n"
                    "trial; order_in_trial; time_us; stimulus_id; image_file; fixation_correct\n"
                    "0; 0; 100; a; a.png; yes\n"
                    "0; 1; 300; b; b.png; FALSE\n")
    df = read_presentation_log(path)
    assert df["fixation_correct"].tolist() == [True, False]
    assert df["stimulus_id"].tolist() == ["a", "b"] and "stimulus_index" not in df


def test_unsorted_times_are_sorted_with_a_warning(tmp_path):
    df = _log().iloc[[1, 0, 2, 3, 4]]
    path = tmp_path / "log.csv"
    write_presentation_log(path, df)
    with pytest.warns(UserWarning, match="not in increasing order"):
        back = read_presentation_log(path)
    assert back["time_us"].is_monotonic_increasing


HEADER = "time_us,stimulus_id,image_file,trial,order_in_trial,fixation_correct\n"
BAD_LOGS = [  # (file content, the error it must raise)
    ("time_us,stimulus_id,image_file,trial,fixation_correct\n1,a,a.png,0,1\n",
     r"bad.csv.*missing column\(s\) \['order_in_trial'\]"),
    (HEADER + "1,a,a.png,0,0,1\n2,b,b.png,0,x,1\n", r"bad.csv: column 'order_in_trial', row 2 \(line 3\).*'x'"),
    (HEADER + "1.5,a,a.png,0,0,1\n", "'time_us', row 1.*integer"),
    (HEADER + "1,a,a.png,0,0,maybe\n", "'fixation_correct', row 1.*boolean"),
    (HEADER + "1,,a.png,0,0,1\n", "'stimulus_id', row 1.*empty"),
    ("", "empty"),
]


def test_errors_name_file_column_and_row(tmp_path):
    path = tmp_path / "bad.csv"
    for content, message in BAD_LOGS:
        path.write_text(content)
        with pytest.raises(FileFormatError, match=message):
            read_presentation_log(path)
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        read_presentation_log(tmp_path / "nope.csv")
    with pytest.raises(NeuroitError, match="missing column"):
        write_presentation_log(tmp_path / "out.csv", _log().drop(columns="trial"))
    assert not (tmp_path / "out.csv").exists()
