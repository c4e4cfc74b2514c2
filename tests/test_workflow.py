"""The daily workflow's loose ends: `--aa` stores the noise floor the gates then cite,
`calibrate --reuse`, `harness runs` naming the phase of a verdict, progress when piped."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner
from tickgen import make_ticks

from harness.cli import cli
from harness.cli.progress import progress_bar, status_lines
from harness.recordings.reader import RecordingWriter, open_recording

FAKE = "harness.replay.stack:fake"


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("rec") / "day"
    with RecordingWriter(path, name="tiny-day", source="synthetic") as w:
        w.write_ticks(make_ticks(4000))
    return path


def _cli(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_aa_replay_stores_its_noise_floor_and_the_gate_cites_it(recording, tmp_path):
    runs = tmp_path / "reports" / "runs"
    res = _cli("replay", recording, "--primary", FAKE, "--aa", "--runs-dir", runs)
    assert res.exit_code == 0, res.output
    assert "A/A noise floor:" in res.output
    sha = open_recording(recording).sha256
    stored = tmp_path / "reports" / "calibration" / f"{sha[:16]}.json"
    cal = json.loads(stored.read_text())
    assert len(cal["runs"]) == 1 and cal["event_differences"] == 0
    lo, hi = cal["ci_lows"][0], cal["ci_highs"][0]
    assert cal["floor"] == pytest.approx(
        max(0.02, abs(1 - lo), abs(1 - hi), abs(1 - cal["ratios"][0]))
    )
    # a second A/A run adds to the same calibration rather than replacing it
    res = _cli("replay", recording, "--primary", FAKE, "--aa", "--runs-dir", runs, "--seed", 1)
    assert res.exit_code == 0, res.output
    cal2 = json.loads(stored.read_text())
    assert cal2["runs"][0] == cal["runs"][0] and len(cal2["runs"]) == 2
    # a gate on any run of this recording now cites the measured floor, not the default
    res = _cli(
        "replay", recording, "--primary", FAKE, "--candidate", FAKE, "--runs-dir", runs, "--json"
    )
    run_path = json.loads(res.stdout)["path"]
    res = _cli("gate", run_path, "--phase", "phase_1_parallel_testing", "--json")
    doc = json.loads(res.stdout)
    cal3 = json.loads(stored.read_text())  # that run was A/A too (candidate = primary): 3 runs
    (latency,) = [c for c in doc["checks"] if c["check"] == "latency_ratio_ci_upper"]
    assert (
        f"noise floor {cal3['floor']:.3f} (A/A calibration {stored.name}, 3 runs"
        in (latency["reason"])
    )


def test_calibrate_reuse_keeps_a_stored_floor_and_measures_when_missing(recording, tmp_path):
    reports = tmp_path / "reports"
    args = ("calibrate", recording, "--primary", FAKE, "--runs", 2, "--reports", reports, "--reuse")
    res = _cli(*args)
    assert res.exit_code == 0, res.output
    assert "stored:" in res.output and "reusing" not in res.output
    before = sorted((reports / "calibration").iterdir())[0].read_text()
    res = _cli(*args)
    assert res.exit_code == 0 and "reusing" in res.output, res.output
    assert "2 A/A run(s)" in res.output
    assert sorted((reports / "calibration").iterdir())[0].read_text() == before
    assert len(list((reports / "runs").iterdir())) == 2  # the second call replayed nothing


def test_runs_names_the_phase_of_each_verdict(recording, tmp_path):
    runs = tmp_path / "runs"
    res = _cli(
        "replay", recording, "--primary", FAKE, "--candidate", FAKE, "--runs-dir", runs, "--json"
    )
    run_path = json.loads(res.stdout)["path"]
    header, row = _cli("runs", "--runs-dir", runs).output.splitlines()[:2]
    column = header.index("verdict (phase)")
    assert row[column:].split()[0] == "-"  # not gated yet
    _cli("gate", run_path, "--phase", "phase_2_limited_rollout")
    listed = _cli("runs", "--runs-dir", runs)
    row = listed.output.splitlines()[1]
    assert "@ phase_2_limited_rollout" in row, listed.output
    _cli("gate", run_path, "--all")
    row = _cli("runs", "--runs-dir", runs).output.splitlines()[1]
    assert "@ 5 phases" in row
    rows = json.loads(_cli("runs", "--runs-dir", runs, "--json").output)
    assert rows[0]["verdict_phases"].split(",")[0] == "phase_0_installation"
    assert len(rows[0]["verdict_phases"].split(",")) == 5


def test_piped_progress_prints_periodic_status_lines_to_stderr(capsys):
    with status_lines(1000, "replay", "ticks", every_s=0.0) as advance:
        advance(250)
        advance(750)
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("replay: 250/1,000 ticks (25%)")
    assert err[1].startswith("replay: 1,000/1,000 ticks (100%)")
    assert err[-1].endswith("done")
    with progress_bar(None, None) as advance:
        assert advance is None


def test_a_piped_replay_reports_progress_on_stderr_only(recording, tmp_path):
    """Through a real pipe: stdout is the summary alone, stderr gets the status lines."""
    code = (
        "import harness.cli.progress as p; p.STATUS_EVERY_S = 0.0; "
        "from harness.cli import main; main()"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "replay",
            str(recording),
            "--primary",
            FAKE,
            "--candidate",
            FAKE,
            "--runs-dir",
            str(tmp_path),
            "--batch-size",
            "1000",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "replay: " not in out.stdout and "status complete" in out.stdout
    lines = [ln for ln in out.stderr.splitlines() if ln.startswith("replay: ")]
    assert lines and "/4,000 ticks" in lines[-1], out.stderr
