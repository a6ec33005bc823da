"""MWorks .mwk2 reading and writing: round trips, MWorks' compression, bad inputs, read-only access."""
from __future__ import annotations

import os
import sqlite3
import zlib

import msgpack
import numpy as np
import pandas as pd
import pytest

from neuroit.errors import FileFormatError, NeuroitError
from neuroit.io import read_mwk2, write_mwk2

IMAGE = {"type": "image", "name": "dog_hvm_00", "filename": "dog_hvm_00.png", "action": "draw",
         "pos_x": 0.0, "pos_y": 0.0, "size_x": 8.0, "size_y": 8.0}
FIX = {"type": "circle", "name": "fixation_dot", "action": "draw", "pos_x": 0.0, "pos_y": 0.0}


def _events():
    return [
        ("stim_on_time", 1000, 100000),
        ("#stimDisplayUpdate", 2000, [FIX]),
        ("trial_start_line", 2000, 0),
        ("#stimDisplayUpdate", 302000, [FIX, IMAGE]),
        ("stimulus_presented", 302000, 7),
        ("#stimDisplayUpdate", 402000, [FIX]),
        ("correct_fixation", 403000, 1),
        ("ratio", 403500, 0.25),
        ("flag", 403600, True),
        ("nothing", 403700, None),
        ("message", 403800, "short"),
        ("long_text", 403900, "abcde" * 200),  # compresses: stored as extension type 1
        ("big_list", 404000, [IMAGE] * 50),  # compresses: extension type 2
        ("raw", 404100, b"\x00\x01\x02"),
        ("array", 404200, np.arange(3)),
    ]


def _raw_rows(path):
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT code, time, data FROM events").fetchall()
    finally:
        conn.close()


def test_round_trip(tmp_path):
    path = write_mwk2(tmp_path / "s.mwk2", _events())
    df = read_mwk2(path)
    assert list(df.columns) == ["code", "name", "time_us", "value"]
    assert df["time_us"].dtype == np.int64 and df["code"].dtype == np.int64
    assert df["time_us"].is_monotonic_increasing
    got = {(n, t): v for n, t, v in zip(df["name"], df["time_us"], df["value"])}
    for name, t, value in _events():
        expected = value.tolist() if isinstance(value, np.ndarray) else value
        if name == "flag":
            expected = 1  # MWorks stores booleans as integers
        assert got[(name, t)] == expected, name
    assert len(df) == len(_events())
    assert df.attrs["codec"][df.loc[df["name"] == "stimulus_presented", "code"].iat[0]] == "stimulus_presented"
    # the image dict of #stimDisplayUpdate comes back as a list of dicts
    onset = df[(df["name"] == "#stimDisplayUpdate") & (df["time_us"] == 302000)]["value"].iat[0]
    assert onset[1]["filename"] == "dog_hvm_00.png"


def test_compression_the_mworks_way(tmp_path):
    path = write_mwk2(tmp_path / "s.mwk2", _events())
    kinds = {}
    for code, time, data in _raw_rows(path):
        if isinstance(data, bytes):
            obj = msgpack.unpackb(data, raw=False, strict_map_key=False)
            kinds[time] = obj.code if isinstance(obj, msgpack.ExtType) else "plain"
        else:
            kinds[time] = type(data).__name__
    assert kinds[403900] == 1  # compressed text
    assert kinds[404000] == 2  # compressed msgpack stream
    assert kinds[403800] == "str" and kinds[1000] == "int"
    # the codec (code 0) is the first event, at the earliest time
    rows = sorted(_raw_rows(path), key=lambda r: (r[1], r[0]))
    assert rows[0][0] == 0 and rows[0][1] == 1000


def test_reads_blobs_written_by_another_writer(tmp_path):
    """A file built by hand as MWorks does: raw-DEFLATE extension objects and concatenated rows."""
    path = tmp_path / "hand.mwk2"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE events (code INTEGER, time INTEGER, data, PRIMARY KEY (code, time)) WITHOUT ROWID")

    def deflate(b):
        c = zlib.compressobj(wbits=-15)
        return c.compress(b) + c.flush()

    codec = {5: {"tagname": "#stimDisplayUpdate"}, 6: {"tagname": "note"}, 7: {"tagname": "pair"}}
    codec_blob = msgpack.packb(msgpack.ExtType(2, deflate(msgpack.packb(codec))))
    stream = msgpack.packb([IMAGE]) + msgpack.packb([FIX])
    conn.executemany("INSERT INTO events VALUES (?, ?, ?)", [
        (0, 10, codec_blob),
        (5, 20, msgpack.packb(msgpack.ExtType(2, deflate(stream)))),  # two values, compressed together
        (6, 30, msgpack.packb(msgpack.ExtType(1, deflate("hello world".encode())))),
        (7, 40, msgpack.packb(1) + msgpack.packb("two")),  # two values at one time, uncompressed
        (99, 50, 3.5),  # a code missing from the codec
    ])
    conn.commit()
    conn.close()
    df = read_mwk2(path)
    assert df["name"].tolist() == ["#stimDisplayUpdate", "#stimDisplayUpdate", "note", "pair", "pair", "#code99"]
    assert df["value"].iat[0] == [IMAGE] and df["value"].iat[1] == [FIX]
    assert df["value"].iat[2] == "hello world"
    assert df["value"].iloc[3:5].tolist() == [1, "two"]
    only = read_mwk2(path, names=["note", "absent"])
    assert only["name"].tolist() == ["note"]
    assert len(read_mwk2(path, names="absent")) == 0


def test_same_code_and_time_share_a_row(tmp_path):
    events = [("x", 5, 1), ("x", 5, 2), ("x", 5, [3])]
    path = write_mwk2(tmp_path / "s.mwk2", events)
    assert sum(1 for r in _raw_rows(path) if r[0] != 0) == 1
    assert read_mwk2(path)["value"].tolist() == [1, 2, [3]]


def test_dataframe_input_and_codec(tmp_path):
    df = pd.DataFrame({"name": ["a", "b"], "time_us": [1, 2], "value": [1, "x"]})
    path = write_mwk2(tmp_path / "s.mwk2", df, codec={"a": 10, "b": 11})
    back = read_mwk2(path)
    assert back["code"].tolist() == [10, 11]
    with pytest.raises(NeuroitError, match="already exists"):
        write_mwk2(path, df)
    write_mwk2(path, df.iloc[:1], overwrite=True)
    assert len(read_mwk2(path)) == 1
    with pytest.raises(NeuroitError, match="codec"):
        write_mwk2(tmp_path / "t.mwk2", df, codec={"a": 10})
    with pytest.raises(NeuroitError, match="time_us"):
        write_mwk2(tmp_path / "u.mwk2", df.drop(columns="time_us"))
    with pytest.raises(NeuroitError, match="whole microseconds"):
        write_mwk2(tmp_path / "v.mwk2", [("a", 1.5, 1)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.mwk2"]  # nothing half-written left


def test_bad_inputs(tmp_path):
    missing = tmp_path / "nope.mwk2"
    with pytest.raises(FileNotFoundError, match="nope.mwk2"):
        read_mwk2(missing)
    assert not missing.exists()  # never a new empty database
    with pytest.raises(FileFormatError, match="folder"):
        read_mwk2(tmp_path)
    text = tmp_path / "text.mwk2"
    text.write_text("this is not a database\n" * 100)
    with pytest.raises(FileFormatError, match="text.mwk2.*not an MWorks"):
        read_mwk2(text)
    other = tmp_path / "other.mwk2"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE foo (a)")
    conn.commit()
    conn.close()
    with pytest.raises(FileFormatError, match="without an 'events' table"):
        read_mwk2(other)
    corrupt = tmp_path / "corrupt.mwk2"
    conn = sqlite3.connect(corrupt)
    conn.execute("CREATE TABLE events (code INTEGER, time INTEGER, data, PRIMARY KEY (code, time)) WITHOUT ROWID")
    conn.execute("INSERT INTO events VALUES (0, 0, ?)", (msgpack.packb({4: {"tagname": "x"}}),))
    conn.execute("INSERT INTO events VALUES (4, 1, ?)", (msgpack.packb(msgpack.ExtType(2, b"\xff\xfe garbage")),))
    conn.commit()
    conn.close()
    with pytest.raises(FileFormatError, match="code 4 at time 1"):
        read_mwk2(corrupt)


def test_read_only(tmp_path):
    folder = tmp_path / "in"
    path = write_mwk2(folder / "s.mwk2", _events())
    os.chmod(path, 0o444)
    before = path.read_bytes()
    mtime = path.stat().st_mtime_ns
    read_mwk2(path)
    read_mwk2(path, names=["stimulus_presented"])
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in folder.iterdir()) == ["s.mwk2"]  # no -journal, -wal or -shm
