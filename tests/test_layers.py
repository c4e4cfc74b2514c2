"""The import direction of design.md §2 and of the stage packages (docs/architecture.md) holds:
tickstock never imports harness, and a harness stage imports only the stages below it. The
contracts live in pyproject.toml ([tool.importlinter]); `make check` runs them too."""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).parent / "lint-imports"


def _lint(cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(pythonpath), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [str(LINT), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def test_the_repository_keeps_every_import_contract():
    out = _lint(ROOT, ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 kept, 0 broken" in out.stdout


def test_importing_tickstock_does_not_load_harness():
    code = "import sys, tickstock; print(any(m.split('.')[0]=='harness' for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _project(tmp: Path, files: dict[str, str]) -> Path:
    """A tiny tree with the repository's own contracts and the given modules."""
    for rel, text in files.items():
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    lines = ["[importlinter]", "root_packages =", *(f"    {p}" for p in config["root_packages"])]
    for i, c in enumerate(config["contracts"]):
        lines += [f"[importlinter:contract:{i}]", f"name = {c['name']}", f"type = {c['type']}"]
        for key in ("source_modules", "forbidden_modules", "layers"):
            if key in c:
                lines += [f"{key} =", *(f"    {v}" for v in c[key])]
    (tmp / ".importlinter").write_text("\n".join(lines) + "\n")
    return tmp


STAGES = (
    "cli",
    "ci",
    "live",
    "service",
    "report",
    "gates",
    "pipeline",
    "scale",
    "diff",
    "replay",
    "store",
)
CLEAN = {
    "tickstock/__init__.py": "",
    "harness/__init__.py": "",
    **{f"harness/{s}/__init__.py": "" for s in (*STAGES, "recordings", "core")},
}


def test_the_contracts_catch_tickstock_importing_harness(tmp_path):
    tree = _project(tmp_path, {**CLEAN, "tickstock/bad.py": "from harness.core import model\n"})
    out = _lint(tree, tree)
    assert out.returncode == 1 and "tickstock.bad -> harness.core" in out.stdout, out.stdout


def test_the_contracts_catch_a_stage_importing_a_later_one(tmp_path):
    tree = _project(tmp_path, {**CLEAN, "harness/core/bad.py": "import harness.pipeline\n"})
    out = _lint(tree, tree)
    assert out.returncode == 1 and "harness.core.bad -> harness.pipeline" in out.stdout, out.stdout
