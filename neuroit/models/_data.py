"""Image loading and preprocessing for feature extraction (runs in DataLoader workers).

This is the ``decode="cpu"`` path (and how every worker reads files and hashes them for the cache);
the ``decode="gpu"`` path decodes the bytes read here on the device (:mod:`neuroit.models._decode`).

A worker decodes one image file with PIL (or takes an in-memory array), resizes its shorter side to
``floor(input_size / crop_pct)`` with the model's interpolation, centre-crops to ``input_size`` and
returns a ``uint8`` (3, H, W) tensor — timm's PIL evaluation transform, step for step. Conversion to
float, scaling to [0, 1] and mean/std normalisation happen on the model's device
(:func:`normalize_batch`), which is where timm's ``ToTensor`` + ``Normalize`` would put them.
"""
from __future__ import annotations

import hashlib
import io
import math

import numpy as np

from neuroit.models._deps import import_optional

torch = import_optional("torch")


def resolve_preprocess(config: dict) -> dict:
    """Normalise a timm-style data config into neuroit's preprocessing dict (all plain types)."""
    size = config.get("input_size", 224)
    if isinstance(size, (int, np.integer)):
        size = (3, int(size), int(size))
    size = tuple(int(v) for v in size)
    if len(size) == 2:
        size = (3,) + size
    return dict(input_size=size, crop_pct=float(config.get("crop_pct", 0.875) or 1.0),
                crop_mode=str(config.get("crop_mode", "center")), interpolation=str(config.get("interpolation",
                                                                                                 "bilinear")),
                mean=tuple(float(v) for v in config.get("mean", (0.485, 0.456, 0.406))),
                std=tuple(float(v) for v in config.get("std", (0.229, 0.224, 0.225))))


def scale_size(preprocess: dict) -> int:
    """Shorter-side size before the centre crop (timm: ``floor(crop_size / crop_pct)``)."""
    crop = preprocess["input_size"][1:]
    return int(math.floor(min(crop) / preprocess["crop_pct"]))


def _pil_image(source):
    """An image file path or array as a PIL RGB image (grey expanded, alpha dropped)."""
    from PIL import Image

    if isinstance(source, np.ndarray):
        array = source
        if array.dtype != np.uint8:
            scale = 255.0 if np.issubdtype(array.dtype, np.floating) and array.size and array.max() <= 1.0 else 1.0
            array = np.clip(array * scale, 0, 255).round().astype(np.uint8)
        if array.ndim == 3 and array.shape[2] == 1:
            array = array[:, :, 0]
        image = Image.fromarray(np.ascontiguousarray(array))
    else:
        image = Image.open(source)
    return image if image.mode == "RGB" else image.convert("RGB")


def load_image(source, preprocess: dict) -> "torch.Tensor":
    """Decode + resize + centre-crop one image exactly as timm's PIL eval transform, as uint8 (3, H, W).

    Resize: the shorter side to ``floor(crop / crop_pct)`` (the longer side scaled and truncated, as
    torchvision's ``Resize``), with the model's interpolation (PIL filters antialias); then a centre
    crop whose offset is ``round((size - crop) / 2)``. ``crop_mode="squash"`` resizes both sides.
    """
    from PIL import Image

    image = _pil_image(source)
    resample = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC, "nearest": Image.NEAREST,
                "lanczos": Image.LANCZOS, "box": Image.BOX}.get(preprocess["interpolation"], Image.BILINEAR)
    crop_h, crop_w = preprocess["input_size"][1:]
    width, height = image.size
    if preprocess.get("crop_mode", "center") == "squash":
        size = (int(math.floor(crop_w / preprocess["crop_pct"])), int(math.floor(crop_h / preprocess["crop_pct"])))
    else:
        short = scale_size(preprocess)
        if width <= height:
            size = (short, int(short * height / width))
        else:
            size = (int(short * width / height), short)
    if size != (width, height):
        image = image.resize(size, resample)
        width, height = size
    top, left = int(round((height - crop_h) / 2.0)), int(round((width - crop_w) / 2.0))
    if (top, left, width, height) != (0, 0, crop_w, crop_h):
        if top < 0 or left < 0:  # smaller than the crop: pad with zeros, as torchvision's CenterCrop
            canvas = Image.new("RGB", (max(width, crop_w), max(height, crop_h)))
            canvas.paste(image, (max(0, -left), max(0, -top)))
            image, width, height = canvas, canvas.size[0], canvas.size[1]
            top, left = int(round((height - crop_h) / 2.0)), int(round((width - crop_w) / 2.0))
        image = image.crop((left, top, left + crop_w, top + crop_h))
    array = np.asarray(image)
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def _read_bytes(path) -> np.ndarray:
    """A file's bytes as a 1-D uint8 array (one read)."""
    return np.fromfile(path, dtype=np.uint8)


def _sha1(data) -> str:
    return hashlib.sha1(memoryview(data)).hexdigest()


class ImageDataset(torch.utils.data.Dataset):
    """Images (paths or arrays) → ``(payload, content hash)`` per index; each file is read once.

    ``mode="pil"``: the payload is the preprocessed uint8 (3, H, W) image (:func:`load_image`).
    ``mode="bytes"``: the payload is the file's raw bytes (uint8 1-D; decoded later, batched, on the
    model's device — see :mod:`neuroit.models._decode`) or, for an in-memory array, its uint8
    (3, H, W) pixels. With ``hash=True`` the content hash (:func:`hash_source`) is computed from the
    same bytes; images whose hash is in ``skip`` (already cached) come back without a payload.
    """

    def __init__(self, sources, preprocess: dict, *, mode: str = "pil", hash: bool = False, skip=frozenset()):
        assert mode in ("pil", "bytes")
        self.sources = list(sources)
        self.preprocess, self.mode, self.hash, self.skip = preprocess, mode, bool(hash), frozenset(skip)

    def __len__(self):
        return len(self.sources)

    def __getitem__(self, index):
        source = self.sources[index]
        if isinstance(source, np.ndarray):
            digest = hash_source(source) if self.hash else ""
            if digest in self.skip:
                return None, digest
            if self.mode == "bytes":
                return torch.from_numpy(np.ascontiguousarray(np.asarray(_pil_image(source)).transpose(2, 0, 1))), \
                    digest
            return load_image(source, self.preprocess), digest
        if not self.hash:
            return (torch.from_numpy(_read_bytes(source)) if self.mode == "bytes"
                    else load_image(source, self.preprocess)), ""
        data = _read_bytes(source)
        digest = _sha1(data)
        if digest in self.skip:
            return None, digest
        if self.mode == "bytes":
            return torch.from_numpy(data), digest
        return load_image(io.BytesIO(data.tobytes()), self.preprocess), digest


def collate_items(items) -> dict:
    """Collate ``(payload, hash)`` items: ``hashes`` (list), ``kept`` (indices with a payload) and either
    ``images`` (uint8 (k, 3, H, W), pil mode) or ``flat`` + ``shapes`` (all payload bytes in one tensor, so
    a batch crosses the worker → main process boundary as one shared-memory block)."""
    hashes = [h for _, h in items]
    kept = [i for i, (p, _) in enumerate(items) if p is not None]
    payloads = [items[i][0] for i in kept]
    out = dict(hashes=hashes, kept=kept)
    if payloads and payloads[0].ndim == 3 and all(p.shape == payloads[0].shape and p.ndim == 3 for p in payloads):
        out["images"] = torch.stack(payloads)
    else:
        out["flat"] = torch.cat([p.reshape(-1) for p in payloads]) if payloads else torch.empty(0, dtype=torch.uint8)
        out["shapes"] = [tuple(p.shape) for p in payloads]
        out["sizes"] = [p.numel() for p in payloads]
        # which payloads are JPEG bytes (SOI marker): checked here, in the worker, not in the main process
        out["jpeg"] = [p.ndim == 1 and p.numel() > 3 and p[:3].numpy().tobytes() == b"\xff\xd8\xff"
                       for p in payloads]
    return out


def split_payloads(batch: dict) -> list:
    """The payload tensors of a collated ``bytes`` batch (views into its flat block)."""
    parts = torch.split(batch["flat"], batch["sizes"])
    return [t if len(s) == 1 else t.view(s) for t, s in zip(parts, batch["shapes"])]


class Normalizer:
    """uint8 (or float 0–255) (N, 3, H, W) → normalised float tensor of ``dtype`` on ``device``.

    mean/std live on the device once (a fresh small host→device copy per batch would synchronise the
    CUDA stream and stall the pipeline).
    """

    def __init__(self, preprocess: dict, *, device, dtype, channels_last: bool = False):
        self.device, self.dtype, self.channels_last = device, dtype, channels_last
        self.mean = torch.tensor(preprocess["mean"], dtype=torch.float32).view(1, 3, 1, 1).mul(255.0).to(device)
        self.std = torch.tensor(preprocess["std"], dtype=torch.float32).view(1, 3, 1, 1).mul(255.0).to(device)

    def __call__(self, batch):
        x = batch.to(self.device, non_blocking=True)
        x = ((x.float() - self.mean) / self.std).to(self.dtype)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x


def normalize_batch(batch: "torch.Tensor", preprocess: dict, *, device, dtype, channels_last=False):
    """One-off form of :class:`Normalizer`."""
    return Normalizer(preprocess, device=device, dtype=dtype, channels_last=channels_last)(batch)


def hash_source(source) -> str:
    """SHA-1 of an image file's bytes (or of an array's shape, dtype and bytes)."""
    digest = hashlib.sha1()
    if isinstance(source, np.ndarray):
        digest.update(f"array|{source.shape}|{source.dtype}|".encode())
        digest.update(np.ascontiguousarray(source).tobytes())
    else:
        with open(source, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()
