"""The CI policy: FAIL and NODATA fail CI; latency-only inconclusive passes unless strict."""

from harness.gate import CheckResult, GateResult, Status
from harness.regression import judge, recording_dirs


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
