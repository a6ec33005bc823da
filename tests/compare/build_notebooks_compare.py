"""Write notebooks/03_domain_transfer.ipynb and notebooks/04_model_comparison.ipynb (no outputs).

    python tests/compare/build_notebooks_compare.py

The notebooks run on small synthetic data by default (so the tests can execute them in seconds);
set NEUROIT_IT / NEUROIT_FEATURES / NEUROIT_STIMULI to NetCDF / CSV files to run them on real
recordings and model features.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[2]

#: Both notebooks read real data the same way (the IT tensor and the stimulus table).
READ_REAL_DATA = """    it = read_features(os.environ["NEUROIT_IT"])
    stimuli = None
    if os.environ.get("NEUROIT_STIMULI"):  # images are not needed, only ids, labels and domains
        stimuli = read_stimulus_set(os.environ["NEUROIT_STIMULI"], check_files=False,
                                    required=("object_label", "domain"))
"""

NB03 = [
    new_markdown_cell("""# Domain transfer of an IT readout (the seed study's Figure 2)

A linear decoder is trained to tell 10 object classes apart on naturalistic (HVM) images and tested
on 12 other image domains (silhouettes, sketches, paintings, COCO photographs, renders...). The seed
study found 73% in-domain and 68% out-of-domain (O.O.D.) 2AFC accuracy for 71 IT sites.

Protocol (`neuroit.decoding.decode_domain_transfer`), per split: 100 training and 20 held-out HVM
images (stratified by class), 50 test images from every other domain; features z-scored with the
training images' statistics (as the Brain-Score benchmark does); one-vs-rest ridge regression whose
penalty and intercept are chosen by leave-one-out cross-validation; per test image the 2AFC accuracy
is the fraction of the other classes scored below the true one. Images derived from a training
image (its silhouette, outline...) are never test images."""),
    new_code_cell("""import os

import numpy as np

from neuroit.compare import plot_domain_transfer
from neuroit.compare.io import read_features
from neuroit.decoding import decode_domain_transfer, summarize, synthetic_features, synthetic_stimuli
from neuroit.stimuli import read_stimulus_set"""),
    new_markdown_cell("""## Data

By default a synthetic stand-in: 10 classes x 13 domains (120 HVM images, one silhouette / convex
hull / skeleton / outline per HVM image, 60 images in each other domain) and 71 "sites" whose class
tuning weakens outside HVM. Point `NEUROIT_IT` (a stimulus_id x site NetCDF tensor) and
`NEUROIT_STIMULI` (the stimulus CSV) at real data to use them instead."""),
    new_code_cell("""if os.environ.get("NEUROIT_IT"):
""" + READ_REAL_DATA + """else:
    stimuli = synthetic_stimuli(n_per_class=12, n_per_class_other=6)
    it = synthetic_features(stimuli, n_units=71, signal=0.35, transfer=0.7, seed=1).rename(unit="site")
it"""),
    new_markdown_cell("## Decode: 30 splits (the paper uses 100)"),
    new_code_cell("""acc = decode_domain_transfer(it, stimuli, n_splits=30, seed=0)
table = summarize(acc)
table"""),
    new_code_cell("""print(f"in-domain {table.loc['in_domain', 'mean']:.1%}, O.O.D. {table.loc['ood', 'mean']:.1%} "
      f"(chance 50%); chosen ridge penalties: {sorted(set(acc['alpha'].values.tolist()))}")
assert table.loc["in_domain", "mean"] > 0.6 and table.loc["ood", "mean"] > 0.55"""),
    new_code_cell("""fig = plot_domain_transfer(acc, title="IT")"""),
    new_markdown_cell("""## The same classifier as a scikit-learn estimator

`LOORidgeClassifier` is the closed-form solver behind `decode_domain_transfer`, with the
scikit-learn contract; it gives the same model as `RidgeClassifierCV(alphas, fit_intercept=True)`."""),
    new_code_cell("""from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from neuroit.decoding import LOORidgeClassifier

hvm = stimuli["domain"].to_numpy() == "hvm"
X = it.sel(stimulus_id=stimuli["stimulus_id"][hvm].to_numpy()).values
y = stimuli["object_label"][hvm].to_numpy()
clf = make_pipeline(StandardScaler(), LOORidgeClassifier()).fit(X[::2], y[::2])
print("chosen alpha", clf[-1].alpha_, "- held-out accuracy (10-way)", round(clf.score(X[1::2], y[1::2]), 3))"""),
]

NB04 = [
    new_markdown_cell("""# IT vs neural-network units (the seed study's Figure 3)

Unit-sampling curves (in-domain and O.O.D. accuracy against the number of units decoded), the
scaling factor (how many model units match the in-domain accuracy of N IT sites, interpolated on the
log axis), per-domain accuracy at the matched unit count, model - IT deltas, and statistics: a
two-sample t-test of each model's O.O.D. accuracies against IT's over domains, a Friedman test of
the deltas across domains, a logarithmic fit extrapolating IT to more sites, and the relative
O.O.D./in-domain performance. `neuroit compare` runs the same analysis from files."""),
    new_code_cell("""import os

from neuroit.compare import compare_models, plot_model_comparison
from neuroit.compare.io import read_features
from neuroit.decoding import synthetic_features, synthetic_stimuli
from neuroit.stimuli import read_stimulus_set"""),
    new_markdown_cell("""## Data

Synthetic stand-ins by default: 40 IT "sites" and three model layers of 64-256 units with weaker
class tuning and poorer transfer. With real data set `NEUROIT_IT`, `NEUROIT_STIMULI` and
`NEUROIT_FEATURES` (`name=path.nc,name2=path2.nc`; features as written by
`neuroit.models.extract_features`)."""),
    new_code_cell("""if os.environ.get("NEUROIT_IT"):
""" + READ_REAL_DATA + """    models = {k: read_features(v) for k, v in (s.split("=", 1) for s in os.environ["NEUROIT_FEATURES"].split(","))}
else:
    stimuli = synthetic_stimuli(n_per_class=12, n_per_class_other=6)
    it = synthetic_features(stimuli, n_units=40, signal=0.35, transfer=0.8, seed=1).rename(unit="site")
    models = {
        "model_a": synthetic_features(stimuli, n_units=256, signal=0.12, transfer=0.55, seed=2),
        "model_b": synthetic_features(stimuli, n_units=128, signal=0.15, transfer=0.6, seed=3),
        "model_c": synthetic_features(stimuli, n_units=64, signal=0.2, transfer=0.5, seed=4),
    }
{name: f.sizes for name, f in models.items()}"""),
    new_markdown_cell("## Compare: 8 unit counts x 3 draws x 8 splits (the paper: 10 x 10 x 100)"),
    new_code_cell("""result = compare_models(it, models, stimuli, unit_counts=8, it_unit_counts=8, n_draws=3, n_splits=8,
                        seed=0)
result["stats"].round(3)"""),
    new_code_cell("""result["scaling"]["model_a"][["it_accuracy", "model_units", "scaling_factor", "extrapolated"]].round(3)"""),
    new_code_cell("""print("Friedman test of model - IT deltas across domains:", result["friedman"])
print("IT extrapolated with y = a ln(sites) + b:")
result["it_fit"].round(3)"""),
    new_code_cell("""fig = plot_model_comparison(result)"""),
    new_markdown_cell("""`write_comparison(result, "out/")` writes these figures (PNG + SVG) with the tables
(`stats.csv`, `scaling.csv`, `matched_domains.csv`, `curves.csv`, `numbers.md`, ...)."""),
]


def build() -> dict[str, nbformat.NotebookNode]:
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"}}
    return {"03_domain_transfer.ipynb": new_notebook(cells=NB03, metadata=meta),
            "04_model_comparison.ipynb": new_notebook(cells=NB04, metadata=meta)}


def write(folder: Path = ROOT / "notebooks") -> list[Path]:
    from neuroit._atomic import atomic_path

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, nb in build().items():
        for i, cell in enumerate(nb.cells):  # stable ids, so rewriting gives the same file
            cell["id"] = f"{name[:2]}-{i:02d}"
        with atomic_path(folder / name) as tmp:
            nbformat.write(nb, str(tmp))
        paths.append(folder / name)
    return paths


if __name__ == "__main__":
    for p in write():
        print("wrote", p)
