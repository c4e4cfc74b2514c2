"""The import direction of design.md §2 holds: tickstock never imports harness."""

import subprocess
import sys
from pathlib import Path

from harness.layers import violations

ROOT = Path(__file__).resolve().parent.parent


def test_tickstock_source_has_no_harness_import():
    assert violations(ROOT) == []


def test_importing_tickstock_does_not_load_harness():
    code = "import sys, tickstock; print(any(m.split('.')[0]=='harness' for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_layer_check_catches_a_forbidden_import(tmp_path):
    pkg = tmp_path / "tickstock"
    pkg.mkdir()
    (pkg / "bad.py").write_text("from harness.core.model import Tick\n")
    assert violations(tmp_path) == ["tickstock/bad.py:1: tickstock imports harness.core.model"]
