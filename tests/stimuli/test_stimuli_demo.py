import hashlib

import numpy as np
import pytest
from PIL import Image

from neuroit.errors import NeuroitError
from neuroit.stimuli import DEMO_CLASSES, DOMAINS, load_animal_mnist, make_demo_stimulus_set, read_stimulus_set


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return out, make_demo_stimulus_set(out, n_per_class=2, image_size=48, n_normalizers=3, seed=5)


def _digest(path):
    return hashlib.sha1(open(path, "rb").read()).hexdigest()


def test_demo_has_every_class_and_domain(demo):
    out, table = demo
    stimuli = table[~table["is_normalizer"]]
    assert len(stimuli) == 10 * 13 * 2 and set(stimuli["domain"]) == set(DOMAINS)
    assert set(stimuli["object_label"]) == set(DEMO_CLASSES)
    assert stimuli.groupby(["domain", "object_label"]).size().eq(2).all()
    normalizers = table[table["is_normalizer"]]
    assert len(normalizers) == 3 and all("/normalizers/" in p for p in normalizers["image_path"])
    with Image.open(table["image_path"].iloc[0]) as image:
        assert image.size == (48, 48) and image.mode == "RGB"


def test_demo_csv_reads_back_and_derived_images_point_to_their_source(demo):
    out, table = demo
    back = read_stimulus_set(out / "stimuli.csv")
    assert back["stimulus_id"].tolist() == table["stimulus_id"].tolist()
    derived = back[back["domain"].isin(["silhouette", "convex_hull", "skeleton", "outline"])]
    assert (derived["source_id"] != "").all()
    source = back.set_index("stimulus_id").loc[derived["source_id"]]
    assert (source["domain"] == "hvm").all()
    assert (source["object_label"].to_numpy() == derived["object_label"].to_numpy()).all()
    assert (back.loc[~back["domain"].isin(["silhouette", "convex_hull", "skeleton", "outline"]), "source_id"]
            == "").all()


def test_silhouette_matches_its_hvm_image_shape(demo):
    _, table = demo
    row = table[table["domain"] == "silhouette"].iloc[0]
    silhouette = np.asarray(Image.open(row["image_path"]))[:, :, 0] < 128
    assert 0.02 < silhouette.mean() < 0.8


def test_demo_is_deterministic_per_seed(demo, tmp_path):
    _, table = demo
    again = make_demo_stimulus_set(tmp_path / "a", n_per_class=1, image_size=48, n_normalizers=1, seed=5,
                                   classes=("bear", "car"), domains=("hvm", "sketch", "tdw"))
    other = make_demo_stimulus_set(tmp_path / "b", n_per_class=1, image_size=48, n_normalizers=1, seed=6,
                                   classes=("bear", "car"), domains=("hvm", "sketch", "tdw"))
    first = table.set_index("stimulus_id")["image_path"]
    for path_a, path_b, sid in zip(again["image_path"], other["image_path"], again["stimulus_id"]):
        assert _digest(path_a) == _digest(first[sid])  # a subset is the same images
        assert _digest(path_a) != _digest(path_b)


def test_parallel_generation_gives_the_same_images(tmp_path):
    kw = dict(n_per_class=50, image_size=32, n_normalizers=0, classes=("apple", "zebra"), domains=("hvm", "tdw"))
    serial = make_demo_stimulus_set(tmp_path / "serial", n_jobs=1, **kw)
    parallel = make_demo_stimulus_set(tmp_path / "parallel", n_jobs=2, **kw)
    assert len(parallel) == 200
    assert [_digest(p) for p in serial["image_path"]] == [_digest(p) for p in parallel["image_path"]]


def test_demo_rejects_bad_parameters(tmp_path):
    with pytest.raises(NeuroitError, match="n_per_class"):
        make_demo_stimulus_set(tmp_path, n_per_class=0)
    with pytest.raises(NeuroitError, match="classes"):
        make_demo_stimulus_set(tmp_path, classes=("cat",))


def test_animal_mnist_loads_without_tensorflow():
    images, labels = load_animal_mnist()
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [1000] * 10
