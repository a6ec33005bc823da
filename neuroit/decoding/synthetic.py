"""Synthetic stimulus sets and feature matrices with a known class signal, for tests, notebooks
and benchmarks (real features come from :mod:`neuroit.models` or recorded IT tensors)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from neuroit.errors import NeuroitError

__all__ = ["SEED_CLASSES", "SEED_DOMAINS", "DERIVED_DOMAINS", "synthetic_stimuli", "synthetic_features"]

#: The seed study's 10 object classes and 13 domains (naturalistic HVM first).
SEED_CLASSES = ("apple", "bear", "bird", "car", "chair", "dog", "elephant", "person", "plane", "zebra")
SEED_DOMAINS = ("hvm", "silhouette", "convex_hull", "skeleton", "outline", "cartoon", "line_drawing", "mosaic",
                "painting", "sketch", "coco_color", "coco_gray", "tdw")
#: Domains derived image-by-image from a naturalistic image (their source_id names it).
DERIVED_DOMAINS = ("silhouette", "convex_hull", "skeleton", "outline")


def synthetic_stimuli(*, classes=SEED_CLASSES, domains=SEED_DOMAINS, n_per_class: int = 20,
                      n_per_class_other: int = 8, derived=DERIVED_DOMAINS) -> pd.DataFrame:
    """A stimulus table: ``n_per_class`` images per class in ``domains[0]``, one image per
    naturalistic image in each derived domain (``source_id`` set), ``n_per_class_other`` per class
    in the other domains. Columns stimulus_id, image_path (""), object_label, domain, source_id,
    is_normalizer."""
    if n_per_class < 1 or n_per_class_other < 0:
        raise NeuroitError("synthetic_stimuli needs n_per_class >= 1 and n_per_class_other >= 0.")
    rows = []
    base = domains[0]
    for c in classes:
        for i in range(n_per_class):
            rows.append((f"{base}_{c}_{i:03d}", c, base, ""))
    for d in domains[1:]:
        for c in classes:
            if d in derived:
                for i in range(n_per_class):
                    rows.append((f"{d}_{c}_{i:03d}", c, d, f"{base}_{c}_{i:03d}"))
            else:
                for i in range(n_per_class_other):
                    rows.append((f"{d}_{c}_{i:03d}", c, d, ""))
    table = pd.DataFrame(rows, columns=["stimulus_id", "object_label", "domain", "source_id"])
    table.insert(1, "image_path", "")
    table["is_normalizer"] = False
    return table


def synthetic_features(stimuli: pd.DataFrame, *, n_units: int = 64, signal: float = 1.0, transfer=0.6,
                       image_noise: float = 1.0, noise: float = 1.0, seed: int = 0):
    """A (stimulus_id x unit) DataArray with class tuning that weakens outside the first domain.

    Each unit has a random tuning to every class (SD ``signal``); a naturalistic image adds its
    own pattern (SD ``image_noise``); an image of domain d shows ``g_d`` times the tuning and
    image pattern of its root image (its ``source_id`` or itself), a domain offset and fresh noise
    (SD ``noise``). ``g`` is 1 in the first domain and ``transfer`` (a number or one per other
    domain) elsewhere. ``signal=0`` gives features without any class information.
    """
    import xarray as xr

    rng = np.random.default_rng(seed)
    ids = stimuli["stimulus_id"].astype(str).to_numpy()
    labels = stimuli["object_label"].astype(str).to_numpy()
    domain = stimuli["domain"].astype(str).to_numpy()
    src = stimuli["source_id"].fillna("").astype(str).to_numpy() if "source_id" in stimuli else np.full(len(ids), "")
    root = np.where(src != "", src, ids)
    classes, lab = np.unique(labels, return_inverse=True)
    doms = list(pd.unique(domain))
    g = np.ones(len(doms))
    g[1:] = transfer
    tuning = rng.standard_normal((len(classes), n_units)) * signal
    offset = rng.standard_normal((len(doms), n_units)) * 0.5
    roots, root_idx = np.unique(root, return_inverse=True)
    pattern = rng.standard_normal((len(roots), n_units)) * image_noise
    d_idx = pd.Index(doms).get_indexer(domain)
    X = (g[d_idx, None] * (tuning[lab] + pattern[root_idx]) + offset[d_idx]
         + rng.standard_normal((len(ids), n_units)) * noise)
    return xr.DataArray(X, dims=("stimulus_id", "unit"), name="features",
                        coords={"stimulus_id": ids, "unit": np.arange(n_units),
                                "object_label": ("stimulus_id", labels), "domain": ("stimulus_id", domain),
                                "source_id": ("stimulus_id", src)},
                        attrs=dict(n_units=n_units, signal=signal, transfer=str(transfer), image_noise=image_noise,
                                   noise=noise, seed=seed, source="neuroit.decoding.synthetic_features"))
