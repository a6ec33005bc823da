"""Object decoding across image domains (the seed study's 2AFC protocol).

``decode_domain_transfer(features, stimuli)`` fits a leave-one-out ridge classifier on one domain
and reports 2AFC accuracy per test domain; ``summarize`` gives means, SDs and the O.O.D. mean;
``LOORidgeClassifier`` is the same solver as a scikit-learn estimator.
"""
from __future__ import annotations

from neuroit._lazy import lazy_exports

_LAZY = {
    "decode_domain_transfer": "transfer", "summarize": "transfer", "DEFAULT_ALPHAS": "transfer",
    "CHANCE": "transfer", "draw_splits": "splits", "Splits": "splits", "LOORidgeClassifier": "estimator",
    "synthetic_stimuli": "synthetic", "synthetic_features": "synthetic", "SEED_CLASSES": "synthetic",
    "SEED_DOMAINS": "synthetic", "align_features": "_inputs",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _LAZY)
