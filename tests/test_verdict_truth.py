"""Verdict truth: no defect in the matrix passes a phase gate whose criteria it violates.

Every case of harness.replay.defect_matrix.CASES wraps both bundled stacks (legacy, multi-channel at phase 1)
and is replayed against the unwrapped stack on short slices of both bundled recordings, in
process and (the process-crossing defects; all with VERDICT_TRUTH_FULL=1) on a real Dask LocalCluster; each run is gated at every phase with the repository's
accepted-differences file (whose rules must not apply: a wrapper is another candidate). A cell is
(path, base, recording, defect, phase): the verdict must be FAIL with the defect's own checks
among the failures wherever the defect violates the phase's criteria (docs/verdict-truth.md).
Whole days: benchmarks/bench_verdict_truth.py.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import pytest

from harness.gates.engine import PHASES, Status, Verdict, gate_run
from harness.pipeline.lifecycle import RunSetup
from harness.pipeline.shadow import shadow_run
from harness.recordings.reader import open_recording
from harness.replay.defect_matrix import CASES, LATENCY_PHASES, Case, target_ticker
from harness.replay.outcome import RunOptions
from harness.replay.shadow import RunSpec, StackSpec

ROOT = Path(__file__).resolve().parent.parent
ACCEPT = ROOT / "accepted-differences.toml"
PHASE1 = "phase_1_parallel_testing"
BASES = {
    "legacy": ("tickstock.stacks:legacy", {}),
    "multichannel": ("tickstock.stacks:multichannel", {"phase": PHASE1}),
}
#: The faithful legacy stack emits no trend without a day VWAP (docs/tickstock-semantics.md), so
#: on LOBSTER it leaves 28 highs/lows in the slice: too few for the defects' sampling rates to hit.
#: There the legacy base runs with the opt-in FIX_TREND_MISSING_VWAP, as a trades-only user would.
BASE_OVERRIDES: dict[tuple[str, str], dict[str, Any]] = {
    ("legacy", "lobster-2012-06-21"): {"tickstock": {"FIX_TREND_MISSING_VWAP": True}},
}


def _base(base: str, rec: str) -> tuple[str, dict[str, Any]]:
    factory, config = BASES[base]
    return factory, {**config, **BASE_OVERRIDES.get((base, rec), {})}


#: per recording: ticks replayed and the market period the slice lies in (drop_period)
RECS: dict[str, dict[str, Any]] = {
    "sample-day": {"ticks": 5_000, "period": "PREMARKET"},
    "lobster-2012-06-21": {"ticks": 12_000, "period": "OPENING"},
}
#: A/A runs: long enough for the mean ratio to be decided on a shared 2-core machine (mostly)
AA_TICKS = 10_000
OPTIONS = RunOptions(seed=0, tick_timeout_s=0.05, max_hangs=50)
_RUNS: dict[tuple[str, ...], dict[str, Any]] = {}
_DASK: dict[str, str] = {}


def _target(base: str, rec: str, root: Path) -> tuple[str, int]:
    """A ticker the base stack emits events for on the slice, cheap to hang, and how many of its
    ticks lead up to its first event (so a hang there loses that event)."""
    return target_ticker(_gated("in-process", base, rec, None, root)["run"])


def _lost_on_failed_ticks(run: Path) -> int:
    """Primary events emitted on ticks where the candidate raised or timed out."""
    import duckdb

    con = duckdb.connect()
    n = con.execute(
        f"""SELECT coalesce(sum(primary_events), 0) FROM read_parquet('{run}/observations/*.parquet')
            WHERE candidate_error IS NOT NULL"""
    ).fetchone()[0]
    con.close()
    return int(n)


def _multi_event_ticks(base: str, rec: str, root: Path) -> int:
    import duckdb

    run = _gated("in-process", base, rec, None, root)["run"]
    con = duckdb.connect()
    n = con.execute(
        f"""SELECT count(*) FROM (SELECT emit_seq FROM read_parquet('{run}/events_primary/*.parquet')
            GROUP BY emit_seq HAVING count(*) > 1)"""
    ).fetchone()[0]
    con.close()
    return int(n)


def _candidate(case: Case | None, base: str, rec: str, root: Path) -> StackSpec:
    factory, config = _base(base, rec)
    if case is None:
        return StackSpec(factory, config)
    ticker, count = _target(base, rec, root)
    table = case.mutant_table(factory, ticker, RECS[rec]["period"], count=min(count, 10))
    return StackSpec("harness.replay.mutants:mutant", {**config, "mutant": table})


def _replay(path: str, base: str, rec: str, case: Case | None, root: Path) -> Path:
    recording = ROOT / "recordings" / rec
    primary = StackSpec(*_base(base, rec))
    candidate = _candidate(case, base, rec, root.parent)
    n = RECS[rec]["ticks"]
    if path == "in-process":
        src = open_recording(recording)
        result = shadow_run(
            itertools.islice(src.ticks(), n),
            RunSpec(primary, candidate, OPTIONS),
            RunSetup(
                runs_dir=root,
                recording={"path": str(recording), "name": src.name, "sha256": src.sha256},
                expected=n,
                filters={"limit": n},
            ),
        )
        return result.path
    from harness.pipeline.request import ReplayRequest
    from harness.pipeline.sharded import replay_sharded

    # the same slice as a time window (the sharded runner takes no --limit), on 2 shards
    last = next(itertools.islice(open_recording(recording).ticks(), n - 1, None))
    request = ReplayRequest(
        recording,
        primary,
        candidate,
        OPTIONS,
        runs_dir=root,
        scheduler=_DASK["address"],
        shards=2,
        end_ns=last.ts + 1,
        filters={"to": last.ts + 1},
    )
    result = replay_sharded(request)
    return result.path


def _gated(path: str, base: str, rec: str, case: Case | None, tmp_root: Path) -> dict[str, Any]:
    key = (path, base, rec, case.name if case else "identical")
    if key not in _RUNS:
        run = _replay(path, base, rec, case, tmp_root / "-".join(key))
        ev, results = gate_run(run, PHASES, accept=ACCEPT)
        try:
            doc = ev.rules_document()
        finally:
            ev.close()
        shards = ev.stack_stats.get("by_shard") or [ev.stack_stats]  # sharded: per shard
        injected = sum(
            ((sh.get("candidate") or {}).get("mutant") or {}).get("injected", 0) for sh in shards
        )
        _RUNS[key] = {
            "run": run,
            "results": {r.phase: r for r in results},
            "rules": doc,
            "injected": injected,
        }
    return _RUNS[key]


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("verdict-truth")


@pytest.fixture(scope="module")
def dask_cluster() -> Any:
    from harness.scale.cluster import local_cluster

    with local_cluster(2) as cluster:  # the harness's own: loopback, no dashboard
        _DASK["address"] = cluster.scheduler_address
        yield cluster
        _DASK.clear()


#: On Dask, `make test` runs the defects whose detection crosses the process boundary (ticker
#: pinning, the worker's watchdog, errors, latency and memory measured in the worker); the rest
#: are the same code on the same events once the shards merge (tests/test_distributed.py proves
#: sharded = in-process events and diff). VERDICT_TRUTH_FULL=1 runs every defect on Dask too.
DASK_CASES = {"drop_ticker", "raise", "hang", "slow_2x", "leak"}
FULL = os.environ.get("VERDICT_TRUTH_FULL") == "1"
CELLS = [
    (path, base, rec, case)
    for path in ("in-process", "dask")
    for base in BASES
    for rec in RECS
    for case in CASES
    if path == "in-process" or FULL or case.name in DASK_CASES
]


@pytest.mark.parametrize(
    "path, base, rec, case", CELLS, ids=[f"{p}-{b}-{r}-{c.name}" for p, b, r, c in CELLS]
)
def test_defect_fails_every_phase_it_violates(
    request: pytest.FixtureRequest, path: str, base: str, rec: str, case: Case, runs_root: Path
) -> None:
    if path == "dask":
        request.getfixturevalue("dask_cluster")
    got = _gated(path, base, rec, case, runs_root)
    if (
        case.name == "reorder"
        and not got["injected"]
        and not _multi_event_ticks(base, rec, runs_root)
    ):
        pytest.skip(f"no tick of this slice has two {base} events: nothing to reorder")
    if case.params["defect"] not in ("slow",):
        assert got["injected"], f"{case.name} found nothing to act on in this slice"
    # a wrapper is another candidate: not one accepted-difference rule may apply to it
    applied = [r["id"] for r in got["rules"]["rules"] if r["applies"]]
    assert applied == [], applied
    lost = _lost_on_failed_ticks(got["run"]) if case.loss_driven else 0
    for phase in PHASES:
        result = got["results"][phase]
        failed = {c.check for c in result.checks if c.status is Status.FAIL}
        if lost:
            assert result.verdict is Verdict.FAIL and "missing_events" in failed, (lost, phase)
        if phase in case.violates:
            assert result.verdict is Verdict.FAIL, (phase, result.reasons)
            missing = set(case.must_fail(phase)) - failed
            assert not missing, (phase, sorted(missing), result.reasons)
        else:
            # not this phase's criterion: the defect's own checks stay quiet there
            assert not set(case.checks) & failed, (phase, result.reasons)
        if case.name == "spike" and phase in ("phase_0_installation", PHASE1):
            # the hole it proves closed: the median ratio alone let this tail PASS phases 0/1
            assert "latency_ratio_ci_upper" not in failed, (phase, result.reasons)


@pytest.mark.parametrize("base", list(BASES))
@pytest.mark.parametrize("rec", list(RECS))
def test_identical_candidate_passes_phase_one_and_breaks_no_event_check(
    base: str, rec: str, runs_root: Path
) -> None:
    got = _gated("in-process", base, rec, None, runs_root)
    result = got["results"][PHASE1]
    not_passed = [c for c in result.checks if c.status is not Status.PASS]
    # only latency may be undecided on a loaded machine (measured separately: test_aa_false_alarms)
    assert all(c.is_latency and c.status is Status.INCONCLUSIVE for c in not_passed), result.reasons
    for phase in PHASES:
        checks = {c.check: c for c in got["results"][phase].checks}
        for name in (
            "missing_events",
            "extra_events",
            "field_changes",
            "order_changes",
            "late_events",
        ):
            assert checks[name].status is Status.PASS and checks[name].observed == 0


def test_aa_false_alarm_rate_is_at_most_one_in_twenty(runs_root: Path) -> None:
    # Identical candidates (A/A, a fresh instance of the primary) under 20 seeds: each run is
    # gated at phases 0 and 1 (the phases an unchanged candidate can pass: 2 needs rollout
    # tickers, 3 and 4 an improvement). No check may FAIL; a false alarm is any other check
    # short of PASS, in at most one run. The mean ratio (phases 0 and 1 since 2026-12-08, against
    # tails the median never sees) is counted apart: a few preempted calls move the mean of a
    # short run when other processes (the other test worker, a Dask cluster of this module)
    # share the two cores. Measured under such load with the slowest 0.1 % capped: INCONCLUSIVE
    # in 4 of 20 runs of 5,000 ticks, 0-2 of 20 of AA_TICKS; never FAIL.
    rec = ROOT / "recordings" / "sample-day"
    src = open_recording(rec)
    n = AA_TICKS
    alarms, mean_undecided = [], set()
    for seed in range(20):
        result = shadow_run(
            itertools.islice(src.ticks(), n),
            RunSpec.of("tickstock.stacks:legacy", options=RunOptions(seed=seed)),
            RunSetup(
                runs_dir=runs_root / "aa",
                recording={"path": str(rec), "name": src.name, "sha256": src.sha256},
                expected=n,
                filters={"limit": n},
            ),
        )
        ev, results = gate_run(
            result.path, ("phase_0_installation", PHASE1), accept=ACCEPT, seed=seed
        )
        ev.close()
        for r in results:
            hard = [c for c in r.checks if c.status is not Status.PASS and not c.is_latency]
            assert not hard, r.reasons  # events, errors and completeness are exact in A/A
            assert r.verdict is not Verdict.FAIL, (seed, r.phase, r.reasons)
            open_ = [c for c in r.checks if c.status is not Status.PASS]
            if any(c.check == "latency_mean_ratio_ci_upper" for c in open_):
                mean_undecided.add(seed)
            if [c for c in open_ if c.check != "latency_mean_ratio_ci_upper"]:
                alarms.append((seed, r.phase, r.reasons))
    runs = {seed for seed, _, _ in alarms}
    assert len(runs) <= 1, alarms
    assert len(mean_undecided) <= 4, sorted(mean_undecided)


def test_gate_uses_the_rules_recorded_with_the_run_from_any_directory(tmp_path: Path) -> None:
    # the replay finds accepted-differences.toml beside the recording (its parents), copies it
    # into the run; gating from an unrelated directory then judges by that copy and says so
    import json
    import subprocess
    import sys

    harness = [sys.executable, "-m", "harness"]
    out = subprocess.run(
        [*harness, "replay", str(ROOT / "recordings" / "sample-day"), "--limit", "2000",
         "--candidate", "tickstock.stacks:multichannel",
         "--set", "candidate.phase=phase_1_parallel_testing", "--runs-dir", str(tmp_path / "runs"),
         "--no-progress", "--json"],
        capture_output=True, text=True, cwd=tmp_path, check=True,
    )  # fmt: skip
    run = Path(json.loads(out.stdout)["path"])
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["accepted_differences"]["source"] == str(ACCEPT)
    assert (run / "accepted-differences.toml").read_bytes() == ACCEPT.read_bytes()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    gated = subprocess.run(
        [*harness, "gate", str(run), "--phase", PHASE1, "--json"],
        capture_output=True, text=True, cwd=elsewhere,
    )  # fmt: skip
    doc = json.loads(gated.stdout)["accepted_differences"]
    assert doc["file"]["how"].startswith("recorded with the run from")
    assert doc["file"]["sha256"] == manifest["accepted_differences"]["sha256"]
    applied = {r["id"] for r in doc["rules"] if r["applies"]}
    assert "KD-B1-highlow-outside-regular" in applied  # the bundled candidate is in scope
    # no counts are declared for sample-day[:2000]: the accepted rows can never pass
    checks = {c["check"]: c for c in json.loads(gated.stdout)["checks"]}
    assert checks["accepted_rows_undeclared"]["status"] == "FAIL"
    assert gated.returncode == 3
    none = subprocess.run(
        [*harness, "gate", str(run), "--phase", PHASE1, "--no-accept", "--json"],
        capture_output=True, text=True, cwd=elsewhere,
    )  # fmt: skip
    assert json.loads(none.stdout)["accepted_differences"]["file"]["path"] is None


@pytest.mark.parametrize(
    "path, worker", [("in-process", "thread"), ("dask", "thread"), ("in-process", "process")]
)
def test_work_moved_to_a_thread_of_the_stack_leaves_latency_undecided(
    request: pytest.FixtureRequest, path: str, worker: str, runs_root: Path
) -> None:
    """A candidate that burns half its call time again in a thread (or a process) of its own after
    every call (the `offload` defect) PASSed phase 1 at a latency ratio of 1.03: its calls are as fast as
    the primary's and the rest is in no call's time. The threads the stacks started are counted
    (in the worker process too), and beyond 5 % of the timed calls no latency-judged phase can
    PASS; the unwrapped stacks start no thread and the check passes at 0."""
    if path == "dask":
        request.getfixturevalue("dask_cluster")
    process = worker == "process"
    case = Case(
        f"offload-{worker}", {"defect": "offload", "share": 0.5, "process": process}, (), ()
    )
    got = _gated(path, "legacy", "sample-day", case, runs_root)
    assert got["injected"] > 0
    for phase in LATENCY_PHASES:
        result = got["results"][phase]
        check = next(c for c in result.checks if c.check == "stack_thread_cpu")
        assert check.status is Status.INCONCLUSIVE, (phase, check.reason)
        # a thread by its name; a process by its executable's ("process python… [pid]")
        assert ("process " if process else "mutant-offload") in check.reason, check.reason
        assert (check.observed or 0) > 0.1
        assert result.verdict is not Verdict.PASS
    identical = _gated("in-process", "legacy", "sample-day", None, runs_root)
    check = next(c for c in identical["results"][PHASE1].checks if c.check == "stack_thread_cpu")
    assert check.status is Status.PASS and check.observed == 0.0, check.reason
