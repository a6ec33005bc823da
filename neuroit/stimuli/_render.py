"""Rendering helpers for the demo stimulus set: photo textures, shading and the art styles.

All functions take an explicit ``numpy.random.Generator`` and return ``uint8`` RGB or float arrays.
"""
from __future__ import annotations

import functools

import numpy as np

from neuroit._lazy import import_optional

#: scikit-image sample photographs (all shipped with scikit-image, no download) used as textures.
HVM_BACKGROUNDS = ("grass", "gravel", "brick", "moon", "camera", "hubble_deep_field")
COCO_BACKGROUNDS = ("coffee", "rocket", "astronaut", "chelsea", "immunohistochemistry", "retina")
OBJECT_TEXTURES = ("brick", "gravel", "grass", "moon", "coins", "cell")


@functools.lru_cache(maxsize=None)
def _photo_u8(name: str) -> np.ndarray:
    data = import_optional("skimage.data", "stimuli")
    image = np.asarray(getattr(data, name)())
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    image = np.ascontiguousarray(image[:, :, :3].astype(np.uint8))
    image.setflags(write=False)
    return image


def photo(name: str) -> np.ndarray:
    """A scikit-image sample image as float RGB in [0, 1]."""
    return _photo_u8(name).astype(np.float32) / 255.0


def crop(rng, name: str, size: int, *, zoom=(1.0, 2.0)) -> np.ndarray:
    """A random square crop of photo ``name`` resized to ``size`` (float RGB, PIL bilinear with antialiasing)."""
    from PIL import Image

    image = _photo_u8(name)
    h, w = image.shape[:2]
    side = int(min(h, w) / rng.uniform(*zoom))
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    out = Image.fromarray(image).resize((size, size), Image.BILINEAR, box=(x, y, x + side, y + side))
    return np.asarray(out, dtype=np.float32) / 255.0


def resize_float(array: np.ndarray, shape, *, method: str = "bilinear") -> np.ndarray:
    """Resize a 2-D float array with PIL (much faster than scikit-image for these small images)."""
    from PIL import Image

    resample = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC, "nearest": Image.NEAREST}[method]
    image = Image.fromarray(np.ascontiguousarray(array, dtype=np.float32), mode="F")
    return np.asarray(image.resize((int(shape[1]), int(shape[0])), resample), dtype=np.float64)


def random_colour(rng, *, saturation=(0.35, 0.9), value=(0.35, 0.95)) -> np.ndarray:
    color = import_optional("skimage.color", "stimuli")
    hsv = np.array([[[rng.uniform(), rng.uniform(*saturation), rng.uniform(*value)]]])
    return color.hsv2rgb(hsv)[0, 0]


def tint(gray_rgb: np.ndarray, colour: np.ndarray, strength: float = 0.7) -> np.ndarray:
    luminance = gray_rgb.mean(axis=2, keepdims=True)
    return (1 - strength) * gray_rgb + strength * luminance * colour[None, None, :] * 1.6


def height_map(mask: np.ndarray) -> np.ndarray:
    """A smooth dome over the mask (normalised distance transform), for pseudo-3-D shading."""
    from scipy import ndimage
    dist = ndimage.distance_transform_edt(mask)
    if dist.max() > 0:
        dist = dist / dist.max()
    return np.sqrt(np.clip(dist, 0, 1))


def shading(mask: np.ndarray, *, light=(-0.5, -0.6, 0.62), relief: float = 6.0) -> np.ndarray:
    """Lambertian shading (0–1) of the dome under the mask, lit from the upper left."""
    from scipy import ndimage
    height = ndimage.gaussian_filter(height_map(mask), 1.0) * relief
    gy, gx = np.gradient(height)
    normal = np.stack([-gx, -gy, np.ones_like(gx)], axis=2)
    normal /= np.linalg.norm(normal, axis=2, keepdims=True)
    light = np.asarray(light, dtype=np.float64)
    return np.clip(normal @ (light / np.linalg.norm(light)), 0, 1)


def soft_alpha(mask: np.ndarray, sigma: float = 0.7) -> np.ndarray:
    from scipy import ndimage
    return np.clip(ndimage.gaussian_filter(mask.astype(np.float64), sigma), 0, 1)[:, :, None]


def composite(background: np.ndarray, foreground: np.ndarray, mask: np.ndarray) -> np.ndarray:
    alpha = soft_alpha(mask)
    return background * (1 - alpha) + foreground * alpha


def to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(image) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def naturalistic_object(rng, mask: np.ndarray, size: int, *, textures=OBJECT_TEXTURES) -> np.ndarray:
    """A textured, colour-tinted and shaded object (float RGB, valid under ``mask``)."""
    texture = crop(rng, textures[rng.integers(len(textures))], size, zoom=(1.5, 4.0))
    surface = np.clip(tint(texture, random_colour(rng)), 0, 1)
    light = 0.35 + 0.75 * shading(mask)[:, :, None]
    return np.clip(surface * light, 0, 1)


def posterize(image: np.ndarray, levels: int) -> np.ndarray:
    return np.round(np.clip(image, 0, 1) * (levels - 1)) / (levels - 1)


def edges(image: np.ndarray, *, sigma: float = 1.5) -> np.ndarray:
    feature = import_optional("skimage.feature", "stimuli")
    return feature.canny(image.mean(axis=2), sigma=sigma)


def thick(mask: np.ndarray, width: int) -> np.ndarray:
    morphology = import_optional("skimage.morphology", "stimuli")
    return morphology.dilation(mask, morphology.disk(max(1, width // 2))) if width > 1 else mask


def boundary(mask: np.ndarray) -> np.ndarray:
    segmentation = import_optional("skimage.segmentation", "stimuli")
    return segmentation.find_boundaries(mask, mode="inner")


def wobble(mask: np.ndarray, rng, amount: float) -> np.ndarray:
    """The mask displaced by a smooth random field (a hand-drawn, imprecise copy)."""
    from scipy import ndimage
    size = mask.shape[0]
    field = [resize_float(rng.uniform(-1, 1, size=(6, 6)), mask.shape, method="bicubic") * amount * size
             for _ in range(2)]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    return ndimage.map_coordinates(mask.astype(np.float64), [yy + field[0], xx + field[1]], order=1) > 0.5


def brush(image: np.ndarray, rng, *, length: int = 5) -> np.ndarray:
    """Directional smoothing along one random stroke angle per quadrant: a painted look."""
    from scipy import ndimage
    out = np.empty_like(image)
    half = image.shape[0] // 2
    for sl in [(slice(0, half), slice(0, half)), (slice(0, half), slice(half, None)),
               (slice(half, None), slice(0, half)), (slice(half, None), slice(half, None))]:
        angle = rng.uniform(0, np.pi)
        kernel = np.zeros((2 * length + 1, 2 * length + 1))
        for t in np.linspace(-length, length, 4 * length + 1):
            kernel[int(round(length + t * np.sin(angle))), int(round(length + t * np.cos(angle)))] = 1
        kernel /= kernel.sum()
        for c in range(3):
            out[sl + (c,)] = ndimage.convolve(image[:, :, c], kernel, mode="reflect")[sl]
    return out
