import numpy as np
import pandas as pd
import pytest
from PIL import Image

from neuroit.errors import FileFormatError, NeuroitError
from neuroit.stimuli import brainscore_domain, read_stimulus_set, write_stimulus_set


def _png(path, value=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), value, np.uint8)).save(path)


@pytest.fixture
def folder(tmp_path):
    for name in ("a", "b", "c"):
        _png(tmp_path / "img" / f"{name}.png")
    return tmp_path


def test_read_plain_csv_resolves_paths_and_defaults(folder):
    pd.DataFrame({"stimulus_id": ["a", "b", "c"], "image_path": ["img/a.png", "img/b.png", "img/c.png"],
                  "object_label": ["dog", "dog", "car"], "domain": ["hvm", "silhouette", "hvm"],
                  "extra": [1, 2, 3]}).to_csv(folder / "s.csv", index=False)
    table = read_stimulus_set(folder / "s.csv")
    assert list(table.columns[:6]) == ["stimulus_id", "image_path", "object_label", "domain", "source_id",
                                       "is_normalizer"]
    assert table["image_path"][0] == str(folder / "img" / "a.png")
    assert table["image_file"].tolist() == ["a.png", "b.png", "c.png"]
    assert (table["source_id"] == "").all() and not table["is_normalizer"].any()
    assert "extra" in table.columns


def test_image_file_alias_image_root_and_normalizer_flag(folder, tmp_path):
    csv = tmp_path / "elsewhere" / "stimuli.csv"
    csv.parent.mkdir()
    pd.DataFrame({"stimulus_id": ["a", "b"], "image_file": ["a.png", "b.png"], "object_label": ["x", ""],
                  "domain": ["hvm", "normalizer"], "is_normalizer": ["False", "True"],
                  "source_id": ["", ""]}).to_csv(csv, index=False)
    table = read_stimulus_set(csv, image_root=folder / "img")
    assert table["is_normalizer"].tolist() == [False, True]


def test_missing_columns_files_and_duplicates_are_reported(folder):
    pd.DataFrame({"stimulus_id": ["a"], "image_path": ["img/a.png"]}).to_csv(folder / "bad.csv", index=False)
    with pytest.raises(FileFormatError, match=r"bad.csv: missing required column\(s\) object_label"):
        read_stimulus_set(folder / "bad.csv")
    pd.DataFrame({"stimulus_id": ["a", "z"], "image_path": ["img/a.png", "img/zz.png"], "object_label": ["x", "y"],
                  "domain": ["hvm", "hvm"]}).to_csv(folder / "missing.csv", index=False)
    with pytest.raises(FileFormatError, match="1 image file.*zz.png"):
        read_stimulus_set(folder / "missing.csv")
    assert len(read_stimulus_set(folder / "missing.csv", check_files=False)) == 2
    pd.DataFrame({"stimulus_id": ["a", "a"], "image_path": ["img/a.png", "img/b.png"], "object_label": ["x", "y"],
                  "domain": ["hvm", "hvm"]}).to_csv(folder / "dup.csv", index=False)
    with pytest.raises(FileFormatError, match="unique"):
        read_stimulus_set(folder / "dup.csv")
    pd.DataFrame({"stimulus_id": ["a"], "image_path": ["img/a.png"], "object_label": ["x"], "domain": ["hvm"],
                  "is_normalizer": ["maybe"]}).to_csv(folder / "flag.csv", index=False)
    with pytest.raises(FileFormatError, match="True/False"):
        read_stimulus_set(folder / "flag.csv")
    with pytest.raises(FileNotFoundError):
        read_stimulus_set(folder / "nope.csv")


def test_brainscore_columns_map_to_domains_and_sources(tmp_path):
    # columns as in Brain-Score's Igustibagus2024 stimulus CSV (values made up here)
    rows = [("s1", "apple", "original", "Silhouette", 7), ("s2", "apple", "silhouette", "Silhouette", 7),
            ("s3", "apple", "skeleton", "Silhouette", 7), ("s4", "bear", "cartoon", "Art", 0),
            ("s5", "bear", "edges", "GeirhosOOD", 0), ("s6", "car", "whatever", "COCOGray", 0),
            ("s7", "car", "outline", "Silhouette", 99)]
    for sid, *_ in rows:
        _png(tmp_path / f"{sid}.png")
    pd.DataFrame({"filepath": [f"from_ko/x/{r[0]}.png" for r in rows], "object_label": [r[1] for r in rows],
                  "image_file_name": ["im.png"] * len(rows), "object_style": [r[2] for r in rows],
                  "stimulus_source": [r[3] for r in rows], "filename": [f"{r[0]}.png" for r in rows],
                  "image_id": [r[0] for r in rows], "stimulus_id": [r[0] for r in rows],
                  "background_id": [r[4] for r in rows]}).to_csv(tmp_path / "bs.csv", index=False)
    table = read_stimulus_set(tmp_path / "bs.csv")
    assert table["domain"].tolist() == ["hvm", "silhouette", "skeleton", "cartoon", "geirhosood_edges", "coco_gray",
                                        "outline"]
    assert table["source_id"].tolist() == ["", "s1", "s1", "", "", "", ""]
    assert table["image_path"][0].endswith("s1.png") and "object_style" in table.columns
    assert brainscore_domain("COCOColor", "") == "coco_color" and brainscore_domain("TDW", "x") == "tdw"


def test_write_then_read_round_trip(folder):
    table = pd.DataFrame({"stimulus_id": ["a", "b"], "image_path": [str(folder / "img/a.png"),
                                                                     str(folder / "img/b.png")],
                          "object_label": ["x", "y"], "domain": ["hvm", "hvm"], "source_id": ["", "a"],
                          "is_normalizer": [False, True]})
    write_stimulus_set(table, folder / "out.csv")
    assert "img/a.png" in (folder / "out.csv").read_text()
    back = read_stimulus_set(folder / "out.csv")
    pd.testing.assert_frame_equal(back[table.columns], table, check_dtype=False)
    with pytest.raises(NeuroitError, match="lacks"):
        write_stimulus_set(table.drop(columns="domain"), folder / "x.csv")


def test_session_and_decoding_tables_need_fewer_columns(tmp_path):
    # a session folder's stimuli.csv (as the simulator writes it): file names only, images not there
    pd.DataFrame({"stimulus_id": ["n0", "n1", "x"],
                  "image_file": ["normalizers/n0.png", "normalizers\\n1.png", "x.png"],
                  "object_label": ["", "", "dog"]}).to_csv(tmp_path / "stimuli.csv", index=False)
    table = read_stimulus_set(tmp_path / "stimuli.csv", check_files=False, required=(),
                              normalizer_pattern=r"(^|/)normalizers/")
    assert table["is_normalizer"].tolist() == [True, True, False]
    assert table["image_file"].tolist() == ["normalizers/n0.png", "normalizers\\n1.png", "x.png"]
    assert (table["domain"] == "").all()
    assert not read_stimulus_set(tmp_path / "stimuli.csv", check_files=False, required=())["is_normalizer"].any()
    pd.DataFrame({"image_path": ["normalizers/n0.png", "img/x.png"]}).to_csv(tmp_path / "paths.csv", index=False)
    table = read_stimulus_set(tmp_path / "paths.csv", check_files=False, required=(),
                              normalizer_pattern=r"(^|/)normalizers/")
    assert table["is_normalizer"].tolist() == [True, False] and table["image_file"].tolist() == ["n0.png", "x.png"]
    assert table["stimulus_id"].tolist() == ["n0", "x"]
    # a decoding table: ids, labels and domains, no images
    pd.DataFrame({"stimulus_id": ["a", "b"], "object_label": ["x", "y"], "domain": ["hvm", "normalizer"],
                  "source_id": ["", "a"]}).to_csv(tmp_path / "d.csv", index=False)
    table = read_stimulus_set(tmp_path / "d.csv", check_files=False, required=("object_label", "domain"))
    assert table["image_path"].tolist() == ["", ""] and table["image_file"].tolist() == ["a", "b"]
    assert table["is_normalizer"].tolist() == [False, True] and table["source_id"].tolist() == ["", "a"]
    with pytest.raises(FileFormatError, match=r"d.csv: missing required column\(s\) image_path"):
        read_stimulus_set(tmp_path / "d.csv")
    pd.DataFrame({"object_label": ["x"], "domain": ["hvm"]}).to_csv(tmp_path / "noid.csv", index=False)
    with pytest.raises(FileFormatError, match=r"noid.csv: missing required column\(s\) stimulus_id"):
        read_stimulus_set(tmp_path / "noid.csv", check_files=False, required=())
    with pytest.raises(NeuroitError, match="'required' parameter"):
        read_stimulus_set(tmp_path / "d.csv", required=("colour",))
