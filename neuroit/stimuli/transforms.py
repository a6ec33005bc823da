"""Domain transforms: derive silhouette, convex hull, skeleton, outline, grayscale and mosaic images.

Every function is pure: arrays in, a new ``uint8`` RGB array ``(height, width, 3)`` out. The
shape-derived domains take the naturalistic image and a boolean object mask of the same height
and width and draw black (``foreground``) on white (``background``), as in the seed study's
silhouette domains.
"""
from __future__ import annotations

import numpy as np

from neuroit.errors import NeuroitError
from neuroit._lazy import import_optional

__all__ = [
    "make_silhouette",
    "make_convex_hull",
    "make_skeleton",
    "make_outline",
    "to_grayscale",
    "make_mosaic",
    "apply_transform",
    "TRANSFORMS",
]


def _as_rgb(image, name: str = "image") -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise NeuroitError(f"The '{name}' parameter must be an array of shape (height, width) or "
                           f"(height, width, 3 or 4). Got shape {image.shape} instead.")
    image = image[:, :, :3]
    if image.dtype != np.uint8:
        if np.issubdtype(image.dtype, np.floating) and image.size and float(np.nanmax(image)) <= 1.0:
            image = image * 255.0
        image = np.clip(np.nan_to_num(image), 0, 255).round().astype(np.uint8)
    return image


def _as_mask(mask, shape) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim == 3:
        mask = mask[:, :, 0]
    if mask.shape != tuple(shape[:2]):
        raise NeuroitError(f"The 'mask' parameter must have the image's height and width {tuple(shape[:2])}. "
                           f"Got shape {mask.shape} instead.")
    return mask.astype(bool)


def _paint(mask: np.ndarray, foreground: int, background: int) -> np.ndarray:
    out = np.full(mask.shape + (3,), background, dtype=np.uint8)
    out[mask] = foreground
    return out


def _thicken(mask: np.ndarray, thickness: int) -> np.ndarray:
    if thickness <= 1:
        return mask
    morphology = import_optional("skimage.morphology", "stimuli")
    return morphology.dilation(mask, morphology.disk(max(1, thickness // 2)))


def make_silhouette(image, mask, *, foreground: int = 0, background: int = 255) -> np.ndarray:
    """The object's filled silhouette: the mask in ``foreground`` on a ``background`` field."""
    image = _as_rgb(image)
    return _paint(_as_mask(mask, image.shape), foreground, background)


def make_convex_hull(image, mask, *, foreground: int = 0, background: int = 255) -> np.ndarray:
    """The filled convex hull of the object mask (scikit-image ``convex_hull_image``)."""
    image = _as_rgb(image)
    mask = _as_mask(mask, image.shape)
    if not mask.any():
        return _paint(mask, foreground, background)
    morphology = import_optional("skimage.morphology", "stimuli")
    return _paint(morphology.convex_hull_image(mask), foreground, background)


def make_skeleton(image, mask, *, thickness: int = 3, foreground: int = 0, background: int = 255) -> np.ndarray:
    """The medial-axis skeleton of the mask (scikit-image ``skeletonize``), drawn ``thickness`` px wide."""
    image = _as_rgb(image)
    mask = _as_mask(mask, image.shape)
    morphology = import_optional("skimage.morphology", "stimuli")
    skeleton = morphology.skeletonize(mask)
    return _paint(_thicken(skeleton, thickness), foreground, background)


def make_outline(image, mask, *, thickness: int = 3, foreground: int = 0, background: int = 255) -> np.ndarray:
    """The object's outer contour (the mask's boundary pixels), drawn ``thickness`` px wide."""
    image = _as_rgb(image)
    mask = _as_mask(mask, image.shape)
    segmentation = import_optional("skimage.segmentation", "stimuli")
    boundary = segmentation.find_boundaries(mask, mode="inner")
    return _paint(_thicken(boundary, thickness), foreground, background)


def to_grayscale(image) -> np.ndarray:
    """Luminance (ITU-R 601 weights, as scikit-image ``rgb2gray``) repeated into three channels."""
    image = _as_rgb(image).astype(np.float64)
    gray = image @ np.array([0.2125, 0.7154, 0.0721])
    gray = np.clip(gray.round(), 0, 255).astype(np.uint8)
    return np.repeat(gray[:, :, None], 3, axis=2)


def make_mosaic(image, *, tile_size: int = 8, grout: int = 1, grout_value: int = 235,
                jitter: float = 0.0, seed: int = 0) -> np.ndarray:
    """A tiled mosaic: each ``tile_size`` square takes its mean colour, separated by ``grout`` px lines.

    ``jitter`` (0–1) adds seeded random brightness variation per tile, like uneven tesserae.
    """
    image = _as_rgb(image)
    if int(tile_size) < 2:
        raise NeuroitError(f"The 'tile_size' parameter of make_mosaic must be an integer >= 2. "
                           f"Got {tile_size!r} instead.")
    if not 0 <= int(grout) < int(tile_size):
        raise NeuroitError(f"The 'grout' parameter of make_mosaic must be between 0 and tile_size - 1. "
                           f"Got {grout!r} instead.")
    tile_size, grout = int(tile_size), int(grout)
    height, width = image.shape[:2]
    ny, nx = -(-height // tile_size), -(-width // tile_size)
    padded = np.pad(image.astype(np.float64), ((0, ny * tile_size - height), (0, nx * tile_size - width), (0, 0)),
                    mode="edge")
    tiles = padded.reshape(ny, tile_size, nx, tile_size, 3).mean(axis=(1, 3))
    if jitter:
        rng = np.random.default_rng(seed)
        tiles = tiles * (1.0 + float(jitter) * rng.uniform(-1, 1, size=(ny, nx, 1)))
    out = np.repeat(np.repeat(tiles, tile_size, axis=0), tile_size, axis=1)
    if grout:
        line = (np.arange(ny * tile_size) % tile_size) >= tile_size - grout
        out[line, :, :] = grout_value
        line = (np.arange(nx * tile_size) % tile_size) >= tile_size - grout
        out[:, line, :] = grout_value
    return np.clip(out[:height, :width].round(), 0, 255).astype(np.uint8)


TRANSFORMS = {
    "silhouette": make_silhouette,
    "convex_hull": make_convex_hull,
    "skeleton": make_skeleton,
    "outline": make_outline,
}


def apply_transform(image, mask=None, *, domain: str, **params) -> np.ndarray:
    """Apply the transform named ``domain`` (silhouette, convex_hull, skeleton, outline, grayscale, mosaic)."""
    if domain in TRANSFORMS:
        if mask is None:
            raise NeuroitError(f"The '{domain}' transform needs an object mask; got mask=None.")
        return TRANSFORMS[domain](image, mask, **params)
    if domain == "grayscale":
        return to_grayscale(image)
    if domain == "mosaic":
        return make_mosaic(image, **params)
    names = sorted([*TRANSFORMS, "grayscale", "mosaic"])
    raise NeuroitError(f"The 'domain' parameter of apply_transform must be one of {names}. Got {domain!r} instead.")
