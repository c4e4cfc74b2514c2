"""Nothing stale, nothing half-written: failed gates and reports leave no old verdict, a full or
read-only disk is exit 5 with the file named, result files are 0644, failures are visible."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from readiness_fixtures import make_run

from harness.cli import cli
from harness.core.errors import StoreError
from harness.core.files import atomic_write_text
from harness.gates import engine as gate_mod

ROOT = Path(__file__).resolve().parent.parent
REC = str(ROOT / "recordings" / "sample-day")
PHASE = "phase_1_parallel_testing"


def _cli(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_a_gate_that_fails_leaves_no_earlier_verdict_behind(tmp_path, monkeypatch):
    run = make_run(tmp_path)
    assert _cli("gate", str(run), "--phase", PHASE).exit_code == 0
    first = json.loads((run / "verdict.json").read_text())
    assert first["verdict"] == "pass" and first["inputs"]["run_id"] == run.name
    assert first["inputs"]["gates"].startswith("sha256:") and first["inputs"]["phases"] == [PHASE]
    real = gate_mod._gate_text
    monkeypatch.setattr(
        gate_mod, "_gate_text", lambda n: "SELECT broken FROM" if n == PHASE else real(n)
    )
    r = _cli("gate", str(run), "--phase", PHASE)
    assert r.exit_code == 5
    assert not (run / "verdict.json").exists() and not (run / "junit.xml").exists()


def test_a_report_that_fails_leaves_no_earlier_report_behind(tmp_path, monkeypatch):
    run = make_run(tmp_path)
    assert _cli("report", str(run)).exit_code == 0
    assert (run / "report.html").exists()
    import harness.report.build as report_mod

    def broken(*a, **k):
        raise StoreError("injected: the report could not be built")

    monkeypatch.setattr(report_mod, "_build", broken)
    assert _cli("report", str(run)).exit_code == 5
    assert not (run / "report.html").exists() and not (run / "report.md").exists()


def test_result_files_are_created_with_the_same_mode_as_the_others(tmp_path):
    old = os.umask(0o022)
    try:
        run = make_run(tmp_path)
        _cli("gate", str(run), "--phase", PHASE)
        _cli("report", str(run))
    finally:
        os.umask(old)
    for name in ("verdict.json", "junit.xml", "report.html", "report.md"):
        assert stat.S_IMODE((run / name).stat().st_mode) == 0o644, name


def test_a_write_that_fails_leaves_neither_the_file_nor_its_temp(tmp_path, monkeypatch):
    target = tmp_path / "verdict.json"
    target.write_text('{"verdict": "pass"}')

    def full(self, data):
        Path.write_text(self, "half")  # something reached the disk, then it filled up
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(StoreError, match=r"cannot write .*verdict.json: no space left"):
        atomic_write_text(target, '{"verdict": "fail"}')
    assert target.read_text() == '{"verdict": "pass"}'  # the old file whole, not half a new one
    assert [p.name for p in tmp_path.iterdir()] == ["verdict.json"]


@contextlib.contextmanager
def small_tmpfs(tmp_path: Path, size: str):
    """A real, tiny tmpfs (needs root); skips where mounting is not allowed."""
    mnt = tmp_path / f"fs-{uuid.uuid4().hex[:6]}"
    mnt.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)],
                       capture_output=True, text=True)  # fmt: skip
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {p.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True)


def test_a_full_disk_is_exit_5_naming_the_file_and_leaves_no_half_written_file(tmp_path):
    with small_tmpfs(tmp_path, "400k") as fs:
        p = _harness("replay", REC, "--limit", "20000", "--batch-size", "2000",
                     "--runs-dir", str(fs / "runs"), "--no-progress")  # fmt: skip
        assert p.returncode == 5, p.stderr
        assert "no space left on the device" in p.stderr and "Traceback" not in p.stderr
        assert len(p.stderr.strip().splitlines()) == 1
        assert not list(fs.rglob("*.tmp"))
        (run,) = (fs / "runs").iterdir()
        g = _harness("gate", str(run), "--phase", PHASE)
        assert g.returncode == 5 and "Traceback" not in g.stderr


def test_a_read_only_runs_directory_is_exit_5_with_a_clear_message(tmp_path):
    with small_tmpfs(tmp_path, "1m") as fs:
        subprocess.run(["mount", "-o", "remount,ro", str(fs)], check=True)
        p = _harness("replay", REC, "--limit", "500", "--runs-dir", str(fs / "runs"),
                     "--no-progress")  # fmt: skip
        assert p.returncode == 5 and "read-only" in p.stderr and "Traceback" not in p.stderr


def test_candidate_exceptions_are_visible_in_summary_verdict_junit_and_report(tmp_path):
    runs = tmp_path / "runs"
    p = _harness("replay", REC, "--limit", "3000", "--candidate", "harness.replay.mutants:mutant",
                 "--set", 'candidate.mutant={"defect": "raise", "rate": 0.02}',
                 "--runs-dir", str(runs), "--json", "--no-progress")  # fmt: skip
    summary = json.loads(p.stdout)
    f = summary["failures"]["candidate"]
    assert f["errors"] > 10 and f["timeouts"] == 0 and f["types"] == {"RuntimeError": f["errors"]}
    first = f["first"]
    assert (
        first["message"] == f"RuntimeError: mutant: raised on {first['ticker']} seq {first['seq']}"
    )
    assert summary["failures"]["primary"] == {
        "errors": 0,
        "timeouts": 0,
        "types": {},
        "first": None,
    }
    run = Path(summary["path"])
    g = _harness("gate", str(run), "--phase", "phase_0_installation")
    assert g.returncode == 3 and first["message"] in g.stdout
    verdict = json.loads((run / "verdict.json").read_text())
    assert verdict["failures"]["candidate"]["first"] == first
    suite = ET.parse(run / "junit.xml").getroot().find("testsuite")
    assert first["message"] in suite.find("system-err").text
    props = {e.get("name"): e.get("value") for e in suite.iter("property")}
    assert props["candidate_errors"] == str(f["errors"])
    _harness("report", str(run))
    assert first["message"] in (run / "report.html").read_text()
    assert first["message"] in (run / "report.md").read_text()
