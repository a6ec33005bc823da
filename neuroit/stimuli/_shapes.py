"""Object masks for the demo stimulus set: animal-mnist silhouettes and procedurally drawn objects.

Each ``*_mask(rng, size)`` returns a boolean ``(size, size)`` mask of the object filling most of a
square canvas; :func:`place_mask` then scales, rotates, flips and moves it.
"""
from __future__ import annotations

import functools
import gzip
import os
import pickle

import numpy as np

from neuroit._lazy import import_optional

#: animal-mnist label index of the seed classes it provides (its labels are, in order: bear, bird,
#: cat, cow, dog, elephant, giraffe, horse, sheep, zebra).
ANIMAL_MNIST_LABELS = {"bear": 0, "bird": 1, "dog": 4, "elephant": 5, "zebra": 9}


def animal_mnist_path() -> str:
    """Folder of the animal-mnist package's data files (found without importing TensorFlow)."""
    import importlib.util

    spec = importlib.util.find_spec("animal_mnist")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError('the demo stimulus set needs the animal-mnist package; install it with: '
                          'pip install --no-deps animal-mnist')
    return os.path.join(list(spec.submodule_search_locations)[0], "data", "Animal_MNIST")


@functools.lru_cache(maxsize=1)
def load_animal_mnist() -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 28×28 animal silhouettes (uint8) and labels of animal-mnist, read with numpy/pickle.

    The package's own loader imports TensorFlow; its data are two gzip'd pickles of numpy arrays.
    """
    folder = animal_mnist_path()
    with gzip.open(os.path.join(folder, "animal_data_version_3.gz"), "rb") as f:
        images = pickle.load(f)
    with gzip.open(os.path.join(folder, "animal_label_version_3.gz"), "rb") as f:
        labels = pickle.load(f)
    images, labels = np.asarray(images, dtype=np.uint8), np.asarray(labels, dtype=np.int64)
    assert images.shape == (len(labels), 28, 28)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def animal_mask(label: str, rng: np.random.Generator, size: int) -> np.ndarray:
    """A random animal-mnist silhouette of class ``label``, upsampled smoothly to ``size``."""
    from scipy import ndimage
    images, labels = load_animal_mnist()
    index = rng.choice(np.flatnonzero(labels == ANIMAL_MNIST_LABELS[label]))
    small = images[index].astype(np.float64) / 255.0
    small = ndimage.binary_closing(small > 0.35, iterations=1).astype(np.float64) * 0.5 + small * 0.5
    big = _resize(np.pad(small, 2), (size, size), "bicubic")
    mask = ndimage.binary_fill_holes(big > 0.4)
    return _recentre(mask)


def _recentre(mask: np.ndarray) -> np.ndarray:
    """Shift and rescale the mask so its bounding box is centred and fills ~90% of the canvas."""
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return mask
    size = mask.shape[0]
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    crop = mask[y0:y1, x0:x1].astype(np.float64)
    scale = 0.9 * size / max(crop.shape)
    h, w = max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))
    crop = _resize(crop, (h, w), "bilinear") > 0.5
    out = np.zeros_like(mask)
    oy, ox = (size - h) // 2, (size - w) // 2
    out[oy:oy + h, ox:ox + w] = crop
    return out


def _resize(array, shape, method):
    from neuroit.stimuli._render import resize_float

    return resize_float(array, shape, method=method)


def _polygon(mask, points, size):
    draw = import_optional("skimage.draw", "stimuli")
    pts = np.asarray(points, dtype=np.float64) * size
    rr, cc = draw.polygon(pts[:, 1], pts[:, 0], shape=mask.shape)
    mask[rr, cc] = True


def _ellipse(mask, cx, cy, rx, ry, size, rotation=0.0):
    draw = import_optional("skimage.draw", "stimuli")
    rr, cc = draw.ellipse(cy * size, cx * size, max(ry * size, 0.5), max(rx * size, 0.5), shape=mask.shape,
                          rotation=rotation)
    mask[rr, cc] = True


def _rect(mask, x0, y0, x1, y1, size):
    _polygon(mask, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)], size)


def _j(rng, value, spread=0.12):
    return value * (1.0 + spread * rng.uniform(-1, 1))


def apple_mask(rng, size):
    mask = np.zeros((size, size), bool)
    r = _j(rng, 0.3)
    _ellipse(mask, 0.4, 0.56, r * _j(rng, 0.95, 0.05), r, size)
    _ellipse(mask, 0.6, 0.56, r * _j(rng, 0.95, 0.05), r, size)
    _rect(mask, 0.485, 0.12, 0.515 + 0.02 * rng.uniform(), 0.3, size)
    _ellipse(mask, 0.6, 0.2, _j(rng, 0.09), 0.035, size, rotation=0.5)
    return _recentre(mask)


def car_mask(rng, size):
    mask = np.zeros((size, size), bool)
    body_top, body_bottom = _j(rng, 0.5, 0.06), _j(rng, 0.7, 0.04)
    _rect(mask, 0.05, body_top, 0.95, body_bottom, size)
    cab0, cab1 = _j(rng, 0.28), _j(rng, 0.72, 0.06)
    _polygon(mask, [(cab0 - 0.06, body_top), (cab0 + 0.04, _j(rng, 0.3, 0.1)), (cab1 - 0.04, _j(rng, 0.3, 0.1)),
                    (cab1 + 0.06, body_top)], size)
    for x in (_j(rng, 0.25, 0.08), _j(rng, 0.75, 0.04)):
        _ellipse(mask, x, body_bottom, 0.11, 0.11, size)
    return _recentre(mask)


def chair_mask(rng, size):
    mask = np.zeros((size, size), bool)
    seat, leg = _j(rng, 0.55, 0.06), 0.045
    back_x = _j(rng, 0.3, 0.1)
    _rect(mask, back_x, _j(rng, 0.1, 0.4), back_x + 0.07, seat, size)            # backrest post
    _rect(mask, back_x, 0.1, back_x + _j(rng, 0.07, 0.5), 0.35, size)             # backrest panel
    _rect(mask, back_x, seat - 0.06, _j(rng, 0.75, 0.08), seat, size)            # seat
    for x in (back_x, _j(rng, 0.75, 0.08) - leg):
        _rect(mask, x, seat, x + leg, 0.92, size)                                # legs
    return _recentre(mask)


def person_mask(rng, size):
    mask = np.zeros((size, size), bool)
    cx = 0.5
    _ellipse(mask, cx, 0.12, 0.065, 0.08, size)                                  # head
    sh, hip = 0.24, _j(rng, 0.55, 0.05)
    _polygon(mask, [(cx - 0.12, sh), (cx + 0.12, sh), (cx + 0.09, hip), (cx - 0.09, hip)], size)   # torso
    for side in (-1, 1):
        a = rng.uniform(0.05, 0.35)                                              # arm angle
        hand = (cx + side * (0.12 + 0.3 * np.sin(a)), sh + 0.3 * np.cos(a))
        _polygon(mask, [(cx + side * 0.1, sh), (cx + side * 0.14, sh + 0.02), (hand[0] + side * 0.02, hand[1]),
                        (hand[0] - side * 0.02, hand[1])], size)
        foot = (cx + side * rng.uniform(0.05, 0.2), 0.97)
        _polygon(mask, [(cx + side * 0.01, hip), (cx + side * 0.09, hip), (foot[0] + side * 0.03, foot[1]),
                        (foot[0] - side * 0.03, foot[1])], size)
    return _recentre(mask)


def plane_mask(rng, size):
    mask = np.zeros((size, size), bool)
    _ellipse(mask, 0.5, 0.5, 0.45, _j(rng, 0.06, 0.2), size)                    # fuselage
    sweep, span = rng.uniform(0.05, 0.15), _j(rng, 0.38, 0.1)
    wx = _j(rng, 0.52, 0.06)
    _polygon(mask, [(wx - 0.06, 0.5), (wx + 0.06, 0.5), (wx - sweep + 0.02, 0.5 + span),
                    (wx - sweep - 0.06, 0.5 + span)], size)
    _polygon(mask, [(wx - 0.06, 0.5), (wx + 0.06, 0.5), (wx - sweep + 0.02, 0.5 - span),
                    (wx - sweep - 0.06, 0.5 - span)], size)
    _polygon(mask, [(0.08, 0.5), (0.16, 0.5), (0.1, 0.5 - _j(rng, 0.16)), (0.05, 0.5 - _j(rng, 0.16))], size)
    return _recentre(mask)


PROCEDURAL = {"apple": apple_mask, "car": car_mask, "chair": chair_mask, "person": person_mask,
              "plane": plane_mask}


def object_mask(label: str, rng: np.random.Generator, size: int) -> np.ndarray:
    """A canonical (centred, ~90% of the canvas) mask of one random instance of ``label``."""
    if label in ANIMAL_MNIST_LABELS:
        return animal_mask(label, rng, size)
    return PROCEDURAL[label](rng, size)


def place_mask(mask: np.ndarray, rng: np.random.Generator, *, scale=(0.55, 0.85), max_rotation=15.0,
               max_shift=0.12, flip=True) -> np.ndarray:
    """Randomly scale, rotate, flip and shift a canonical mask (as HVM varies object pose and position)."""
    transform = import_optional("skimage.transform", "stimuli")
    size = mask.shape[0]
    if flip and rng.uniform() < 0.5:
        mask = mask[:, ::-1]
    s = rng.uniform(*scale)
    angle = np.deg2rad(rng.uniform(-max_rotation, max_rotation))
    shift = rng.uniform(-max_shift, max_shift, size=2) * size
    centre = np.array([size / 2.0, size / 2.0])
    forward = (transform.SimilarityTransform(translation=-centre)
               + transform.SimilarityTransform(scale=s, rotation=angle)
               + transform.SimilarityTransform(translation=centre + shift))
    warped = transform.warp(mask.astype(np.float64), forward.inverse, order=1, mode="constant", cval=0.0)
    return warped > 0.5
