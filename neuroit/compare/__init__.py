"""Comparing IT sites with ANN units on the domain-transfer protocol (the seed's Figure 3).

``sample_units_curve`` (accuracy vs units sampled), ``scaling_factor`` (model units per IT site
at equal in-domain accuracy), statistics (``ttest_ood``, ``friedman_deltas``, ``fit_log``,
``relative_ood``), figures and ``compare_models`` / ``write_comparison`` for the whole analysis.
"""
from __future__ import annotations

from neuroit._lazy import lazy_exports

_LAZY = {
    "sample_units_curve": "curves", "summarize_curve": "curves", "default_unit_counts": "curves",
    "scaling_factor": "scaling", "accuracy_at": "scaling",
    "ttest_ood": "stats", "friedman_deltas": "stats", "fit_log": "stats", "extrapolate_log": "stats",
    "relative_ood": "stats",
    "plot_domain_transfer": "figures", "plot_model_comparison": "figures", "save_figure": "figures",
    "compare_models": "report", "write_comparison": "report", "read_features": "io",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _LAZY)
