"""Run-vs-run comparison and A/A calibration through the real runner with fake stacks."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from readiness_fixtures import make_run

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


def test_run_vs_run_latency_measures_the_candidate_against_each_runs_primary(tmp_path):
    """Two runs are timed at different moments; the machine's speed moves both stacks. B on a
    host 20 % slower with an unchanged candidate is not a regression; B on a host 10 % faster
    with a candidate 15 % slower is one, though its raw B/A ratio (≈ 1.035) is within 1.05."""
    a = make_run(tmp_path / "a", ticks=6_000, seed=3)
    slower_host = make_run(tmp_path / "b", ticks=6_000, seed=4, machine=1.2)
    regressed = make_run(tmp_path / "c", ticks=6_000, seed=5, machine=0.9, slow=1.15)
    st = {c.check: c for c in compare_runs(a, slower_host).checks}["candidate_latency_ratio"]
    assert st.status is Status.PASS and "each against its run's primary" in st.reason
    st = {c.check: c for c in compare_runs(a, regressed).checks}["candidate_latency_ratio"]
    assert st.status is not Status.PASS and st.observed > 1.1


def test_run_vs_run_without_a_common_primary_can_fail_but_never_pass(tmp_path):
    a = make_run(tmp_path / "a", ticks=6_000, seed=3)
    b = make_run(tmp_path / "b", ticks=6_000, seed=3)
    manifest = json.loads((b / "manifest.json").read_text())
    manifest["primary"] = {"factory": "harness.replay.stack:null", "config": {}}
    (b / "manifest.json").write_text(json.dumps(manifest))
    st = {c.check: c for c in compare_runs(a, b).checks}["candidate_latency_ratio"]
    assert st.status is Status.INCONCLUSIVE and "cannot PASS" in st.reason
    c = make_run(tmp_path / "c", ticks=6_000, seed=3, slow=2.0)
    (c / "manifest.json").write_text(
        json.dumps(
            {**json.loads((c / "manifest.json").read_text()), "primary": manifest["primary"]}
        )
    )
    st = {x.check: x for x in compare_runs(a, c).checks}["candidate_latency_ratio"]
    assert st.status is Status.FAIL


def test_cli_compare_of_an_unchanged_candidate_passes_and_exits_zero(tmp_path):
    """A PASSing comparison printed its table (it used to crash looking up the phase after the
    `run_vs_run` pseudo-phase) and exits 0."""
    a = make_run(tmp_path / "a", ticks=6_000, seed=3)
    b = make_run(tmp_path / "b", ticks=6_000, seed=4)
    res = CliRunner().invoke(cli, ["compare", str(a), str(b)])
    assert res.exit_code == 0, res.output
    assert "verdict: pass" in res.output and "advance: run_vs_run criteria met" in res.output
    assert (b / f"compare-{a.name}.json").is_file()


def test_run_vs_run_of_concurrent_runs_is_judged_as_the_gates_judge_them(tmp_path):
    """Concurrent runs: CIs over swap cycles, at least 20 of them, widened by the concurrent
    margin (a 3.5 % slower candidate is within 1.05, but not once its CI is widened)."""
    a = make_run(tmp_path / "a", ticks=30_000, seed=3, sides="concurrent")
    same = make_run(tmp_path / "b", ticks=30_000, seed=4, sides="concurrent")
    close = make_run(tmp_path / "c", ticks=30_000, seed=5, sides="concurrent", slow=1.035)
    st = {c.check: c for c in compare_runs(a, same).checks}["candidate_latency_ratio"]
    assert st.status is Status.PASS and "CI over 30 swap cycles" in st.reason
    st = {c.check: c for c in compare_runs(a, close).checks}["candidate_latency_ratio"]
    assert st.status is Status.INCONCLUSIVE and "within noise / CI straddles" in st.reason
    assert "widened by 0.03 on both sides" in st.reason
    high = float(st.reason.split("CI [")[1].split("]")[0].split(", ")[1])
    assert high > 1.05 > high - 0.03  # the margin alone keeps it from PASSing
    short_a = make_run(tmp_path / "sa", ticks=5_000, seed=3, sides="concurrent")
    short_b = make_run(tmp_path / "sb", ticks=5_000, seed=4, sides="concurrent")
    st = {c.check: c for c in compare_runs(short_a, short_b).checks}["candidate_latency_ratio"]
    assert st.status is Status.INCONCLUSIVE and "too few cycles to bound the ratio" in st.reason


def test_a_candidate_delivering_late_is_a_changed_candidate(day, tmp_path):
    """B returns some events one call late, unchanged: the events diff pairs them as equal, but
    run-vs-run counts each late one as a change (as `late_events` does in the gates)."""
    a = _run(day, tmp_path, {})
    mutant = {**BASE, "mutant": {"defect": "late", "inner": FAKE, "rate": 0.2}}
    b = replay_recording(day, FAKE, "harness.replay.mutants:mutant", BASE, mutant, tmp_path)
    injected = json.loads((b / "stack_stats.json").read_text())["candidate"]["mutant"]["injected"]
    check = next(c for c in compare_runs(a, b).checks if c.check == "candidate_events_unchanged")
    assert injected > 0 and check.status is Status.FAIL and check.observed == injected


def test_the_noise_floor_covers_the_mean_ratio_as_well_as_the_median(tmp_path):
    """The floor serves the mean-ratio checks too: an A/A run whose mean strays further than its
    median (a few slow calls on one side) widens the floor by the mean's deviation."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from harness.gates.calibration import floor_from, measure_aa
    from harness.gates.evidence import open_evidence

    run = make_run(tmp_path, ticks=6_000, seed=2)
    manifest = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps({**manifest, "aa": True}))
    part = run / "observations" / "part-00000.parquet"
    obs = pq.read_table(part)
    slow = obs.column("candidate_ns").to_numpy().copy()
    slow[::200] *= 10  # 0.5 % of the calls: beyond the 0.1 % the mean caps
    col = obs.schema.get_field_index("candidate_ns")
    pq.write_table(obs.set_column(col, "candidate_ns", pa.array(slow)), part)
    ev = open_evidence(run)
    median, mean = ev.latency.ratio_median, ev.latency.ratio_mean
    ev.close()
    assert mean.high > median.high + 0.02
    aa = measure_aa(run)
    assert aa.ratio == median.point
    assert (aa.low, aa.high) == (min(median.low, mean.low), mean.high)
    assert floor_from([aa.ratio], [aa.low], [aa.high]) == pytest.approx(mean.high - 1.0)


def test_run_vs_run_sees_a_tail_b_added_through_the_mean(tmp_path):
    """B's candidate slow on 2 % of its calls (21x): the B/A ratio of medians stays within 1.05,
    the ratio of means does not (the gates' phase 0/1 hole of 2026-12-08, between runs)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    a = make_run(tmp_path / "a", ticks=6_000, seed=3)
    b = make_run(tmp_path / "b", ticks=6_000, seed=4)
    part = b / "observations" / "part-00000.parquet"
    obs = pq.read_table(part)
    ns = obs.column("candidate_ns").to_numpy().copy()
    ns[::50] *= 21
    col = obs.schema.get_field_index("candidate_ns")
    pq.write_table(obs.set_column(col, "candidate_ns", pa.array(ns)), part)
    checks = {c.check: c for c in compare_runs(a, b).checks}
    median, mean = checks["candidate_latency_ratio"], checks["candidate_mean_latency_ratio"]
    assert median.status is Status.PASS and median.observed < 1.05, median.reason
    assert mean.status is Status.FAIL and "ratio of means" in mean.reason, mean.reason
    # and an unchanged B passes both
    same = {
        c.check: c for c in compare_runs(a, make_run(tmp_path / "c", ticks=6_000, seed=5)).checks
    }
    assert same["candidate_mean_latency_ratio"].status is Status.PASS, same
