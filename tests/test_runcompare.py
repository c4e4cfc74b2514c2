"""Run-vs-run comparison and A/A calibration through the real runner with fake stacks."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.ci.regression import calibrate, replay_recording
from harness.cli import cli
from harness.core.errors import StoreError
from harness.gates.calibration import calibration_path
from harness.gates.engine import Status, Verdict, gate_run
from harness.gates.run_vs_run import compare_runs
from harness.recordings.synth import SynthSpec, synthesize_day

FAKE = "harness.replay.stack:fake"
BASE = {"work_us": 20.0}


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rec") / "cmp-day"
    synthesize_day(path, SynthSpec(tickers=8, ticks=800, seed=4))
    return path


def _run(day, root, knobs):
    return replay_recording(day, FAKE, FAKE, BASE, {**BASE, **knobs}, root)


def test_same_candidate_twice_is_unchanged_and_a_changed_one_fails(day, tmp_path):
    a = _run(day, tmp_path, {})
    b = _run(day, tmp_path, {})
    same = compare_runs(a, b)
    assert {c.check: c.status for c in same.checks}["candidate_events_unchanged"] is Status.PASS
    assert same.verdict is not Verdict.FAIL
    c = _run(day, tmp_path, {"drop_rate": 0.2, "slowdown": 2.0})
    changed = compare_runs(a, c)
    st = {x.check: x.status for x in changed.checks}
    assert st["candidate_events_unchanged"] is Status.FAIL
    assert st["candidate_latency_ratio"] is Status.FAIL
    res = CliRunner().invoke(cli, ["compare", str(a), str(c)])
    assert res.exit_code == 3 and "candidate_events_unchanged" in res.output


def test_runs_of_different_recordings_are_refused(day, tmp_path):
    other = tmp_path / "other"
    synthesize_day(other, SynthSpec(tickers=8, ticks=800, seed=5))
    a = _run(day, tmp_path, {})
    b = replay_recording(other, FAKE, FAKE, BASE, BASE, tmp_path)
    with pytest.raises(StoreError, match="same recording"):
        compare_runs(a, b)


def test_calibration_stores_a_floor_that_gates_then_state(day, tmp_path):
    reports = tmp_path / "reports"
    cal, path = calibrate(
        day,
        primary=FAKE,
        primary_config=BASE,
        runs=2,
        runs_root=reports / "runs",
        reports_dir=reports,
    )
    assert cal.event_differences == 0 and len(cal.runs) == 2
    assert cal.floor >= 0.02 and path == calibration_path(reports, cal.recording_sha256)
    run = replay_recording(day, FAKE, FAKE, BASE, BASE, reports / "runs")
    ev, results = gate_run(run, ("phase_1_parallel_testing",))
    ev.close()
    latency = next(c for c in results[0].checks if c.check == "latency_ratio_ci_upper")
    assert f"noise floor {cal.floor:.3f} (A/A calibration" in latency.reason
