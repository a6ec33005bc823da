"""Quality control: normalizer z-scoring, split-half reliability, site selection and its figure.

::

    from neuroit.quality import zscore_to_normalizer, split_half_reliability, select_sites
    z = zscore_to_normalizer(rates)                 # per site and session, by the normalizer images
    report = select_sites(z)                        # r > 0.75 on normalizers (every session), > 0.7 on experiment
    stable = z.sel(site=report.site[report.kept])
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "zscore_to_normalizer": "neuroit.quality.normalize",
    "split_half_reliability": "neuroit.quality.reliability",
    "spearman_brown": "neuroit.quality.reliability",
    "select_sites": "neuroit.quality.select",
    "plot_site_quality": "neuroit.quality.plots",
    "DEFAULT_EXCLUDE": "neuroit.quality._rules",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'neuroit.quality' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
