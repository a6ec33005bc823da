"""Batched image decoding + resize + centre crop on the model's device (``decode="gpu"``).

DataLoader workers only read file bytes (:class:`~neuroit.models._data.ImageDataset`,
``mode="bytes"``); the main process decodes a whole batch of JPEGs at once with
``torchvision.io.decode_jpeg(list, device=...)`` (nvJPEG on CUDA, with the hardware JPEG engines of
A100/H100-class GPUs for baseline JPEGs), decodes anything else (PNG, …) per image on the CPU, and
resizes + centre-crops on the device with torch ops, following the same geometry as the PIL path
(:func:`~neuroit.models._data.load_image`: shorter side to ``floor(crop / crop_pct)``, longer side
truncated, crop offset ``round((size - crop) / 2)``, zero padding when smaller). Interpolation uses
``torch.nn.functional.interpolate(..., antialias=True)`` in float32, so pixels differ from PIL's
(uint8, its own filter rounding) by a fraction of a grey level on average; the cache key therefore
records the decode path.
"""
from __future__ import annotations

import contextlib
import functools
import io
import logging
import math
import warnings

import numpy as np

from neuroit.models._deps import import_optional

torch = import_optional("torch")
log = logging.getLogger(__name__)

#: interpolations the tensor path reproduces (torch modes); others need the PIL path
MODES = {"bilinear": "bilinear", "bicubic": "bicubic", "nearest": "nearest-exact"}
JPEG_EXTENSIONS = (".jpg", ".jpeg", ".jpe", ".jfif")


def is_jpeg(data) -> bool:
    """Whether raw bytes (uint8 1-D tensor) start with the JPEG SOI marker."""
    return data.ndim == 1 and data.numel() > 3 and data[:3].numpy().tobytes() == b"\xff\xd8\xff"


@contextlib.contextmanager
def _quiet():
    """Silence torchvision's deprecation warning for its image decoders (torchvision ≥ 0.29)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def _decode_one_cpu(data) -> "torch.Tensor":
    """Any image format as uint8 (3, H, W) on the CPU: torchvision's decoders, else PIL."""
    tv_io = import_optional("torchvision.io")
    try:
        with _quiet():
            return tv_io.decode_image(data, mode=tv_io.ImageReadMode.RGB)
    except Exception:  # noqa: BLE001 - a format torchvision cannot decode (BMP, TIFF, …): PIL
        from PIL import Image

        image = Image.open(io.BytesIO(data.numpy().tobytes()))
        image = image if image.mode == "RGB" else image.convert("RGB")
        return torch.from_numpy(np.ascontiguousarray(np.asarray(image).transpose(2, 0, 1)))


@functools.lru_cache(maxsize=8)
def probe_device_decode(device: str) -> str:
    """An empty string if ``decode_jpeg(..., device=device)`` works here, else the error (e.g. no nvJPEG)."""
    from PIL import Image

    tv_io = import_optional("torchvision.io")
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 90)).save(buffer, format="JPEG")
    data = torch.frombuffer(bytearray(buffer.getvalue()), dtype=torch.uint8)
    try:
        with _quiet():
            image = tv_io.decode_jpeg([data], mode=tv_io.ImageReadMode.RGB, device=device)[0]
        return "" if tuple(image.shape) == (3, 16, 16) else f"decoded shape {tuple(image.shape)}"
    except Exception as err:  # noqa: BLE001 - any failure means: do not use this path
        return f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"


def decode_images(payloads, *, device, jpeg=None) -> list:
    """Raw file bytes (uint8 1-D) or decoded pixels (uint8 (3, H, W)) → uint8 (3, H, W) tensors on ``device``.

    All JPEGs of the batch go to one batched ``decode_jpeg`` call; if it fails (an unsupported JPEG),
    they are decoded one by one, each falling back to the CPU. ``jpeg``: which payloads are JPEG
    bytes, if already known (:func:`~neuroit.models._data.collate_items` checks it in the workers).
    """
    tv_io = import_optional("torchvision.io")
    out = [None] * len(payloads)
    jpegs = [i for i, p in enumerate(payloads) if (is_jpeg(p) if jpeg is None else jpeg[i])]
    if jpegs:
        rgb = tv_io.ImageReadMode.RGB
        with _quiet():
            try:
                decoded = tv_io.decode_jpeg([payloads[i] for i in jpegs], mode=rgb, device=device)
            except RuntimeError as err:
                log.warning("batched decode_jpeg on %s failed (%s); decoding these %d JPEGs one by one", device,
                            str(err).splitlines()[0] if str(err) else type(err).__name__, len(jpegs))
                decoded = [None] * len(jpegs)
                for k, i in enumerate(jpegs):
                    try:
                        decoded[k] = tv_io.decode_jpeg(payloads[i], mode=rgb, device=device)
                    except RuntimeError:
                        decoded[k] = _decode_one_cpu(payloads[i]).to(device, non_blocking=True)
        for k, i in enumerate(jpegs):
            out[i] = decoded[k]
    for i, p in enumerate(payloads):
        if out[i] is None:
            image = p if p.ndim == 3 else _decode_one_cpu(p)
            out[i] = image.to(device, non_blocking=True)
    return out


def target_geometry(height: int, width: int, preprocess: dict) -> tuple[tuple[int, int], tuple[int, int]]:
    """((resized height, width), (top, left) of the crop) exactly as :func:`~neuroit.models._data.load_image`."""
    crop_h, crop_w = preprocess["input_size"][1:]
    if preprocess.get("crop_mode", "center") == "squash":
        new_w = int(math.floor(crop_w / preprocess["crop_pct"]))
        new_h = int(math.floor(crop_h / preprocess["crop_pct"]))
    else:
        short = int(math.floor(min(crop_h, crop_w) / preprocess["crop_pct"]))
        if width <= height:
            new_w, new_h = short, int(short * height / width)
        else:
            new_w, new_h = int(short * width / height), short
    return (new_h, new_w), (int(round((new_h - crop_h) / 2.0)), int(round((new_w - crop_w) / 2.0)))


def resize_crop(images, preprocess: dict) -> "torch.Tensor":
    """uint8 (3, H, W) tensors (one device) → float32 (N, 3, crop_h, crop_w) in [0, 255], resized + cropped.

    Images of equal size are processed as one stacked batch.
    """
    functional = torch.nn.functional
    mode = MODES[preprocess["interpolation"]]
    crop_h, crop_w = preprocess["input_size"][1:]
    groups: dict = {}
    for i, image in enumerate(images):
        groups.setdefault(tuple(image.shape[1:]), []).append(i)
    out = None if len(groups) == 1 else torch.empty((len(images), 3, crop_h, crop_w), dtype=torch.float32,
                                                     device=images[0].device)
    for (height, width), rows in groups.items():
        x = torch.stack([images[i] for i in rows]).float() if len(rows) > 1 else images[rows[0]][None].float()
        (new_h, new_w), (top, left) = target_geometry(height, width, preprocess)
        if (new_h, new_w) != (height, width):
            x = functional.interpolate(x, size=(new_h, new_w), mode=mode, antialias=mode != "nearest-exact",
                                       **({} if mode == "nearest-exact" else dict(align_corners=False)))
            x = x.clamp_(0.0, 255.0).round_()  # PIL's output is uint8 too
        if top < 0 or left < 0:  # smaller than the crop: pad with zeros, as the PIL path
            pad_top, pad_left = max(0, -top), max(0, -left)
            x = functional.pad(x, (pad_left, max(new_w, crop_w) - new_w - pad_left,
                                   pad_top, max(new_h, crop_h) - new_h - pad_top))
            new_h, new_w = x.shape[-2:]
            top, left = int(round((new_h - crop_h) / 2.0)), int(round((new_w - crop_w) / 2.0))
        x = x[:, :, top:top + crop_h, left:left + crop_w]
        if len(rows) == len(images):
            return x.contiguous()
        out[rows] = x
    return out


def decode_batch(payloads, preprocess: dict, *, device, jpeg=None) -> "torch.Tensor":
    """Raw bytes / pixels of one batch → float32 (N, 3, H, W) in [0, 255] on ``device``, preprocessed."""
    return resize_crop(decode_images(payloads, device=device, jpeg=jpeg), preprocess)
