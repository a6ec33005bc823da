"""End to end on the simulator: z-scoring and site selection recover its stable and unstable sites.

Rates are counted from the simulator's true spikes at the true screen onsets (bin_counts), so this
test exercises the quality stage on realistic responses without the (slower) raw-file path, which
tests/test_process.py covers.
"""
import numpy as np
import pandas as pd
import pytest

from neuroit.quality import select_sites, split_half_reliability, zscore_to_normalizer
from neuroit.tensor import average_repetitions

simulate = pytest.importorskip("neuroit.simulate")


def rates_from_ground_truth(session, *, name, date):
    from neuroit.dsp import SpikeTrains
    from neuroit.events import bin_counts

    gt = simulate.load_ground_truth(session)
    pres = gt.presentations
    pres = pres[pres["fixation_correct"] & (pres["screen_onset_sample"] >= 0)]
    stim = gt.stimuli.set_index("stimulus_id")
    pres = pres.assign(object_label=stim.loc[pres["stimulus_id"], "object_label"].to_numpy(),
                       domain=stim.loc[pres["stimulus_id"], "domain"].to_numpy(),
                       is_normalizer=stim.loc[pres["stimulus_id"], "is_normalizer"].to_numpy(),
                       session=name, date=date)
    trains = SpikeTrains.from_lists(gt.spike_samples, sampling_rate=gt.sampling_rate,
                                    channel_names=list(gt.sites["channel"]))
    onsets = np.rint(pres["screen_onset_sample"].to_numpy()).astype(np.int64)
    rates = bin_counts(trains, onsets, presentations=pres, sites=gt.sites.rename(columns={"channel": "electrode"}))
    return rates, gt


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    stimuli = simulate.default_stimuli(images_per_domain=1)
    stimuli = pd.concat([stimuli[stimuli["is_normalizer"]], stimuli[~stimuli["is_normalizer"]].iloc[::6].head(20)])
    session = simulate.simulate_session(tmp_path_factory.mktemp("sim") / "day1", seed=3, n_arrays=1,
                                        channels_per_array=16, stimuli=stimuli, n_repetitions=10,
                                        unstable=0.25, dead=0.0, drifting=0.0)
    return rates_from_ground_truth(session, name="day1", date="2026-01-05")


def test_unstable_sites_dropped_stable_kept(simulated):
    rates, gt = simulated
    z = zscore_to_normalizer(rates)
    norm = z["is_normalizer"].values
    np.testing.assert_allclose(np.nanmean(z.values[norm], axis=0), 0, atol=1e-9)
    report = select_sites(z, n_splits=50)
    status = gt.sites.set_index("site").loc[report["site"], "status"].to_numpy()
    assert (status == "unstable").sum() >= 2 and (status == "stable").sum() >= 8
    assert not report.loc[status == "unstable", "kept"].any()
    assert report.loc[status == "stable", "kept"].all(), report.loc[status == "stable", ["site", "reason"]]


def test_recovered_rates_track_ground_truth(simulated):
    rates, gt = simulated
    img = average_repetitions(rates)
    stable = gt.sites.loc[gt.sites["status"] == "stable", "site"].to_numpy()
    truth = gt.rates.sel(site=stable, stimulus_id=img["stimulus_id"].values).transpose("stimulus_id", "site")
    r = np.corrcoef(img.sel(site=stable).values.ravel(), truth.values.ravel())[0, 1]
    assert r > 0.9
    rel = split_half_reliability(rates, n_splits=20)
    assert np.nanmedian(rel.sel(site=stable).values) > 0.8
