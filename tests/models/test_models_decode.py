"""The tensor decode path (decode="gpu": batched decode_jpeg + torch resize/crop), exercised on the CPU."""
import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from neuroit.errors import NeuroitError
from neuroit.models import extract_features, get_model
from neuroit.models._data import ImageDataset, collate_items, load_image, split_payloads
from neuroit.models._decode import decode_batch
from neuroit.models.cache import cache_key
from neuroit.models.features import _run

PREP = dict(input_size=(3, 224, 224), crop_pct=0.875, crop_mode="center", interpolation="bicubic",
            mean=(0.5,) * 3, std=(0.5,) * 3)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Real photographs as JPEG files of several sizes (down- and upscaled by the models), one grey, one PNG."""
    folder = tmp_path_factory.mktemp("photos")
    paths = []
    for i, (name, size) in enumerate([("chelsea", (300, 451)), ("coffee", (400, 600)), ("astronaut", (180, 180)),
                                      ("rocket", (427, 240)), ("camera", (256, 256)), ("chelsea", (210, 150))]):
        image = Image.fromarray(getattr(data, name)()).convert("RGB").resize(size[::-1], Image.LANCZOS)
        if name == "camera":
            image = image.convert("L")
        path = folder / f"im{i}.jpg"
        image.save(path, quality=90)
        paths.append(str(path))
    png = folder / "im6.png"
    Image.fromarray(data.coffee()[::2, ::2]).save(png)
    return paths + [str(png)]


def _pil_and_tensor(paths, prep):
    reference = torch.stack([load_image(p, prep) for p in paths]).float()
    dataset = ImageDataset(paths, prep, mode="bytes", hash=True)
    batch = collate_items([dataset[i] for i in range(len(paths))])
    assert all(len(h) == 40 for h in batch["hashes"])
    return reference, decode_batch(split_payloads(batch), prep, device="cpu")


@pytest.mark.parametrize("interpolation, crop_pct, size", [("bicubic", 0.875, 224), ("bilinear", 0.9, 240),
                                                          ("bicubic", 1.0, 384), ("nearest", 0.875, 64)])
def test_tensor_decode_is_within_a_grey_level_of_pil(photos, interpolation, crop_pct, size):
    prep = dict(PREP, input_size=(3, size, size), interpolation=interpolation, crop_pct=crop_pct)
    reference, tensor = _pil_and_tensor(photos, prep)
    assert tensor.shape == reference.shape and tensor.dtype == torch.float32
    diff = (tensor - reference).abs()
    per_image = diff.mean(dim=(1, 2, 3))
    assert per_image.max() < (3.0 if interpolation == "nearest" else 2.0), per_image
    assert diff.mean() < 1.5


def test_tensor_decode_pads_images_smaller_than_the_crop_like_pil(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "wide.png"
    Image.fromarray(rng.integers(0, 256, (20, 90, 3), dtype=np.uint8)).save(path)
    for crop_pct, mode in [(1.3, "center"), (1.23, "center"), (1.0, "squash")]:
        prep = dict(PREP, input_size=(3, 40, 40), crop_pct=crop_pct, crop_mode=mode)
        reference, tensor = _pil_and_tensor([str(path)], prep)
        assert tensor.shape == (1, 3, 40, 40) and (tensor - reference).abs().mean() < 2
        if mode == "center":  # zero rows above and below, in the same places
            assert torch.equal(tensor[0, :, :4] == 0, reference[0, :, :4] == 0) and (tensor[0, :, :4] == 0).all()


def test_tensor_path_features_match_the_pil_path(photos):
    spec = get_model("efficientnet_lite0")
    kw = dict(layer=None, preprocess=spec.preprocess, batch_size=4, device=torch.device("cpu"), dtype=torch.float32,
              progress=False, num_workers=0)
    pil, _, rows_pil = _run(spec.module, photos, mode="pil", **kw)
    tensor, hashes, rows = _run(spec.module, photos, mode="tensor", hash=True, **kw)
    assert rows == rows_pil == list(range(len(photos))) and len(set(hashes)) == len(photos)
    for a, b in zip(pil, tensor):
        assert np.corrcoef(a, b)[0, 1] > 0.999


def test_tensor_path_skips_cached_and_repeated_images_and_rebatches(photos):
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, stride=4), torch.nn.AdaptiveAvgPool2d(2))
    kw = dict(layer=None, preprocess=dict(PREP, input_size=(3, 32, 32)), batch_size=4, device=torch.device("cpu"),
              dtype=torch.float32, progress=False, mode="tensor", hash=True)
    module = _Flat(model)
    first, hashes, rows = _run(module, photos, num_workers=0, **kw)
    assert rows == list(range(len(photos))) and len(set(hashes)) == len(photos)
    # workers read + hash; a batch crosses processes as one flat byte block; cached hashes are skipped,
    # repeats computed once, the rest re-batched in order
    again, hashes2, rows = _run(module, photos + photos[:2], num_workers=2, skip={hashes[1]}, **kw)
    assert rows == [0, 2, 3, 4, 5, 6] and hashes2 == hashes + hashes[:2]
    np.testing.assert_allclose(again, first[[0, 2, 3, 4, 5, 6]], rtol=1e-5, atol=1e-5)


class _Flat(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward_features(self, x):
        return self.inner(x)

    def forward_head(self, x, pre_logits=True):
        return x.flatten(1)


def test_decode_mode_enters_the_cache_key_and_attrs(photos, tmp_path):
    fields = dict(model="m", weights_checksum="c", layer=None, preprocess=PREP, dtype="float32")
    keys = {cache_key(**fields, decode=d)[0] for d in ("pil", "torchvision-cuda", "torchvision-cpu")}
    assert len(keys) == 3
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, stride=4), torch.nn.AdaptiveAvgPool2d(1))
    prep = dict(PREP, input_size=(3, 32, 32))
    features = extract_features(model, photos, layer="1", preprocess=prep, device="cpu", cache_dir=tmp_path)
    assert features.attrs["decode"] == "pil"  # auto is the PIL path on the CPU
    meta = next(tmp_path.glob("*/*/meta.json")).read_text()
    assert '"decode": "pil"' in meta


def test_gpu_decode_without_cuda_is_a_clear_error(photos):
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1))
    with pytest.raises(NeuroitError, match="CUDA device"):
        extract_features(model, photos, layer="1", preprocess=PREP, device="cpu", decode="gpu")
    with pytest.raises(NeuroitError, match="'decode'"):
        extract_features(model, photos, layer="1", preprocess=PREP, device="cpu", decode="nvjpeg")
