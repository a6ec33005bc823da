"""Quality control: normalizer z-scoring, split-half reliability, site selection and its figure.

::

    from neuroit.quality import zscore_to_normalizer, split_half_reliability, select_sites
    z = zscore_to_normalizer(rates)                 # per site and session, by the normalizer images
    report = select_sites(z)                        # r > 0.75 on normalizers (every session), > 0.7 on experiment
    stable = z.sel(site=report.site[report.kept])
"""
from __future__ import annotations

from neuroit._lazy import lazy_exports

_EXPORTS = {
    "zscore_to_normalizer": "normalize",
    "split_half_reliability": "reliability",
    "spearman_brown": "reliability",
    "select_sites": "select",
    "plot_site_quality": "plots",
    "DEFAULT_EXCLUDE": "_rules",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
