"""Scaling factors: how many model units match the in-domain accuracy of N IT sites."""
from __future__ import annotations

import numpy as np
import pandas as pd

from neuroit.compare.curves import summarize_curve
from neuroit.compare.stats import fit_log
from neuroit.errors import NeuroitError

__all__ = ["scaling_factor", "accuracy_at", "as_curve_table"]


def as_curve_table(curve) -> pd.DataFrame:
    """A curve from :func:`sample_units_curve` (DataArray) or :func:`summarize_curve` (DataFrame)
    as the summary table (index n_units; columns per domain, in_domain, ood)."""
    if isinstance(curve, pd.DataFrame):
        table = curve
    elif hasattr(curve, "dims") and "n_units" in curve.dims:
        table = summarize_curve(curve)
    else:
        raise NeuroitError("Expected a unit-sampling curve (sample_units_curve's DataArray or summarize_curve's "
                           f"DataFrame); got {type(curve).__name__}.")
    if len(table) < 2:
        raise NeuroitError("A unit-sampling curve needs at least two unit counts.")
    return table.sort_index()


def _upper_fit(x, y):
    half = max(2, len(x) // 2)
    return fit_log(x[-half:], y[-half:])


def accuracy_at(curve, n_units) -> pd.DataFrame:
    """Accuracy of every column of a curve at (possibly fractional) unit counts, interpolated
    linearly on the log axis; beyond the curve's counts the logarithmic fit of its upper half
    extrapolates. Returns one row per requested count (plus an ``extrapolated`` column)."""
    table = as_curve_table(curve)
    x = np.log(table.index.to_numpy(np.float64))
    counts = np.atleast_1d(np.asarray(n_units, dtype=np.float64))
    rows = []
    for n in counts:
        row = {}
        out = not (table.index.min() <= n <= table.index.max())
        for col in table.columns:
            if col.endswith("_sd"):
                continue
            y = table[col].to_numpy(np.float64)
            if out:
                a, b = _upper_fit(np.exp(x), y) if n > table.index.max() else fit_log(np.exp(x[:2]), y[:2])
                row[col] = a * np.log(n) + b
            else:
                row[col] = float(np.interp(np.log(n), x, y))
        row["extrapolated"] = bool(out)
        rows.append(row)
    return pd.DataFrame(rows, index=pd.Index(counts, name="n_units"))


def _units_for(table: pd.DataFrame, target: float, column: str) -> tuple[float, bool]:
    """Model units whose accuracy (``column``) reaches ``target``, on the log axis."""
    n = table.index.to_numpy(np.float64)
    y = np.maximum.accumulate(table[column].to_numpy(np.float64))  # monotone envelope
    if target <= y[0]:
        if target == y[0]:
            return float(n[0]), False
        a, b = fit_log(n[:2], table[column].to_numpy(np.float64)[:2])
        return (float(np.exp((target - b) / a)) if a > 0 else np.nan), True
    if target > y[-1]:
        a, b = _upper_fit(n, table[column].to_numpy(np.float64))
        return (float(np.exp((target - b) / a)) if a > 0 else np.nan), True
    j = int(np.argmax(y >= target))
    if y[j] == y[j - 1]:
        return float(n[j]), False
    t = (target - y[j - 1]) / (y[j] - y[j - 1])
    return float(np.exp(np.log(n[j - 1]) + t * (np.log(n[j]) - np.log(n[j - 1])))), False


def scaling_factor(model_curve, it_curve, n_sites=None, *, column: str = "in_domain") -> pd.DataFrame:
    """Number of model units whose in-domain accuracy equals that of N IT sites.

    ``n_sites``: one count or several (default: every count of the IT curve, the largest being
    all sites); counts beyond the IT curve use the logarithmic fit of IT's accuracy (extrapolating
    IT to more sites). The matching count is interpolated on the log axis of the model's curve
    (its running maximum, so the first crossing counts) and extrapolated with a logarithmic fit
    of the curve's upper half when the model never reaches IT (``extrapolated`` True).

    Returns one row per N: ``it_accuracy``, ``model_units``, ``scaling_factor`` (= model_units /
    N), ``extrapolated``, and the model's accuracy per domain (``in_domain``, ``ood`` and every
    domain column) at ``model_units``, clipped to the model's largest count.
    """
    model = as_curve_table(model_curve)
    it = as_curve_table(it_curve)
    sites = it.index.to_numpy() if n_sites is None else np.atleast_1d(np.asarray(n_sites, dtype=np.float64))
    if np.any(sites <= 0):
        raise NeuroitError(f"The 'n_sites' parameter must hold positive counts; got {list(sites)}.")
    it_acc = accuracy_at(it, sites)
    rows = []
    for N, target, it_extra in zip(sites, it_acc[column], it_acc["extrapolated"]):
        units, extra = _units_for(model, float(target), column)
        at = min(max(units, model.index.min()), model.index.max()) if np.isfinite(units) else model.index.max()
        acc = accuracy_at(model, at).iloc[0].drop("extrapolated")
        rows.append(dict(n_sites=float(N), it_accuracy=float(target), it_extrapolated=bool(it_extra),
                         model_units=units, scaling_factor=units / float(N), extrapolated=extra,
                         **{f"model_{k}": float(v) for k, v in acc.items()}))
    return pd.DataFrame(rows).set_index("n_sites")
