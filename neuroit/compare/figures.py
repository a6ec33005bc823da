"""The seed study's Figure 2 (domain transfer of IT) and Figure 3 A-E (models vs IT), matplotlib."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from neuroit._atomic import atomic_path
from neuroit.decoding.transfer import CHANCE, summarize

__all__ = ["plot_domain_transfer", "plot_model_comparison", "save_figure"]

_IT_COLOR = "#222222"


def _pyplot():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "svg", "pdf", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, stem: str | os.PathLike, *, formats=("png", "svg"), dpi: int = 150) -> list[Path]:
    """Write ``fig`` as ``stem.png`` and ``stem.svg`` (atomically) and return the paths."""
    stem = Path(stem)
    paths = []
    for fmt in formats:
        path = stem.with_name(f"{stem.name}.{fmt}")
        with atomic_path(path, suffix=f".{fmt}") as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight")
        paths.append(path)
    return paths


def plot_domain_transfer(acc, *, title: str = "IT", color: str = "#3b6fb6"):
    """Figure 2: per-domain 2AFC accuracy (mean +- SD over splits) against chance (A) and the
    in-domain vs O.O.D. means (B) of one (split x domain) accuracy."""
    plt = _pyplot()
    table = summarize(acc)
    per = table[table["kind"] != "summary"]
    fig, (ax_a, ax_b) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw=dict(width_ratios=[4, 1]))
    colors = [color if k == "in_domain" else "#9bb7de" for k in per["kind"]]
    x = np.arange(len(per))
    ax_a.bar(x, per["mean"], yerr=per["sd"], color=colors, capsize=2, edgecolor="none")
    ax_a.axhline(CHANCE, color="0.4", ls="--", lw=1, label="chance")
    ax_a.set_xticks(x, [d.replace("_", " ") for d in per.index], rotation=45, ha="right")
    ax_a.set_ylabel("2AFC accuracy")
    ax_a.set_ylim(0.4, 1.0)
    ax_a.set_title(f"A  {title}: decoder trained on {per.index[0]}, tested per domain", loc="left", fontsize=10)
    ax_a.legend(frameon=False, fontsize=8)
    summary = table.loc[["in_domain", "ood"]] if "ood" in table.index else table.loc[["in_domain"]]
    ax_b.bar(np.arange(len(summary)), summary["mean"], yerr=summary["sd"], color=[color, "#9bb7de"][:len(summary)],
             capsize=3)
    ax_b.axhline(CHANCE, color="0.4", ls="--", lw=1)
    ax_b.set_xticks(np.arange(len(summary)), ["in-domain", "O.O.D."][:len(summary)])
    ax_b.set_ylim(0.4, 1.0)
    ax_b.set_title("B", loc="left", fontsize=10)
    for i, (v, sd) in enumerate(zip(summary["mean"], summary["sd"].fillna(0.0))):
        ax_b.text(i, v + sd + 0.01, f"{v:.0%}", ha="center", va="bottom", fontsize=8)
    for ax in (ax_a, ax_b):
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def plot_model_comparison(result):
    """Figure 3 A-E from :func:`neuroit.compare.compare_models`'s result: (A) unit-sampling
    curves, in-domain solid and O.O.D. dashed; (B) scaling factors (model units per IT site) for
    all sites and fewer; (C) per-domain accuracy of each model at its matched unit count vs IT;
    (D) model - IT deltas per domain; (E) O.O.D. accuracy at matched units with the t-tests
    against IT and the relative O.O.D./in-domain performance."""
    plt = _pyplot()
    curves, scaling, matched, stats = result["curve_tables"], result["scaling"], result["matched"], result["stats"]
    models = [m for m in curves if m != "IT"]
    cmap = plt.get_cmap("tab10")
    colors = {m: cmap(i % 10) for i, m in enumerate(models)}
    colors["IT"] = _IT_COLOR
    fig = plt.figure(figsize=(15, 8.5))
    grid = fig.add_gridspec(2, 3)
    ax_a, ax_b, ax_c = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1]), fig.add_subplot(grid[0, 2])
    ax_d, ax_e = fig.add_subplot(grid[1, :2]), fig.add_subplot(grid[1, 2])

    for name, table in curves.items():
        ax_a.plot(table.index, table["in_domain"], "-o", ms=3, color=colors[name], label=name)
        ax_a.plot(table.index, table["ood"], "--", color=colors[name], lw=1)
    ax_a.axhline(CHANCE, color="0.5", ls=":", lw=1)
    ax_a.set_xscale("log")
    ax_a.set_xlabel("units (sites) sampled")
    ax_a.set_ylabel("2AFC accuracy")
    ax_a.set_title("A  unit sampling: in-domain (—), O.O.D. (- -)", loc="left", fontsize=10)
    ax_a.legend(frameon=False, fontsize=7)

    n_all = max(scaling[m].index.max() for m in models) if models else 1
    positive = []
    for i, m in enumerate(models):
        tab = scaling[m]
        full = tab.loc[tab.index.max()]
        factor = full["scaling_factor"]
        if np.isfinite(factor) and factor > 0:
            ax_b.bar(i, factor, color=colors[m], alpha=0.5 if full["extrapolated"] else 1.0)
            ax_b.text(i, factor, f"{factor:.1f}x", ha="center", va="bottom", fontsize=7)
            positive.append(factor)
        else:
            ax_b.text(i, 1.0, "not reached", ha="center", va="bottom", fontsize=7, rotation=90)
        small = tab[(tab.index < tab.index.max()) & np.isfinite(tab["scaling_factor"]) & (tab["scaling_factor"] > 0)]
        ax_b.scatter(np.full(len(small), i), small["scaling_factor"], s=10, color="0.3", zorder=3)
        positive += list(small["scaling_factor"])
    ax_b.set_xticks(np.arange(len(models)), models, rotation=30, ha="right", fontsize=8)
    ax_b.axhline(1.0, color="0.5", ls=":", lw=1)
    if positive:
        ax_b.set_yscale("log")
    ax_b.set_ylabel("model units per IT site")
    ax_b.set_title(f"B  scaling factor (bars: {int(n_all)} sites; dots: fewer)", loc="left", fontsize=10)

    domains = list(matched["IT"].index)
    x = np.arange(len(domains))
    ax_c.bar(x, matched["IT"].values, color="0.8", label="IT (all sites)")
    for m in models:
        ax_c.plot(x, matched[m].values, "o", ms=4, color=colors[m], label=m)
    ax_c.axhline(CHANCE, color="0.5", ls=":", lw=1)
    ax_c.set_xticks(x, [d.replace("_", " ") for d in domains], rotation=60, ha="right", fontsize=7)
    ax_c.set_ylim(0.4, 1.0)
    ax_c.set_title("C  per domain at matched units", loc="left", fontsize=10)
    ax_c.legend(frameon=False, fontsize=6)

    deltas = matched[models].sub(matched["IT"], axis=0).T if models else None
    if deltas is not None and deltas.size:
        lim = float(np.nanmax(np.abs(deltas.values))) or 0.05
        im = ax_d.imshow(deltas.values, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
        for (r, c), v in np.ndenumerate(deltas.values):
            ax_d.text(c, r, f"{v:+.2f}", ha="center", va="center", fontsize=6)
        ax_d.set_yticks(np.arange(len(models)), models, fontsize=8)
        ax_d.set_xticks(x, [d.replace("_", " ") for d in domains], rotation=30, ha="right", fontsize=7)
        fig.colorbar(im, ax=ax_d, label="model - IT accuracy", shrink=0.8)
    ax_d.set_title("D  model - IT per domain (matched units)", loc="left", fontsize=10)

    names = ["IT", *models]
    ood = [stats.loc[n, "ood_matched"] for n in names]
    ax_e.bar(np.arange(len(names)), ood, color=[colors[n] for n in names])
    for i, n in enumerate(names):
        rel = stats.loc[n, "relative_ood"]
        p = stats.loc[n, "ttest_pvalue"]
        label = f"{rel:.2f}" + ("" if n == "IT" or not np.isfinite(p) else f"\np={p:.2g}")
        ax_e.text(i, ood[i] + 0.01, label, ha="center", va="bottom", fontsize=6)
    ax_e.axhline(CHANCE, color="0.5", ls=":", lw=1)
    ax_e.set_ylim(0.4, 1.05)
    ax_e.set_xticks(np.arange(len(names)), names, rotation=30, ha="right", fontsize=8)
    ax_e.set_ylabel("O.O.D. accuracy (matched units)")
    fried = result.get("friedman") or {}
    sub = f"Friedman across domains p={fried['pvalue']:.2g}" if fried.get("pvalue") is not None else ""
    ax_e.set_title(f"E  O.O.D./in-domain; t-test vs IT\n{sub}", loc="left", fontsize=9)
    for ax in (ax_a, ax_b, ax_c, ax_e):
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
