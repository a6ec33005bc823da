"""Stimulus sets: the stimulus table (CSV + images), domain transforms, and an offline demo set.

Heavy dependencies (scikit-image, PIL) are imported only by the functions that need them.
"""
from __future__ import annotations

from neuroit._lazy import lazy_exports

_EXPORTS = {
    "read_stimulus_set": "table", "validate_stimulus_set": "table", "write_stimulus_set": "table",
    "brainscore_domain": "table", "COLUMNS": "table", "DOMAINS": "table", "DERIVED_DOMAINS": "table",
    "BRAINSCORE_DOMAINS": "table",
    "make_silhouette": "transforms", "make_convex_hull": "transforms", "make_skeleton": "transforms",
    "make_outline": "transforms", "to_grayscale": "transforms", "make_mosaic": "transforms",
    "apply_transform": "transforms",
    "make_demo_stimulus_set": "demo", "DEMO_CLASSES": "demo",
    "load_animal_mnist": "_shapes",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
