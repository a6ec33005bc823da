"""An offline demo stimulus set: 10 object classes × 13 domains + normalizer images, as PNGs + CSV.

Objects: the animal silhouettes shipped by the ``animal-mnist`` package for bear, bird, dog,
elephant and zebra; procedurally drawn shapes for apple, car, chair, person and plane (the seed
study's ten classes). Backgrounds and object textures are crops of scikit-image's sample
photographs. Domains:

- ``hvm``: a textured, shaded object at a random pose on a photo background (naturalistic);
- ``silhouette``, ``convex_hull``, ``skeleton``, ``outline``: derived from each hvm image and its
  mask by :mod:`neuroit.stimuli.transforms` (``source_id`` = the hvm image's id);
- ``cartoon`` (flat posterised colours, black contour), ``line_drawing`` (contour + interior edges),
  ``mosaic`` (tiled), ``painting`` (smoothed, quantised, brush-stroked), ``sketch`` (wobbly
  repeated pencil strokes and hatching), ``coco_color`` / ``coco_gray`` (small, off-centre object in
  a cluttered photo, colour / grey), ``tdw`` (rendered look: floor + sky, smooth shading, shadow).

Every image draws its own random stream from ``(seed, domain, class, index)``, so the set is
identical for a given seed and adding images never changes the others.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from neuroit._atomic import atomic_path
from neuroit._lazy import import_optional
from neuroit.errors import NeuroitError
from neuroit.stimuli import _render as R
from neuroit.stimuli._shapes import object_mask, place_mask
from neuroit.stimuli.table import DERIVED_DOMAINS, DOMAINS, write_stimulus_set
from neuroit.stimuli.transforms import make_mosaic, to_grayscale, TRANSFORMS

__all__ = ["make_demo_stimulus_set", "DEMO_CLASSES"]

log = logging.getLogger(__name__)

#: The seed study's ten classes (all available: five from animal-mnist, five drawn procedurally).
DEMO_CLASSES = ("apple", "bear", "bird", "car", "chair", "dog", "elephant", "person", "plane", "zebra")


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), *map(int, key)])


def _hvm(rng, label, size):
    mask = place_mask(object_mask(label, rng, size), rng)
    background = R.crop(rng, R.HVM_BACKGROUNDS[rng.integers(len(R.HVM_BACKGROUNDS))], size)
    background = R.tint(background, R.random_colour(rng, value=(0.4, 0.8)), 0.5) * rng.uniform(0.6, 1.0)
    return R.to_uint8(R.composite(np.clip(background, 0, 1), R.naturalistic_object(rng, mask, size), mask)), mask


def _cartoon(rng, label, size):
    mask = place_mask(object_mask(label, rng, size), rng)
    colour = R.random_colour(rng, saturation=(0.6, 1.0), value=(0.7, 1.0))
    body = colour[None, None, :] * (0.55 + 0.45 * R.posterize(R.shading(mask), 3))[:, :, None]
    background = np.ones((size, size, 3)) * R.random_colour(rng, saturation=(0.1, 0.3), value=(0.9, 1.0))
    image = R.composite(background, body, mask)
    image[R.thick(R.boundary(mask), max(2, size // 40))] = 0.05
    return R.to_uint8(image)


def _line_drawing(rng, label, size):
    mask = place_mask(object_mask(label, rng, size), rng)
    interior = R.edges(R.naturalistic_object(rng, mask, size), sigma=2.0) & mask
    lines = R.thick(R.boundary(mask), max(2, size // 64)) | interior
    image = np.ones((size, size, 3))
    image[lines] = 0.0
    return R.to_uint8(image)


def _mosaic(rng, label, size):
    # a bright object on a muted, greyed background, so that the tesserae keep the figure visible
    mask = place_mask(object_mask(label, rng, size), rng, scale=(0.65, 0.9))
    background = R.crop(rng, R.HVM_BACKGROUNDS[rng.integers(len(R.HVM_BACKGROUNDS))], size)
    background = 0.35 + 0.3 * background.mean(axis=2, keepdims=True) * np.ones((1, 1, 3))
    obj = R.random_colour(rng, saturation=(0.6, 1.0), value=(0.6, 1.0))[None, None, :] * \
        (0.5 + 0.6 * R.shading(mask))[:, :, None]
    image = R.to_uint8(R.composite(background, np.clip(obj, 0, 1), mask))
    return make_mosaic(image, tile_size=max(3, size // 20), grout=1, grout_value=int(rng.integers(200, 250)),
                       jitter=0.12, seed=int(rng.integers(2**31)))


def _painting(rng, label, size):
    from scipy import ndimage
    mask = place_mask(object_mask(label, rng, size), rng)
    background = ndimage.gaussian_filter(R.crop(rng, R.COCO_BACKGROUNDS[rng.integers(len(R.COCO_BACKGROUNDS))],
                                                size), (2, 2, 0))
    obj = R.random_colour(rng, value=(0.5, 1.0))[None, None, :] * (0.4 + 0.7 * R.shading(mask))[:, :, None]
    image = R.composite(background, np.clip(obj, 0, 1), mask)
    image = R.brush(image + rng.normal(0, 0.06, size=image.shape), rng, length=max(2, size // 32))
    return R.to_uint8(R.posterize(image, 7))


def _sketch(rng, label, size):
    mask = place_mask(object_mask(label, rng, size), rng)
    image = np.ones((size, size)) * rng.uniform(0.88, 0.97) + rng.normal(0, 0.02, (size, size))
    for _ in range(3):
        stroke = R.boundary(R.wobble(mask, rng, 0.015)) & (rng.uniform(size=(size, size)) < 0.85)
        image[stroke] -= rng.uniform(0.25, 0.45)
    yy, xx = np.mgrid[0:size, 0:size]
    period = max(4, size // 20)
    hatching = ((xx + yy) % period == 0) & mask & (R.shading(mask) < 0.75)
    image[hatching] -= 0.25
    return R.to_uint8(np.repeat(np.clip(image, 0, 1)[:, :, None], 3, axis=2))


def _coco(rng, label, size, *, gray):
    mask = place_mask(object_mask(label, rng, size), rng, scale=(0.35, 0.6), max_shift=0.22, max_rotation=25)
    background = R.crop(rng, R.COCO_BACKGROUNDS[rng.integers(len(R.COCO_BACKGROUNDS))], size, zoom=(1.0, 3.0))
    for _ in range(rng.integers(1, 4)):  # clutter: other textured blobs around the object
        blob = np.zeros((size, size), bool)
        draw = import_optional("skimage.draw", "stimuli")
        rr, cc = draw.ellipse(rng.uniform(0, size), rng.uniform(0, size), rng.uniform(0.05, 0.2) * size,
                              rng.uniform(0.05, 0.2) * size, shape=blob.shape, rotation=rng.uniform(0, np.pi))
        blob[rr, cc] = True
        blob &= ~mask
        background = R.composite(background, R.naturalistic_object(rng, blob, size), blob)
    image = R.to_uint8(R.composite(background, R.naturalistic_object(rng, mask, size), mask))
    return to_grayscale(image) if gray else image


def _tdw(rng, label, size):
    mask = place_mask(object_mask(label, rng, size), rng, scale=(0.5, 0.75), max_shift=0.08)
    yy = np.linspace(0, 1, size)[:, None, None]
    horizon = rng.uniform(0.45, 0.65)
    sky = np.array([0.55, 0.7, 0.9]) * (0.8 + 0.2 * (1 - yy))
    floor = R.random_colour(rng, saturation=(0.1, 0.4), value=(0.4, 0.7)) * (0.6 + 0.4 * yy)
    background = np.where(yy < horizon, sky, floor) * np.ones((1, size, 1))
    ys, xs = np.nonzero(mask)
    if len(ys):  # soft elliptical contact shadow under the object
        shadow = np.zeros((size, size), bool)
        draw = import_optional("skimage.draw", "stimuli")
        rr, cc = draw.ellipse(ys.max(), xs.mean() + 0.05 * size, 0.05 * size + 1, (xs.max() - xs.min()) / 2 + 1,
                              shape=shadow.shape)
        shadow[rr, cc] = True
        background = background * (1 - 0.45 * R.soft_alpha(shadow, 2.0))
    shade = R.shading(mask, relief=10.0)
    specular = shade ** 12
    material = R.random_colour(rng, saturation=(0.3, 0.8), value=(0.5, 0.9))
    body = material[None, None, :] * (0.25 + 0.75 * shade[:, :, None]) + 0.5 * specular[:, :, None]
    return R.to_uint8(R.composite(background, np.clip(body, 0, 1), mask))


_STYLES = {"cartoon": _cartoon, "line_drawing": _line_drawing, "mosaic": _mosaic, "painting": _painting,
           "sketch": _sketch, "coco_color": lambda rng, label, size: _coco(rng, label, size, gray=False),
           "coco_gray": lambda rng, label, size: _coco(rng, label, size, gray=True), "tdw": _tdw}


def _normalizer(rng, size):
    names = R.HVM_BACKGROUNDS + R.COCO_BACKGROUNDS
    return R.to_uint8(R.crop(rng, names[rng.integers(len(names))], size, zoom=(1.0, 2.5)))


def _save_png(image: np.ndarray, path: Path) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".png") as tmp:
        Image.fromarray(image).save(tmp, format="PNG", compress_level=1)


def _write(out_dir: Path, image, stimulus_id, label, domain, source_id="", folder=None) -> dict:
    path = out_dir / (folder or f"images/{domain}") / f"{stimulus_id}.png"
    _save_png(image, path)
    return dict(stimulus_id=stimulus_id, image_path=str(path), object_label=label, domain=domain,
                source_id=source_id, is_normalizer=folder == "normalizers")


def _make_class(out_dir: Path, label: str, n: int, size: int, domains, seed: int) -> list[dict]:
    """All images of one class (every requested domain), written to disk; returns their table rows."""
    rows = []
    class_index = DEMO_CLASSES.index(label)
    thickness = {"skeleton": max(2, size // 40), "outline": max(2, size // 40)}
    if "hvm" in domains or any(d in DERIVED_DOMAINS for d in domains):
        for i in range(n):
            image, mask = _hvm(_rng(seed, 0, class_index, i), label, size)
            hvm_id = f"hvm_{label}_{i:03d}"
            if "hvm" in domains:
                rows.append(_write(out_dir, image, hvm_id, label, "hvm"))
            for domain in DERIVED_DOMAINS:
                if domain in domains:
                    derived = TRANSFORMS[domain](image, mask, **({"thickness": thickness[domain]}
                                                                 if domain in thickness else {}))
                    rows.append(_write(out_dir, derived, f"{domain}_{label}_{i:03d}", label, domain,
                                       source_id=hvm_id if "hvm" in domains else ""))
    for domain in domains:
        if domain in _STYLES:
            for i in range(n):
                image = _STYLES[domain](_rng(seed, DOMAINS.index(domain), class_index, i), label, size)
                rows.append(_write(out_dir, image, f"{domain}_{label}_{i:03d}", label, domain))
    return rows


def _make_normalizers(out_dir: Path, n: int, size: int, seed: int) -> list[dict]:
    return [_write(out_dir, _normalizer(_rng(seed, 100, 0, i), size), f"normalizer_{i:03d}", "", "normalizer",
                   folder="normalizers") for i in range(n)]


def make_demo_stimulus_set(out_dir, *, n_per_class: int = 12, image_size: int = 128, n_normalizers: int = 25,
                           classes=DEMO_CLASSES, domains=DOMAINS, seed: int = 0, n_jobs: int | None = None
                           ) -> pd.DataFrame:
    """Write the demo stimulus set to ``out_dir`` and return its table (see :mod:`neuroit.stimuli.table`).

    Writes ``out_dir/images/<domain>/<stimulus_id>.png``, ``out_dir/normalizers/*.png``,
    ``out_dir/stimuli.csv`` and ``out_dir/stimuli.json`` (the parameters). ``n_per_class`` images
    per class and domain (default 12: 120 hvm images, the 100 training + 20 held-out images of the
    seed protocol); derived domains have one image per hvm image. Classes are drawn in parallel
    processes (``n_jobs``, default one per CPU); the images do not depend on ``n_jobs``.
    """
    if int(n_per_class) < 1:
        raise NeuroitError(f"The 'n_per_class' parameter must be a positive integer. Got {n_per_class!r} instead.")
    if int(image_size) < 32:
        raise NeuroitError(f"The 'image_size' parameter must be at least 32 pixels. Got {image_size!r} instead.")
    unknown = [c for c in classes if c not in DEMO_CLASSES]
    if unknown:
        raise NeuroitError(f"The 'classes' parameter must list classes from {list(DEMO_CLASSES)}. Got {unknown}.")
    unknown = [d for d in domains if d not in DOMAINS]
    if unknown:
        raise NeuroitError(f"The 'domains' parameter must list domains from {list(DOMAINS)}. Got {unknown}.")
    out_dir = Path(out_dir)
    size, n, classes, domains = int(image_size), int(n_per_class), tuple(classes), tuple(domains)
    n_images = n * len(classes) * len(domains)
    n_jobs = (os.cpu_count() or 1) if n_jobs is None else int(n_jobs)
    n_jobs = max(1, min(n_jobs, len(classes), n_images // 100 or 1))
    if n_jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(n_jobs) as pool:
            futures = [pool.submit(_make_class, out_dir, label, n, size, domains, int(seed)) for label in classes]
            rows = [row for future in futures for row in future.result()]
    else:
        rows = [row for label in classes for row in _make_class(out_dir, label, n, size, domains, int(seed))]
    rows += _make_normalizers(out_dir, int(n_normalizers), size, int(seed))

    table = pd.DataFrame(rows, columns=["stimulus_id", "image_path", "object_label", "domain", "source_id",
                                        "is_normalizer"])
    params = dict(n_per_class=n, image_size=size, n_normalizers=int(n_normalizers), classes=list(classes),
                  domains=list(domains), seed=int(seed), generator="neuroit.stimuli.make_demo_stimulus_set")
    table.attrs.update(params)
    write_stimulus_set(table, out_dir / "stimuli.csv")
    with atomic_path(out_dir / "stimuli.json") as tmp:
        tmp.write_text(json.dumps(params, indent=2))
    log.info("wrote %d demo stimuli to %s", len(table), out_dir)
    return table
