"""``neuroit simulate`` on the command line."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from neuroit.cli import main
from neuroit.simulate import load_ground_truth

REPO = Path(__file__).resolve().parents[2]


def test_cli_main(tmp_path, capsys):
    out = tmp_path / "s"
    rc = main(["simulate", str(out), "--seed", "4", "--duration", "4", "--arrays", "2", "--channels-per-array", "3",
               "--layout", "per_signal", "--fault", "missing_pulse=1"])
    assert rc == 0
    assert "6 channels" in capsys.readouterr().out
    gt = load_ground_truth(out)
    assert gt.params["seed"] == 4 and gt.params["layout"] == "per_signal" and len(gt.sites) == 6
    assert (gt.presentations["fault"] == "missing_pulse").sum() == 1
    # a non-empty folder is refused (one line, exit 2) unless --overwrite
    rc = main(["simulate", str(out), "--duration", "4", "--arrays", "1", "--channels-per-array", "2"])
    err = capsys.readouterr().err
    assert rc == 2 and "not empty" in err and len(err.strip().splitlines()) == 1
    assert main(["simulate", str(out), "--duration", "4", "--arrays", "1", "--channels-per-array", "2",
                 "--overwrite"]) == 0
    assert len(load_ground_truth(out).sites) == 2
    assert main(["simulate", str(tmp_path / "x"), "--fault", "nonsense"]) == 2
    assert "--fault expects KIND=N" in capsys.readouterr().err


def test_cli_subprocess(tmp_path):
    out = tmp_path / "s"
    cmd = [sys.executable, "-m", "neuroit.cli", "simulate", str(out), "--duration", "4", "--arrays", "1",
           "--channels-per-array", "2"]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert (out / "intan" / "info.rhd").is_file() and (out / "mworks" / "session.mwk2").is_file()
    res = subprocess.run(cmd[:-4] + ["--arrays", "12"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip().startswith("neuroit simulate: error:") and "n_arrays" in res.stderr
