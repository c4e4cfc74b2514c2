"""notebooks/shadow-analysis.ipynb executes end to end on the sample day, so it cannot rot."""

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def test_shadow_analysis_notebook_executes_on_the_sample_day(tmp_path, monkeypatch):
    monkeypatch.setenv("SHADOW_ROOT", str(ROOT))
    monkeypatch.setenv("SHADOW_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("SHADOW_MAX_TICKS", "1500")
    nb = nbformat.read(ROOT / "notebooks" / "shadow-analysis.ipynb", as_version=4)
    NotebookClient(
        nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs
    )
    assert "ratio of medians" in text and "phase_0_installation" in text
    assert os.listdir(tmp_path / "runs")
