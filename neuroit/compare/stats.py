"""Statistics of the model-vs-IT comparison: t-tests, Friedman test, log fits, relative O.O.D."""
from __future__ import annotations

import numpy as np
import pandas as pd

from neuroit.decoding.transfer import CHANCE
from neuroit.errors import NeuroitError

__all__ = ["ttest_ood", "friedman_deltas", "fit_log", "extrapolate_log", "relative_ood"]


def _vector(x, name: str) -> np.ndarray:
    v = np.asarray(x, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size < 2:
        raise NeuroitError(f"The '{name}' parameter needs at least two finite values; got {v.size}.")
    return v


def ttest_ood(model_acc, it_acc, *, equal_var: bool = True) -> dict:
    """Two-sample t-test of a model's per-domain O.O.D. accuracies against IT's (one value per
    held-out domain each; ``scipy.stats.ttest_ind``). Returns statistic, pvalue, df and means."""
    from scipy import stats

    m, i = _vector(model_acc, "model_acc"), _vector(it_acc, "it_acc")
    res = stats.ttest_ind(m, i, equal_var=equal_var)
    df = float(getattr(res, "df", len(m) + len(i) - 2))
    return dict(statistic=float(res.statistic), pvalue=float(res.pvalue), df=df,
                model_mean=float(m.mean()), it_mean=float(i.mean()), n_model=int(m.size), n_it=int(i.size))


def friedman_deltas(deltas: pd.DataFrame, *, across: str = "domain") -> dict:
    """Friedman test on model - IT accuracy deltas (rows: models, columns: domains).

    ``across="domain"`` (default) asks whether the deltas differ between domains, with models as
    blocks; ``across="model"`` whether they differ between models, with domains as blocks
    (``scipy.stats.friedmanchisquare``; needs >= 3 groups and >= 2 blocks).
    """
    from scipy import stats

    if across not in ("domain", "model"):
        raise NeuroitError(f"The 'across' parameter of friedman_deltas must be 'domain' or 'model'; got {across!r}.")
    frame = pd.DataFrame(deltas).dropna(axis=1, how="any")
    groups = frame.T if across == "model" else frame        # groups are the columns
    if groups.shape[1] < 3 or groups.shape[0] < 2:
        raise NeuroitError(f"friedman_deltas across {across}s needs >= 3 {across}s and >= 2 blocks; "
                           f"got {groups.shape[1]} and {groups.shape[0]}.")
    res = stats.friedmanchisquare(*[groups[c].to_numpy() for c in groups.columns])
    return dict(statistic=float(res.statistic), pvalue=float(res.pvalue), across=across,
                n_groups=int(groups.shape[1]), n_blocks=int(groups.shape[0]))


def fit_log(x, y) -> tuple[float, float]:
    """Least-squares fit ``y = a * ln(x) + b``; returns ``(a, b)``."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0)
    if ok.sum() < 2:
        raise NeuroitError("fit_log needs at least two points with x > 0.")
    a, b = np.polyfit(np.log(x[ok]), y[ok], 1)
    return float(a), float(b)


def extrapolate_log(x, y, x_new):
    """Evaluate the logarithmic fit of ``(x, y)`` at ``x_new``."""
    a, b = fit_log(x, y)
    return a * np.log(np.asarray(x_new, dtype=np.float64)) + b


def relative_ood(in_domain, ood, *, chance: float = CHANCE) -> dict:
    """Relative O.O.D. performance: ``ood / in_domain`` and the above-chance ratio
    ``(ood - chance) / (in_domain - chance)``."""
    in_domain, ood = float(in_domain), float(ood)
    above = (ood - chance) / (in_domain - chance) if in_domain != chance else np.nan
    return dict(relative=ood / in_domain if in_domain else np.nan, relative_above_chance=above)
