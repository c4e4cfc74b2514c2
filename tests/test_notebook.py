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


def test_the_notebooks_default_path_gives_make_demos_verdicts(tmp_path, monkeypatch):
    """make demo (shortened) and then the notebook without SHADOW_RUN: it finds the demo's run and
    judges it with the same rules and noise floor, so every phase's verdict is `harness gate`'s."""
    import json
    import subprocess
    import sys

    bindir = Path(sys.executable).parent
    env = {
        **os.environ,
        "HARNESS": str(bindir / "harness"),
        "DEMO_RECORDING": str(ROOT / "recordings" / "sample-day"),
        "DEMO_ACCEPT": str(ROOT / "accepted-differences.toml"),
        "DEMO_REPLAY_ARGS": "--limit 5000",
        "DEMO_CALIBRATION_TICKS": "3000",
    }
    demo = subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo.sh")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "harness calibrate" in demo.stdout and "noise floor" in demo.stdout
    run = demo.stdout.splitlines()[-1].removeprefix("report: ")  # the demo's last line
    run_dir = Path(run).parent if Path(run).is_absolute() else tmp_path / Path(run).parent
    gate = subprocess.run(
        [str(bindir / "harness"), "gate", str(run_dir), "--all", "--json",
         "--accept", str(ROOT / "accepted-differences.toml")],
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert gate.stdout, gate.stderr
    expected = {p: r["verdict"] for p, r in json.loads(gate.stdout)["phases"].items()}
    assert "A/A calibration" in gate.stdout  # the demo calibrated, and the gates cite it

    monkeypatch.setenv("SHADOW_ROOT", str(ROOT))
    monkeypatch.setenv("SHADOW_RUNS", str(tmp_path / "reports" / "runs"))
    monkeypatch.delenv("SHADOW_RUN", raising=False)
    nb = nbformat.read(ROOT / "notebooks" / "shadow-analysis.ipynb", as_version=4)
    out = tmp_path / "notebook-verdicts.json"
    nb.cells.append(
        nbformat.v4.new_code_cell(
            f"import json; json.dump(dict(zip(verdicts.phase, verdicts.verdict)), open({str(out)!r}, 'w'))"
        )
    )
    NotebookClient(
        nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    assert json.loads(out.read_text()) == expected
    assert len(list((tmp_path / "reports" / "runs").iterdir())) == 3  # 2 A/A + the demo: no replay
