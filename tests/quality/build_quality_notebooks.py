"""Write notebooks/01_process_session.ipynb and notebooks/02_site_stability.ipynb (without outputs).

Run from the repository root:  .venv/bin/python tests/quality/build_quality_notebooks.py
The notebooks are executed by tests/quality/test_notebooks_quality.py.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[2]

NB01 = [
    new_markdown_cell("""# 01 · From a recording session to a site × image tensor

A tiny simulated session (one Utah array of 8 electrodes, the 25 normalizer images plus 10 test
images, 4 repetitions) goes through the whole path:

1. `neuroit.process.process_session`: read Intan + MWorks files, detect threshold crossings, align
   presentations to the photodiode, count spikes 70–170 ms after each onset → `presentation × site` rates;
2. `average_repetitions` → `stimulus_id × site`;
3. `zscore_to_normalizer` (per site and session, by the normalizer images);
4. outputs: NetCDF with provenance, a Brain-Score assembly and an NWB file checked by `nwbinspector`."""),
    new_code_cell("""import tempfile
from pathlib import Path

import pandas as pd

from neuroit.simulate import default_stimuli, simulate_session

work = Path(tempfile.mkdtemp(prefix="neuroit-nb01-"))
stimuli = default_stimuli(images_per_domain=1)
stimuli = pd.concat([stimuli[stimuli.is_normalizer], stimuli[~stimuli.is_normalizer].iloc[::13]])
session = simulate_session(work / "pico_2026-01-05", seed=0, n_arrays=1, channels_per_array=8,
                           stimuli=stimuli, n_repetitions=4)
sorted(p.name for p in session.iterdir())"""),
    new_markdown_cell("""## Raw files → `presentation × site` rates
`process_session` runs every stage with the default recipe (`ProcessConfig`). Presentations that
cannot be aligned, or with broken fixation, are dropped with a reason; the rest become rows."""),
    new_code_cell("""from neuroit.process import process_session

rates, table = process_session(session, return_table=True)
print(table["status"].value_counts().to_string())
rates"""),
    new_markdown_cell("""## Averaging repetitions
The stimulus axis is keyed by `stimulus_id`, sorted, so every session and day of the same images
gets the same axis; `n_repetitions` counts the presentations behind each mean."""),
    new_code_cell("""from neuroit.tensor import average_repetitions

images = average_repetitions(rates)
images.to_pandas().iloc[:5, :5]"""),
    new_code_cell("""pd.DataFrame({"n_repetitions": images.n_repetitions, "is_normalizer": images.is_normalizer}).value_counts()"""),
    new_markdown_cell("""## Normalizer z-scoring
Per site (and per session), subtract the mean and divide by the SD of the responses to the
normalizer images (blank/grey images excluded); the same transform applies to every image."""),
    new_code_cell("""from neuroit.quality import zscore_to_normalizer

z = zscore_to_normalizer(rates)
norm = z.is_normalizer.values
print("normalizer mean per site:", z.values[norm].mean(axis=0).round(6))
print("normalizer SD per site:  ", z.values[norm].std(axis=0, ddof=1).round(6))
z.attrs["zscore_to_normalizer"]"""),
    new_markdown_cell("""## Outputs
NetCDF (or Zarr) keeps every parameter, the neuroit version and the SHA-256 of the input files;
the write is atomic."""),
    new_code_cell("""from neuroit.tensor import open_tensor, to_netcdf

out = to_netcdf(average_repetitions(z), work / "out" / "pico_2026-01-05.nc",
                inputs=[session / "intan", session / "mworks", session / "stimuli.csv"])
back = open_tensor(out)
print(back.attrs["neuroit_version"], back.attrs["units"], len(back.attrs["inputs"]), "input files")
back.attrs["inputs"][0]"""),
    new_markdown_cell("""Brain-Score's `presentation × neuroid × time_bin` layout
(wrap it in `brainio.assemblies.NeuroidAssembly` to use it with Brain-Score benchmarks):"""),
    new_code_cell("""from neuroit.tensor import to_brainscore

assembly = to_brainscore(rates)
assembly.dims, assembly.shape, sorted(assembly.coords)[:8]"""),
    new_markdown_cell("""NWB: electrodes (array, port, region), threshold crossings per electrode in the Units table,
presentations as trials; validated with `nwbinspector`."""),
    new_code_cell("""from nwbinspector import inspect_nwbfile

from neuroit.dsp import detect_crossings
from neuroit.io import read_intan
from neuroit.tensor import to_nwb

spikes = detect_crossings(read_intan(session / "intan"))
nwb_path = to_nwb(rates, work / "out" / "pico_2026-01-05.nwb", spike_trains=spikes,
                  subject={"age": "P6Y"}, metadata={"institution": "Simulated lab"})
issues = [(m.importance.name, m.message) for m in inspect_nwbfile(nwbfile_path=str(nwb_path))]
assert not [i for i in issues if i[0] in ("CRITICAL", "PYNWB_VALIDATION", "ERROR")]
issues"""),
]

NB02 = [
    new_markdown_cell("""# 02 · Site stability: reliability, selection report, figure

Which sites of an array carry a stable, image-specific signal? neuroit answers with the
Spearman-Brown corrected split-half reliability across repetitions, computed on the normalizer
images (every session) and on the experiment images, and keeps sites above 0.75 and 0.7.

To stay fast, this notebook counts the simulator's *true* spikes at the true screen onsets with
`neuroit.events.bin_counts` (notebook 01 shows the full raw-file path). The simulator also tells us
which sites it made unstable, so we can check the selection."""),
    new_code_cell("""import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from neuroit.dsp import SpikeTrains
from neuroit.events import bin_counts
from neuroit.simulate import default_stimuli, load_ground_truth, simulate_session

work = Path(tempfile.mkdtemp(prefix="neuroit-nb02-"))
stimuli = default_stimuli(images_per_domain=1)
stimuli = pd.concat([stimuli[stimuli.is_normalizer], stimuli[~stimuli.is_normalizer].iloc[::6].head(20)])


def simulated_rates(folder, *, seed, stimuli, n_repetitions, date, rates=None):
    session = simulate_session(folder, seed=seed, n_arrays=1, channels_per_array=16, stimuli=stimuli,
                               n_repetitions=n_repetitions, unstable=0.25, dead=0.0, drifting=0.0, rates=rates)
    gt = load_ground_truth(session)
    pres = gt.presentations
    pres = pres[pres.fixation_correct & (pres.screen_onset_sample >= 0)]
    info = gt.stimuli.set_index("stimulus_id").loc[pres.stimulus_id]
    pres = pres.assign(object_label=info.object_label.values, domain=info.domain.values,
                       is_normalizer=info.is_normalizer.values, session=folder.name, date=date)
    trains = SpikeTrains.from_lists(gt.spike_samples, sampling_rate=gt.sampling_rate,
                                    channel_names=list(gt.sites.channel))
    onsets = np.rint(pres.screen_onset_sample.to_numpy()).astype(np.int64)
    sites = gt.sites.rename(columns={"channel": "electrode"})
    return bin_counts(trains, onsets, presentations=pres, sites=sites), gt


rates, gt = simulated_rates(work / "day1", seed=3, stimuli=stimuli, n_repetitions=10, date="2026-01-05")
rates.sizes"""),
    new_markdown_cell("""## Split-half reliability
For each of `n_splits` seeded random splits, each image's repetitions are halved; the half means
are correlated across images (per site, vectorised) and corrected with Spearman-Brown,
r_SB = 2r / (1 + r); the reliability is the mean over splits."""),
    new_code_cell("""from neuroit.quality import split_half_reliability

rel = split_half_reliability(rates, images="normalizer", n_splits=100, seed=0)
rel.to_pandas().T.assign(true_status=gt.sites.status.values).head(8)"""),
    new_markdown_cell("""## Site selection report
z-score to the normalizers, then keep sites with r > 0.75 on the normalizers in every session and
r > 0.7 on the experiment images. The report says why each site was dropped."""),
    new_code_cell("""from neuroit.quality import select_sites, zscore_to_normalizer

z = zscore_to_normalizer(rates)
report = select_sites(z)
report["true_status"] = gt.sites.set_index("site").loc[report.site, "status"].values
report[["site", "r_normalizer_day1", "r_experiment", "kept", "reason", "true_status"]]"""),
    new_code_cell("""pd.crosstab(report.true_status, report.kept)"""),
    new_markdown_cell("""## Figure
Reliabilities against the thresholds, their distribution, and the image × site map of the kept
sites (PNG and SVG, written atomically)."""),
    new_code_cell("""from IPython.display import Image

from neuroit.quality import plot_site_quality

paths = plot_site_quality(report, z, work / "site_quality")
Image(filename=str(paths[0]))"""),
    new_markdown_cell("""## A second day with fewer images, merged
Day 2 shows only some of the images. `merge_sessions` puts both days on one stimulus axis (the
sorted union of ids); images a day did not show are NaN for that day, never a shifted row."""),
    new_code_cell("""from neuroit.tensor import merge_sessions

subset = stimuli.iloc[:35]
rates2, _ = simulated_rates(work / "day2", seed=4, stimuli=subset, n_repetitions=4, date="2026-01-06",
                            rates=gt.rates.sel(stimulus_id=subset.stimulus_id.values))
z2 = zscore_to_normalizer(rates2)
stacked = merge_sessions([z, z2], sites=report, combine="stack")
missing = stacked.isnull().all("site").to_pandas().T
print(stacked.sizes, "- images missing on day2:", int(missing["day2"].sum()))
merged = merge_sessions([z, z2], sites=report)
pd.DataFrame({"n_repetitions": merged.n_repetitions, "n_sessions": merged.n_sessions},
             index=merged.stimulus_id.values).tail()"""),
]


def build(folder: Path = ROOT / "notebooks") -> list[Path]:
    out = []
    for name, cells in (("01_process_session.ipynb", NB01), ("02_site_stability.ipynb", NB02)):
        nb = new_notebook(cells=cells, metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        })
        nbformat.validate(nb)
        path = Path(folder) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        out.append(path)
    return out


if __name__ == "__main__":
    for p in build():
        print(p)
