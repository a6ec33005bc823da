"""compare_models, the figures, and the `neuroit compare` command."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neuroit.cli import main
from neuroit.compare import compare_models, write_comparison
from neuroit.decoding import synthetic_features, synthetic_stimuli

FILES = ["fig2_domain_transfer.png", "fig2_domain_transfer.svg", "fig3_model_comparison.png",
         "fig3_model_comparison.svg", "it_transfer.csv", "curves.csv", "scaling.csv", "matched_domains.csv",
         "stats.csv", "it_log_fit.csv", "numbers.md", "params.json", "curve_IT.nc"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    stimuli = synthetic_stimuli(n_per_class=13, n_per_class_other=5)
    it = synthetic_features(stimuli, n_units=24, signal=0.6, transfer=0.8, seed=1).rename(unit="site")
    m1 = synthetic_features(stimuli, n_units=96, signal=0.15, transfer=0.5, seed=2)
    m2 = synthetic_features(stimuli, n_units=64, signal=0.2, transfer=0.6, seed=3)
    stimuli.to_csv(folder / "stimuli.csv", index=False)
    it.to_netcdf(folder / "it.nc", engine="h5netcdf")
    m1.drop_vars(["object_label", "domain", "source_id"]).to_netcdf(folder / "m1.nc", engine="h5netcdf")
    m2.to_netcdf(folder / "m2.nc", engine="h5netcdf")
    return dict(folder=folder, stimuli=stimuli, it=it, models={"m1": m1, "m2": m2})


def test_compare_models_and_files(data, tmp_path):
    kw = dict(n_splits=4, n_draws=2, n_test_per_domain=20, unit_counts=5, it_unit_counts=5)
    result = compare_models(data["it"], data["models"], data["stimuli"], **kw)
    stats = result["stats"]
    assert list(stats.index) == ["IT", "m1", "m2"]
    assert stats.loc["IT", "in_domain_full"] > stats.loc["m1", "in_domain_full"]
    assert (stats.loc[["m1", "m2"], "scaling_factor"] > 1).all()
    assert np.isfinite(stats.loc[["m1", "m2"], "ttest_pvalue"]).all()
    assert result["friedman"] is not None and 0 <= result["friedman"]["pvalue"] <= 1
    assert result["matched"].shape == (13, 3)
    assert result["it_transfer"].dims == ("split", "domain")
    written = write_comparison(result, tmp_path / "out")
    for name in FILES:
        assert (tmp_path / "out" / name).stat().st_size > 0, name
    assert set(written) >= {tmp_path / "out" / f for f in FILES}
    assert (tmp_path / "out" / "fig3_model_comparison.png").read_bytes()[:4] == b"\x89PNG"
    assert "<svg" in (tmp_path / "out" / "fig2_domain_transfer.svg").read_text()[:2000]
    table = pd.read_csv(tmp_path / "out" / "stats.csv", index_col=0)
    np.testing.assert_allclose(table.loc["m1", "ood_full"], stats.loc["m1", "ood_full"])
    assert "Scaling factors" in (tmp_path / "out" / "numbers.md").read_text()
    assert not list((tmp_path / "out").glob(".*"))  # no temporary files left


def test_cli_main(data, tmp_path, capsys):
    f = data["folder"]
    out = tmp_path / "cli"
    rc = main(["compare", "--it", str(f / "it.nc"), "--features", f"first={f / 'm1.nc'}", str(f / "m2.nc"),
               "--stimuli", str(f / "stimuli.csv"), "--out", str(out), "--n-splits", "3", "--n-draws", "2",
               "--n-counts", "4", "--n-test-per-domain", "20", "--sites", "4", "24"])
    assert rc == 0
    assert "scaling factor" in capsys.readouterr().out
    for name in FILES + ["curve_first.nc", "curve_m2.nc"]:
        assert (out / name).exists(), name
    scaling = pd.read_csv(out / "scaling.csv")
    assert sorted(set(scaling["n_sites"])) == [4.0, 24.0]


def test_cli_errors(data, tmp_path, capsys):
    f = data["folder"]
    rc = main(["compare", "--it", str(tmp_path / "missing.nc"), "--features", str(f / "m1.nc"),
               "--stimuli", str(f / "stimuli.csv"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "missing.nc" in err
    (tmp_path / "bad.nc").write_text("not netcdf")
    rc = main(["compare", "--it", str(tmp_path / "bad.nc"), "--features", str(f / "m1.nc"),
               "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "bad.nc" in err
    rc = main(["compare", "--it", str(f / "it.nc"), "--features", str(f / "m1.nc"), "--out", str(tmp_path / "o"),
               "--train-domain", "photos", "--n-splits", "2"])
    err = capsys.readouterr().err
    assert rc == 2 and "photos" in err and err.count("\n") == 1


def test_cli_subprocess(data, tmp_path):
    f = data["folder"]
    exe = Path(sys.executable).with_name("neuroit")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "neuroit.cli"]
    root = str(Path(__file__).resolve().parents[2])  # this checkout, whatever the install points at
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]), MPLBACKEND="Agg")
    proc = subprocess.run(cmd + ["compare", "--it", str(f / "it.nc"), "--features", str(f / "m2.nc"),
                                 "--out", str(tmp_path / "sp"), "--n-splits", "2", "--n-draws", "1",
                                 "--n-counts", "3", "--n-test-per-domain", "10"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "sp" / "fig3_model_comparison.svg").exists()
    bad = subprocess.run(cmd + ["compare", "--it", str(f / "nope.nc"), "--features", str(f / "m2.nc"),
                                "--out", str(tmp_path / "sp2")], capture_output=True, text=True, timeout=120, env=env)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
