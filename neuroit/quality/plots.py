"""The site-quality figure: reliabilities against their thresholds and the image × site rate map."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from neuroit.errors import NeuroitError

log = logging.getLogger(__name__)


def _image_by_site(tensor: xr.DataArray) -> xr.DataArray:
    if "presentation" in tensor.dims:
        from neuroit.tensor.average import average_repetitions

        tensor = average_repetitions(tensor)
    if "session" in tensor.dims:
        tensor = tensor.mean("session", skipna=True)
    if "time_bin" in tensor.dims:
        tensor = tensor.mean("time_bin", skipna=True)
    if not {"stimulus_id", "site"} <= set(tensor.dims):
        raise NeuroitError(f"plot_site_quality needs a tensor with stimulus_id (or presentation) and site dims; "
                           f"got {tensor.dims}.")
    return tensor.transpose("stimulus_id", "site")


def plot_site_quality(
    report: pd.DataFrame,
    tensor: xr.DataArray,
    path: str | os.PathLike,
    *,
    formats: tuple[str, ...] = ("png", "svg"),
    kept_only: bool = True,
    dpi: int = 120,
) -> list[Path]:
    """Draw the site-quality figure and write it as PNG and SVG (atomically).

    Left: each site's normalizer reliability (minimum over sessions) against its experiment
    reliability, kept sites in colour, the thresholds as dashed lines. Middle: histograms of both
    reliabilities. Right: the image × site mean rate (or z-score) heat map, images grouped by object
    label, of the kept sites (all sites if ``kept_only`` is false or none was kept).

    ``report`` is :func:`select_sites`' DataFrame, ``tensor`` the rates (presentation- or image-level).
    ``path`` is the output stem: ``path.png`` and ``path.svg`` are written (any suffix is replaced).
    Returns the paths written.
    """
    from matplotlib.figure import Figure

    from neuroit._atomic import atomic_path

    if not isinstance(report, pd.DataFrame) or not {"site", "kept"} <= set(report.columns):
        raise NeuroitError("plot_site_quality needs select_sites' report (a DataFrame with 'site' and 'kept').")
    params = report.attrs.get("select_sites", {})
    kept = report["kept"].to_numpy(bool)
    xcol = "r_normalizer_min" if "r_normalizer_min" in report.columns else None
    ycol = "r_experiment" if "r_experiment" in report.columns else None

    fig = Figure(figsize=(14, 4.6), layout="constrained")
    ax_sc, ax_h, ax_im = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1, 1.6]})
    x = report[xcol].to_numpy(float) if xcol else np.zeros(len(report))
    y = report[ycol].to_numpy(float) if ycol else np.zeros(len(report))
    ax_sc.scatter(x[~kept], y[~kept], s=14, c="0.6", label=f"dropped ({(~kept).sum()})")
    ax_sc.scatter(x[kept], y[kept], s=14, c="tab:blue", label=f"kept ({kept.sum()})")
    if params.get("normalizer_threshold") is not None:
        ax_sc.axvline(params["normalizer_threshold"], ls="--", c="k", lw=0.8)
    if params.get("experiment_threshold") is not None:
        ax_sc.axhline(params["experiment_threshold"], ls="--", c="k", lw=0.8)
    ax_sc.set(xlabel="normalizer reliability (min over sessions)", ylabel="experiment reliability",
              title="split-half reliability (Spearman-Brown)")
    ax_sc.legend(loc="lower right", fontsize=8)

    bins = np.linspace(-1, 1, 41)
    for col, colour in ((xcol, "tab:orange"), (ycol, "tab:green")):
        if col:
            v = report[col].to_numpy(float)
            ax_h.hist(np.clip(v[np.isfinite(v)], -1, 1), bins=bins, alpha=0.6, color=colour, label=col)
    ax_h.set(xlabel="reliability", ylabel="sites", title="reliability distribution")
    ax_h.legend(fontsize=8)

    img = _image_by_site(tensor)
    show = [s for s in report.loc[kept, "site"]] if kept_only and kept.any() else list(report["site"])
    show = [s for s in show if s in set(img["site"].values.astype(str))]
    img = img.sel(site=show) if show else img
    if "object_label" in img.coords:
        order = np.lexsort((img["stimulus_id"].values.astype(str), img["object_label"].values.astype(str)))
        img = img.isel(stimulus_id=order)
    data = img.values
    finite = data[np.isfinite(data)]
    lo, hi = (np.percentile(finite, [2, 98]) if finite.size else (0, 1))
    im = ax_im.imshow(data, aspect="auto", interpolation="nearest", cmap="viridis", vmin=lo, vmax=hi)
    fig.colorbar(im, ax=ax_im, label=str(tensor.attrs.get("units", "rate")))
    ax_im.set(xlabel=f"site ({len(show)}{' kept' if kept_only and kept.any() else ''})", ylabel="image",
              title="image × site responses")
    if "object_label" in img.coords:
        labels = img["object_label"].values.astype(str)
        edges = np.flatnonzero(labels[1:] != labels[:-1]) + 1
        for e in edges:
            ax_im.axhline(e - 0.5, c="w", lw=0.5)
        mids = (np.concatenate([[0], edges]) + np.concatenate([edges, [labels.size]])) / 2 - 0.5
        ax_im.set_yticks(mids, labels[np.concatenate([[0], edges]).astype(int)], fontsize=7)

    stem = Path(path)
    stem = stem.with_suffix("") if stem.suffix.lower() in (".png", ".svg", ".pdf") else stem
    written = []
    for fmt in formats:
        target = stem.with_name(f"{stem.name}.{fmt}")
        with atomic_path(target, suffix=f".{fmt}") as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi)
        written.append(target)
    log.info("wrote %s", ", ".join(map(str, written)))
    return written
