"""The domain-transfer and model-comparison notebooks run top to bottom on small data."""
import importlib.util
import json
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ["03_domain_transfer.ipynb", "04_model_comparison.ipynb"]


def _builder():
    spec = importlib.util.spec_from_file_location("build_notebooks_compare",
                                                  Path(__file__).with_name("build_notebooks_compare.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_notebooks_match_their_builder(tmp_path):
    for path in _builder().write(tmp_path):
        committed = ROOT / "notebooks" / path.name
        assert json.loads(committed.read_text()) == json.loads(path.read_text()), (
            f"{committed} is out of date: run python tests/compare/build_notebooks_compare.py")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs(name, monkeypatch):
    for var in ("NEUROIT_IT", "NEUROIT_FEATURES", "NEUROIT_STIMULI"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel draws inline
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "outputs must not be committed"
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the figure was drawn
