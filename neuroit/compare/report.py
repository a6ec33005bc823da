"""The whole model-vs-IT comparison (the seed's Figures 2 and 3) and its files."""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from neuroit._atomic import atomic_path
from neuroit.compare.curves import sample_units_curve, summarize_curve
from neuroit.compare.scaling import scaling_factor
from neuroit.compare.stats import extrapolate_log, fit_log, friedman_deltas, relative_ood, ttest_ood
from neuroit.decoding.transfer import DEFAULT_ALPHAS, summarize
from neuroit.errors import NeuroitError

__all__ = ["compare_models", "write_comparison"]

log = logging.getLogger(__name__)


def compare_models(it, models: dict, stimuli=None, *, unit_counts=None, it_unit_counts=None, n_draws: int = 10,
                   n_splits: int = 100, train_domain: str = "hvm", n_train: int = 100, n_heldout: int = 20,
                   n_test_per_domain: int = 50, alphas=DEFAULT_ALPHAS, n_sites=None,
                   extrapolate_sites=(100, 300, 1000), seed: int = 0, n_jobs: int = 1) -> dict:
    """Compare IT sites with model layers on the domain-transfer protocol.

    ``it`` and every value of ``models`` (name -> features) are (stimulus x unit) matrices as
    accepted by :func:`neuroit.decoding.decode_domain_transfer`, decoded on the same splits.
    Unit-sampling curves use ``unit_counts`` for models and ``it_unit_counts`` for IT (default
    10 log-spaced counts up to all units / sites). Scaling factors are computed for ``n_sites``
    (default: every IT count). Returns a dict:

    ``curves`` / ``curve_tables`` (name -> DataArray / summary table, IT included),
    ``it_transfer`` (IT's split x domain accuracy with all sites), ``scaling`` (model -> table),
    ``matched`` (domain x name: IT with all sites, each model at its matched unit count),
    ``stats`` (per name: full-width and matched accuracies, scaling factor, relative O.O.D.,
    t-test of O.O.D. domains against IT), ``friedman`` (deltas across domains, or None with
    fewer than two models), ``it_fit`` (log fit of IT's curve, extrapolated), ``params``.
    """
    if not models:
        raise NeuroitError("compare_models needs at least one model's features.")
    if "IT" in models:
        raise NeuroitError("The model name 'IT' is reserved for the recorded sites; rename that model.")
    common = dict(n_draws=n_draws, n_splits=n_splits, train_domain=train_domain, n_train=n_train,
                  n_heldout=n_heldout, n_test_per_domain=n_test_per_domain, alphas=alphas, seed=seed, n_jobs=n_jobs)
    curves = {"IT": sample_units_curve(it, stimuli, unit_counts=it_unit_counts, **common)}
    n_all = int(curves["IT"]["n_units"].max())
    for name, feats in models.items():
        log.info("unit-sampling curve of %s", name)
        curves[name] = sample_units_curve(feats, stimuli, unit_counts=unit_counts, **common)
    domains = [str(d) for d in curves["IT"]["domain"].values]
    for name, c in curves.items():
        if [str(d) for d in c["domain"].values] != domains:
            raise NeuroitError(f"The features of {name!r} cover other domains than IT's; give every matrix the same "
                               "stimuli.")
    tables = {name: summarize_curve(c) for name, c in curves.items()}
    it_table = tables["IT"]
    it_transfer = curves["IT"].sel(n_units=n_all).isel(draw=0, drop=True).drop_vars("n_units")
    it_transfer.attrs = dict(curves["IT"].attrs, n_units=n_all)
    sites = it_table.index.to_numpy() if n_sites is None else np.unique(np.r_[np.atleast_1d(n_sites), n_all])
    scaling = {m: scaling_factor(tables[m], it_table, sites) for m in models}
    ood_domains = domains[1:]
    matched = pd.DataFrame({"IT": it_table.loc[n_all, domains]})
    for m in models:
        row = scaling[m].loc[float(n_all)]
        matched[m] = [row[f"model_{d}"] for d in domains]
    matched.index.name = "domain"

    rows = {}
    for name in ["IT", *models]:
        t = tables[name]
        full = t.loc[t.index.max()]
        if name == "IT":
            units, factor, id_m, ood_m, extra = n_all, 1.0, full["in_domain"], full["ood"], False
        else:
            r = scaling[name].loc[float(n_all)]
            units, factor, extra = r["model_units"], r["scaling_factor"], r["extrapolated"]
            id_m, ood_m = r["model_in_domain"], r["model_ood"]
        rel = relative_ood(id_m, ood_m)
        entry = dict(n_units=int(t.index.max()), in_domain_full=full["in_domain"], ood_full=full["ood"],
                     matched_units=units, scaling_factor=factor, extrapolated=extra, in_domain_matched=id_m,
                     ood_matched=ood_m, relative_ood=rel["relative"],
                     relative_ood_above_chance=rel["relative_above_chance"],
                     ttest_statistic=np.nan, ttest_pvalue=np.nan, ttest_df=np.nan)
        if name != "IT" and len(ood_domains) >= 2:
            tt = ttest_ood(matched.loc[ood_domains, name], matched.loc[ood_domains, "IT"])
            entry.update(ttest_statistic=tt["statistic"], ttest_pvalue=tt["pvalue"], ttest_df=tt["df"])
        rows[name] = entry
    stats = pd.DataFrame.from_dict(rows, orient="index")
    stats.index.name = "name"

    friedman = None
    deltas = matched.loc[ood_domains, list(models)].sub(matched.loc[ood_domains, "IT"], axis=0).T
    if len(models) >= 2 and len(ood_domains) >= 3:
        friedman = friedman_deltas(deltas, across="domain")

    a_id, b_id = fit_log(it_table.index, it_table["in_domain"])
    a_ood, b_ood = fit_log(it_table.index, it_table["ood"])
    ext = np.asarray(list(extrapolate_sites or ()), dtype=np.float64)
    it_fit = pd.DataFrame({"n_sites": ext, "in_domain": extrapolate_log(it_table.index, it_table["in_domain"], ext),
                           "ood": extrapolate_log(it_table.index, it_table["ood"], ext)}).set_index("n_sites")
    it_fit.attrs = dict(in_domain_a=a_id, in_domain_b=b_id, ood_a=a_ood, ood_b=b_ood)
    params = dict(curves["IT"].attrs, it_unit_counts=curves["IT"].attrs["unit_counts"],
                  model_unit_counts={m: curves[m].attrs["unit_counts"] for m in models}, n_sites=n_all,
                  models=list(models), extrapolate_sites=ext.tolist())
    params.pop("unit_counts", None)
    params.pop("n_units_total", None)
    return dict(curves=curves, curve_tables=tables, it_transfer=it_transfer, scaling=scaling, matched=matched,
                stats=stats, friedman=friedman, deltas=deltas, it_fit=it_fit, params=params)


def _markdown(frame: pd.DataFrame, *, digits: int = 3) -> str:
    def fmt(v):
        if isinstance(v, (bool, np.bool_)):
            return "yes" if v else "no"
        if isinstance(v, (float, np.floating)):
            if not np.isfinite(v):
                return ""
            if v != 0 and (abs(v) >= 100 or abs(v) < 10 ** -digits):
                return f"{v:.{digits}g}"
            return f"{v:.{digits}f}"
        return str(v)
    head = [str(frame.index.name or "")] + [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for idx, row in frame.iterrows():
        lines.append("| " + " | ".join([fmt(idx)] + [fmt(v) for v in row.to_numpy()]) + " |")
    return "\n".join(lines)


def _write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")


def write_comparison(result: dict, out_dir: str | os.PathLike, *, figures: bool = True) -> list[Path]:
    """Write the figures (PNG + SVG), the tables (CSV) and ``numbers.md`` into ``out_dir``.

    Files: ``fig2_domain_transfer``, ``fig3_model_comparison`` (.png/.svg), ``it_transfer.csv``,
    ``curves.csv`` (long: name, n_units, accuracies), ``scaling.csv``, ``matched_domains.csv``,
    ``stats.csv``, ``it_log_fit.csv``, ``numbers.md``, ``params.json`` and ``curve_<name>.nc``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    it_summary = summarize(result["it_transfer"])
    curves_long = pd.concat({k: v for k, v in result["curve_tables"].items()}, names=["name"]).reset_index()
    scaling = pd.concat(result["scaling"], names=["model"]).reset_index()
    tables = {"it_transfer.csv": it_summary, "curves.csv": curves_long.set_index("name"),
              "scaling.csv": scaling.set_index("model"), "matched_domains.csv": result["matched"],
              "stats.csv": result["stats"], "it_log_fit.csv": result["it_fit"]}
    for name, frame in tables.items():
        path = out / name
        with atomic_path(path) as tmp:
            frame.to_csv(tmp)
        written.append(path)
    for name, curve in result["curves"].items():
        path = out / f"curve_{''.join(ch if ch.isalnum() or ch in '-_' else '_' for ch in name)}.nc"
        with atomic_path(path, suffix=".nc") as tmp:
            curve.to_netcdf(tmp, engine="h5netcdf")
        written.append(path)
    params = result["params"]
    _write_text(out / "params.json", json.dumps(params, indent=2, default=str))
    written.append(out / "params.json")

    fr = result.get("friedman")
    fit = result["it_fit"].attrs
    md = ["# IT vs models: domain-transfer decoding", "",
          f"{params['n_splits']} splits, {params['n_draws']} unit draws, {params['n_train']} training / "
          f"{params['n_heldout']} held-out {params['train_domain']} images, up to {params['n_test_per_domain']} test "
          f"images per domain, seed {params['seed']}.", "",
          "## IT (all sites), 2AFC accuracy per domain", "", _markdown(it_summary.drop(columns="kind")), "",
          "## Models vs IT", "", _markdown(result["stats"]), "",
          "## Per-domain accuracy at matched units (IT: all sites)", "", _markdown(result["matched"]), ""]
    md += ["## Scaling factors", "", _markdown(scaling.set_index("model")[
        ["n_sites", "it_accuracy", "model_units", "scaling_factor", "extrapolated"]]), ""]
    md += ["## IT logarithmic fit  y = a ln(sites) + b", "",
           f"in-domain: a = {fit['in_domain_a']:.4f}, b = {fit['in_domain_b']:.4f}; "
           f"O.O.D.: a = {fit['ood_a']:.4f}, b = {fit['ood_b']:.4f}", "", _markdown(result["it_fit"]), ""]
    if fr:
        md += [f"Friedman test of model - IT deltas across {fr['across']}s: chi2 = {fr['statistic']:.3f}, "
               f"p = {fr['pvalue']:.3g} ({fr['n_groups']} {fr['across']}s, {fr['n_blocks']} blocks).", ""]
    _write_text(out / "numbers.md", "\n".join(md))
    written.append(out / "numbers.md")

    if figures:
        from neuroit.compare.figures import plot_domain_transfer, plot_model_comparison, save_figure

        import matplotlib.pyplot as plt

        fig = plot_domain_transfer(result["it_transfer"], title="IT")
        written += save_figure(fig, out / "fig2_domain_transfer")
        plt.close(fig)
        fig = plot_model_comparison(result)
        written += save_figure(fig, out / "fig3_model_comparison")
        plt.close(fig)
    return written
