"""The CI policy: FAIL and NODATA fail CI; latency-only inconclusive passes unless strict."""

from pathlib import Path

import pytest

from harness.ci.regression import judge, recording_dirs
from harness.gates.engine import CheckResult, GateResult, Status


def _result(*statuses):
    checks = tuple(CheckResult(name, 1.0, "t", st, "why") for name, st in statuses)
    return GateResult("run", "phase_1_parallel_testing", checks, "CAUTION")


def test_pass_passes_ci():
    assert judge(_result(("missing_events", Status.PASS))) == (True, "")


def test_any_failed_check_fails_ci():
    ok, why = judge(
        _result(("missing_events", Status.FAIL), ("latency_ratio_ci_upper", Status.INCONCLUSIVE))
    )
    assert not ok and "failed" in why


def test_nodata_fails_ci_because_no_data_is_never_a_pass():
    ok, why = judge(
        _result(("run_complete", Status.NODATA), ("latency_ratio_ci_upper", Status.PASS))
    )
    assert not ok and "never a pass" in why


def test_latency_only_inconclusive_passes_ci_with_a_note_unless_strict():
    r = _result(("latency_ratio_ci_upper", Status.INCONCLUSIVE), ("missing_events", Status.PASS))
    ok, why = judge(r)
    assert ok and "noise floor" in why
    assert judge(r, strict=True)[0] is False


def test_other_inconclusive_checks_fail_ci():
    r = _result(
        ("run_complete", Status.INCONCLUSIVE), ("latency_ratio_ci_upper", Status.INCONCLUSIVE)
    )
    assert judge(r)[0] is False


def test_recording_dirs_finds_recordings_by_manifest(tmp_path):
    for name in ("b", "a"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "recording.json").write_text("{}")
    (tmp_path / "not-a-recording").mkdir()
    assert [p.name for p in recording_dirs(tmp_path)] == ["a", "b"]
    assert recording_dirs(tmp_path / "a") == [tmp_path / "a"]


def test_known_latency_finding_replaces_the_phase_bar_for_ci_but_the_verdict_stays():
    r = _result(
        ("latency_ratio_ci_upper", Status.FAIL),
        ("latency_known_finding[KL-1]", Status.PASS),
        ("missing_events", Status.PASS),
    )
    ok, why = judge(r)
    assert ok and "rollout verdict FAIL stands" in why and "latency_ratio_ci_upper" in why
    assert r.verdict.value == "fail"


def test_regression_beyond_a_known_latency_finding_fails_ci():
    r = _result(
        ("latency_ratio_ci_upper", Status.FAIL),
        ("latency_known_finding[KL-1]", Status.FAIL),
        ("missing_events", Status.PASS),
    )
    ok, why = judge(r)
    assert not ok and "latency regression" in why and "KL-1" in why


def test_a_known_latency_finding_does_not_excuse_event_differences():
    r = _result(
        ("latency_known_finding[KL-1]", Status.PASS),
        ("accepted_rows[KD-1]", Status.FAIL),
    )
    assert judge(r) == (False, "a check failed")


def test_the_ci_path_rejects_a_corrupt_recording_like_harness_replay(tmp_path):
    """CI, calibration and `harness replay` share one pipeline: the same validation first."""
    import shutil

    from harness.ci.regression import replay_recording
    from harness.core.errors import RecordingError

    rec = tmp_path / "rec"
    shutil.copytree(Path(__file__).resolve().parent.parent / "recordings" / "sample-day", rec)
    part = next(rec.glob("date=*/*.parquet"))
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    with pytest.raises(RecordingError, match="part-00000.parquet"):
        replay_recording(
            rec, "harness.replay.stack:fake", None, {}, {}, tmp_path / "runs", max_ticks=100
        )
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
