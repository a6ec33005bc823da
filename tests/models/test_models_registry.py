import numpy as np
import pytest
import torch

from neuroit.errors import FileFormatError, NeuroitError
from neuroit.models import extract_features, get_model, list_models, weights_checksum

# (name, penultimate units, input resolution, published checkpoint layout: key prefix, wrapper key)
SEED_MODELS = [
    ("crossvit_18_240", 672, 240, "", None),
    ("vone_resnet50", 2048, 224, "module.", "state_dict"),
    ("resnet50_barlowtwins", 2048, 224, "", None),
    ("cornet_s", 512, 224, "module.", "state_dict"),
    ("alexnet", 4096, 224, "", None),
]


@pytest.mark.parametrize("name, units, size, prefix, wrapper", SEED_MODELS)
def test_seed_model_loads_published_checkpoint_and_gives_penultimate_features(tmp_path, name, units, size, prefix,
                                                                              wrapper):
    if name == "crossvit_18_240":  # timm's initialisation of 43M parameters is slow: fill a meta-built copy
        import timm

        with torch.device("meta"):
            shapes = timm.create_model(name).state_dict()
        gen = torch.Generator().manual_seed(0)
        state = {k: torch.randn(v.shape, generator=gen) * 0.02 for k, v in shapes.items()}
        reference = None
    else:
        spec = get_model(name, weights="random", seed=3)
        assert spec.preprocess["input_size"] == (3, size, size)
        state = spec.module.state_dict()
        reference = weights_checksum(spec.module)
    if name == "cornet_s":  # the published file predates BatchNorm's num_batches_tracked
        state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    state = {prefix + k: v for k, v in state.items()}
    checkpoint = {wrapper: state, "epoch": 70} if wrapper else state
    torch.save(checkpoint, tmp_path / "ckpt.pth")
    loaded = get_model(name, weights=tmp_path / "ckpt.pth")
    assert loaded.preprocess["input_size"] == (3, size, size)
    if reference is not None:
        assert weights_checksum(loaded.module) == reference
    assert loaded.weights == str(tmp_path / "ckpt.pth")
    image = np.random.default_rng(0).integers(0, 256, (1, size, size, 3), dtype=np.uint8)
    features = extract_features(loaded, image, batch_size=1)
    assert features.shape == (1, units) and np.isfinite(features.values).all()


def test_gabor_bank_is_seeded():
    from neuroit.models.vonenet import sample_gabor_params

    a, b, c = (sample_gabor_params(64, seed=s) for s in (1, 1, 2))
    assert all(np.array_equal(a[k], b[k]) for k in a) and not np.array_equal(a["sf"], c["sf"])
    assert (a["theta"] >= 0).all() and (a["theta"] < 180).all() and (a["sf"] >= 0.5).all() and (a["sf"] <= 8).all()


def test_cornet_s_areas_and_vone_front_end():
    cornet = get_model("cornet_s", weights="random").module
    assert [cornet.V2.times, cornet.V4.times, cornet.IT.times] == [2, 4, 2]
    vone = get_model("vone_resnet50", weights="random").module
    assert vone.vone_block.noise_mode is None
    q0 = vone.vone_block.simple_conv_q0.weight
    assert q0.shape == (512, 3, 25, 25) and (q0.abs().sum(dim=(2, 3)) > 0).sum(dim=1).eq(1).all()
    assert not any(p.requires_grad for p in vone.vone_block.parameters())
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():  # deterministic without noise
        assert torch.equal(vone.vone_block(x), vone.vone_block(x))


def test_barlow_twins_full_training_checkpoint_is_accepted(tmp_path):
    spec = get_model("resnet50_barlowtwins", weights="random", seed=0)
    state = {f"module.backbone.{k}": v for k, v in spec.module.state_dict().items()}
    state["module.projector.0.weight"] = torch.zeros(8, 2048)
    torch.save({"epoch": 1000, "model": state, "optimizer": {}}, tmp_path / "checkpoint.pth")
    loaded = get_model("resnet50_barlowtwins", weights=tmp_path / "checkpoint.pth")
    assert weights_checksum(loaded.module) == weights_checksum(spec.module)


def test_wrong_or_missing_checkpoints_are_reported(tmp_path):
    torch.save(get_model("alexnet", weights="random").module.state_dict(), tmp_path / "alexnet.pth")
    with pytest.raises(FileFormatError, match="does not match the architecture"):
        get_model("cornet_s", weights=tmp_path / "alexnet.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(FileFormatError, match="cannot be read"):
        get_model("alexnet", weights=tmp_path / "junk.pth")
    with pytest.raises(FileNotFoundError, match="cornet_s-1d3f7974"):
        get_model("cornet_s", weights=tmp_path / "absent.pth")
    with pytest.raises(NeuroitError, match="weights='random'"):
        get_model("cornet_s")
    with pytest.raises(NeuroitError, match="must be one of"):
        get_model("vgg16")
    assert set(list_models()) >= {"crossvit_18_240", "vone_resnet50", "resnet50_barlowtwins", "cornet_s", "alexnet",
                                  "efficientnet_lite0"}


def test_weights_checksum_follows_in_place_changes():
    module = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    first = weights_checksum(module)
    assert weights_checksum(module) == first
    with torch.no_grad():
        module[0].weight[0, 0] += 1.0
    second = weights_checksum(module)
    assert second != first
    module[1].running_mean.add_(0.5)
    assert weights_checksum(module) not in (first, second)
    module[0].weight = torch.nn.Parameter(torch.zeros(2, 3))
    assert len({first, second, weights_checksum(module)}) == 3
