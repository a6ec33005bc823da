import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from neuroit.errors import NeuroitError
from neuroit.models import extract_features, get_model


class Tiny(torch.nn.Module):
    """Small conv net; its 'pool' features depend on the input resolution through the conv stride."""

    def __init__(self, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.conv = torch.nn.Conv2d(3, 8, 5, stride=2)
        self.relu = torch.nn.ReLU()
        self.pool = torch.nn.AdaptiveAvgPool2d(2)
        self.fc = torch.nn.Linear(32, 4)

    def forward(self, x):
        return self.fc(self.pool(self.relu(self.conv(x))).flatten(1))


PREP = dict(input_size=(3, 32, 32), crop_pct=0.875, interpolation="bilinear", mean=(0.5, 0.4, 0.3),
            std=(0.2, 0.25, 0.3))


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(5):
        path = tmp_path / "img" / f"im{i}.png"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (40 + 4 * i, 48, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def _manual(model, paths, prep):
    """Reference: timm's own PIL eval transform, then the layer by hand."""
    from timm.data import create_transform

    tf = create_transform(input_size=prep["input_size"], interpolation=prep["interpolation"], mean=prep["mean"],
                          std=prep["std"], crop_pct=prep["crop_pct"], crop_mode="center")
    x = torch.stack([tf(Image.open(p).convert("RGB")) for p in paths])
    with torch.no_grad():
        return model.pool(model.relu(model.conv(x))).flatten(1).numpy()


def test_features_equal_a_manual_forward(images):
    model = Tiny()
    features = extract_features(model, [str(p) for p in images], layer="pool", preprocess=PREP, batch_size=2,
                                device="cpu")
    assert features.dims == ("stimulus_id", "unit") and features.shape == (5, 32)
    assert features["stimulus_id"].values.tolist() == [f"im{i}" for i in range(5)]
    np.testing.assert_allclose(features.values, _manual(model, images, PREP), rtol=1e-5, atol=1e-5)
    assert features.attrs["layer"] == "pool" and '"input_size": [3, 32, 32]' in features.attrs["preprocess"]


@pytest.mark.parametrize("interpolation, crop_pct, size", [("bicubic", 0.875, 32), ("bilinear", 1.0, 27),
                                                          ("bicubic", 0.9, 60)])
def test_preprocessing_is_timms_eval_transform(images, interpolation, crop_pct, size):
    from timm.data import create_transform

    from neuroit.models._data import load_image

    prep = dict(PREP, input_size=(3, size, size), interpolation=interpolation, crop_pct=crop_pct)
    tf = create_transform(input_size=prep["input_size"], interpolation=interpolation, mean=(0, 0, 0),
                          std=(1, 1, 1), crop_pct=crop_pct, crop_mode="center")
    for path in images:
        reference = (tf(Image.open(path).convert("RGB")) * 255).round().to(torch.uint8)
        assert torch.equal(load_image(str(path), prep), reference)


def test_workers_give_the_same_features(images):
    model = Tiny()
    a = extract_features(model, images, layer="pool", preprocess=PREP, batch_size=2, num_workers=0)
    b = extract_features(model, images, layer="pool", preprocess=PREP, batch_size=2, num_workers=2)
    np.testing.assert_array_equal(a.values, b.values)


def test_stimulus_table_coords_and_array_inputs(images):
    table = pd.DataFrame({"stimulus_id": list("abcde"), "image_path": [str(p) for p in images],
                          "object_label": list("xxyyz"), "domain": ["hvm"] * 5, "source_id": [""] * 5,
                          "is_normalizer": [False] * 5})
    features = extract_features(Tiny(), table, layer="pool", preprocess=PREP)
    assert features["object_label"].values.tolist() == list("xxyyz") and "domain" in features.coords
    arrays = np.stack([np.asarray(Image.open(p))[:40, :48] for p in images])
    from_arrays = extract_features(Tiny(), arrays, layer="pool", preprocess=PREP, stimulus_ids=list("vwxyz"))
    assert from_arrays["stimulus_id"].values.tolist() == list("vwxyz")
    np.testing.assert_allclose(from_arrays.values[0], features.values[0], rtol=1e-5, atol=1e-5)


def test_cache_hits_and_never_reuses_stale_features(images, tmp_path):
    cache = tmp_path / "cache"
    model = Tiny()
    first = extract_features(model, images, layer="pool", preprocess=PREP, cache_dir=cache)
    assert first.attrs["n_from_cache"] == 0
    again = extract_features(model, images, layer="pool", preprocess=PREP, cache_dir=cache)
    assert again.attrs["n_from_cache"] == 5
    np.testing.assert_array_equal(first.values, again.values)

    # a changed resolution is a different key: recomputed, and the features differ
    bigger = dict(PREP, input_size=(3, 40, 40))
    resized = extract_features(model, images, layer="pool", preprocess=bigger, cache_dir=cache)
    assert resized.attrs["n_from_cache"] == 0
    np.testing.assert_allclose(resized.values, _manual(model, images, bigger), rtol=1e-5, atol=1e-5)
    assert not np.allclose(resized.values, first.values)
    # so are a changed crop and a changed normalisation
    assert extract_features(model, images, layer="pool", preprocess=dict(PREP, crop_pct=1.0),
                            cache_dir=cache).attrs["n_from_cache"] == 0

    # changed weights (same architecture and name): recomputed
    with torch.no_grad():
        model.conv.bias += 0.5
    changed = extract_features(model, images, layer="pool", preprocess=PREP, cache_dir=cache)
    assert changed.attrs["n_from_cache"] == 0
    np.testing.assert_allclose(changed.values, _manual(model, images, PREP), rtol=1e-5, atol=1e-5)

    # an edited image misses, a renamed copy hits
    Image.fromarray(np.zeros((40, 48, 3), np.uint8)).save(images[0])
    (tmp_path / "img" / "im4.png").rename(tmp_path / "img" / "renamed.png")
    paths = images[:4] + [tmp_path / "img" / "renamed.png"]
    edited = extract_features(model, paths, layer="pool", preprocess=PREP, cache_dir=cache)
    assert edited.attrs["n_from_cache"] == 4
    np.testing.assert_allclose(edited.values, _manual(model, paths, PREP), rtol=1e-5, atol=1e-5)


def test_changed_checkpoint_of_a_registered_model_is_not_reused(tmp_path):
    spec = get_model("alexnet", weights="random", seed=0)
    torch.save(spec.module.state_dict(), tmp_path / "a.pth")
    torch.save(get_model("alexnet", weights="random", seed=1).module.state_dict(), tmp_path / "b.pth")
    image = np.random.default_rng(1).integers(0, 256, (1, 64, 64, 3), dtype=np.uint8)
    prep = dict(spec.preprocess, input_size=(3, 64, 64))  # small resolution: cheap on CPU
    kw = dict(cache_dir=tmp_path / "cache", preprocess=prep)
    a = extract_features("alexnet", image, weights=tmp_path / "a.pth", **kw)
    b = extract_features("alexnet", image, weights=tmp_path / "b.pth", **kw)
    a2 = extract_features("alexnet", image, weights=tmp_path / "a.pth", **kw)
    assert (a.attrs["n_from_cache"], b.attrs["n_from_cache"], a2.attrs["n_from_cache"]) == (0, 0, 1)
    assert a.attrs["weights_checksum"] != b.attrs["weights_checksum"]
    assert not np.allclose(a.values, b.values) and np.array_equal(a.values, a2.values)


def test_timm_module_defaults_to_pre_logits(images):
    import timm

    model = timm.create_model("resnet10t", pretrained=False, num_classes=7).eval()
    prep = dict(input_size=(3, 32, 32), crop_pct=1.0, interpolation="bicubic", mean=(0.5,) * 3, std=(0.5,) * 3)
    features = extract_features(model, images[:2], preprocess=prep)
    assert features.shape == (2, model.num_features) and features.attrs["layer"] == "pre_logits"
    pooled = extract_features(model, images[:2], preprocess=prep, layer="global_pool")
    np.testing.assert_allclose(features.values, pooled.values, rtol=1e-5, atol=1e-5)


def test_bad_arguments_raise_clear_errors(images):
    with pytest.raises(NeuroitError, match="not one"):
        extract_features(Tiny(), images, layer="nope", preprocess=PREP)
    with pytest.raises(NeuroitError, match="pass layer="):
        extract_features(Tiny(), images, preprocess=PREP)
    with pytest.raises(NeuroitError, match="dtype"):
        extract_features(Tiny(), images, layer="pool", preprocess=PREP, dtype="int8")
    with pytest.raises(FileNotFoundError):
        extract_features(Tiny(), ["missing.png"], layer="pool", preprocess=PREP)
    with pytest.raises(NeuroitError, match="unique"):
        extract_features(Tiny(), [images[0], images[0]], layer="pool", preprocess=PREP)


def test_duplicate_images_are_computed_once_and_copied(tmp_path):
    imgs = np.random.default_rng(0).integers(0, 256, (3, 40, 40, 3), dtype=np.uint8)
    stack = np.concatenate([imgs, imgs[:1]])
    features = extract_features(Tiny(), stack, layer="pool", preprocess=PREP, cache_dir=tmp_path)
    np.testing.assert_array_equal(features.values[3], features.values[0])
    with pytest.raises(NeuroitError, match="no images"):
        extract_features(Tiny(), [], layer="pool", preprocess=PREP)
