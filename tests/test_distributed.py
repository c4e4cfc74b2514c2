"""Sharded replay: the same events and verdict for every executor and worker count, retries, days."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from harness.core.model import Tick
from harness.pipeline.request import ReplayRequest
from harness.pipeline.shadow import run_shadow
from harness.pipeline.sharded import replay_sharded
from harness.recordings.reader import RecordingWriter, open_recording
from harness.replay.outcome import RunOptions
from harness.replay.shadow import StackSpec
from harness.scale.cluster import local_cluster
from harness.store.runs import open_run

# 2026-03-10 and 2026-03-11, 14:30 UTC (10:30 ET): two trading days
DAY_NS = (1_773_153_000_000_000_000, 1_773_239_400_000_000_000)
TICKERS = [f"T{i:02d}" for i in range(12)]
FAKE = "harness.replay.stack:fake"
PRIMARY = StackSpec(FAKE, {"name": "primary"})
CANDIDATE = StackSpec(FAKE, {"name": "candidate", "shift_price": 0.01, "swap_order": True})
OPTIONS = RunOptions(seed=3, batch_size=97)


def replay_recording(recording, primary, candidate, options, root, buckets=None, **more):
    """The sharded pipeline on one recording (`workers`, `scheduler`, `tickers`, … in `more`)."""
    request = ReplayRequest(
        Path(recording), primary, candidate, options, runs_dir=Path(root), shards=buckets, **more
    )
    return replay_sharded(request)


def _write(path: Path, days: int, per_day: int = 600) -> Path:
    rng = random.Random(5)
    px = dict.fromkeys(TICKERS, 50.0)
    ticks, seq = [], 0
    for d in range(days):
        for i in range(per_day):
            t = TICKERS[rng.randrange(len(TICKERS))]
            px[t] = round(px[t] * (1 + rng.gauss(0, 0.004)), 4)
            vol = rng.randrange(1, 400) * (25 if rng.random() < 0.04 else 1)
            ticks.append(
                Tick(seq=seq, ts=DAY_NS[d] + i * 50_000_000, ticker=t, price=px[t], volume=vol)
            )
            seq += 1
    with RecordingWriter(path, name=path.name, source="synthetic") as w:
        w.write_ticks(ticks)
    return path


@pytest.fixture(scope="module")
def one_day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write(tmp_path_factory.mktemp("rec") / "one-day", days=1)


@pytest.fixture(scope="module")
def two_days(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write(tmp_path_factory.mktemp("rec") / "two-days", days=2)


@pytest.fixture(scope="module")
def cluster():
    """One 2-worker LocalCluster shared by the module (startup costs seconds)."""
    with local_cluster(2, allowed_failures=1) as c:
        yield c


@pytest.fixture(scope="module")
def one_worker():
    with local_cluster(1, allowed_failures=1) as c:
        yield c


def _key(summary: dict) -> tuple:
    return (
        summary["event_hash"]["primary"],
        summary["event_hash"]["candidate"],
        tuple(sorted(summary["diff"].items())),
        summary["ticks"],
        summary["status"],
    )


def test_sequential_in_process_one_worker_and_two_workers_give_the_same_hash_and_diff(
    one_day, cluster, one_worker, tmp_path
):
    rec = open_recording(one_day)
    seq = run_shadow(
        rec.ticks(),
        FAKE,
        FAKE,
        primary_config=PRIMARY.config,
        candidate_config=CANDIDATE.config,
        options=OPTIONS,
        root=tmp_path,
    )
    local = replay_recording(
        one_day, PRIMARY, CANDIDATE, OPTIONS, root=tmp_path, workers=0, buckets=4
    )
    w1 = replay_recording(
        one_day,
        PRIMARY,
        CANDIDATE,
        OPTIONS,
        root=tmp_path,
        buckets=4,
        scheduler=one_worker.scheduler_address,
    )
    w2 = replay_recording(
        one_day,
        PRIMARY,
        CANDIDATE,
        OPTIONS,
        root=tmp_path,
        buckets=4,
        scheduler=cluster.scheduler_address,
    )
    assert seq.status == "complete"
    assert seq.summary["diff"]["field_mismatch"] > 0  # the comparison is not trivially equal
    assert _key(local.summary) == _key(seq.summary) == _key(w1.summary) == _key(w2.summary)
    assert len(open_run(w2.path).manifest["sharding"]["shards"]) == 4
    assert (
        open_run(w2.path).sql("select count(distinct shard) from observations").fetchone()[0] == 4
    )


def test_every_tick_is_replayed_exactly_once_across_shards(one_day, tmp_path):
    res = replay_recording(
        one_day, PRIMARY, CANDIDATE, OPTIONS, root=tmp_path, workers=0, buckets=5
    )
    run = open_run(res.path)
    n, distinct, per_ticker_shards = run.sql(
        """select count(*), count(distinct seq),
                  max(s) from (select seq, ticker, count(distinct shard) over (partition by ticker)
                               as s from observations)"""
    ).fetchone()
    assert n == distinct == 600
    assert per_ticker_shards == 1  # a ticker lives in exactly one shard
    assert run.manifest["audit"]["ok"] is True
    assert run.manifest["audit"]["expected"] == 600


def test_a_worker_killed_once_is_retried_and_the_run_completes_with_the_same_hash(
    one_day, cluster, tmp_path
):
    marker = tmp_path / "died-once"
    dying = StackSpec(FAKE, {**CANDIDATE.config, "exit_on_seq": 300, "exit_marker": str(marker)})
    res = replay_recording(
        one_day,
        PRIMARY,
        dying,
        OPTIONS,
        root=tmp_path / "runs",
        buckets=4,
        scheduler=cluster.scheduler_address,
    )
    ref = replay_recording(
        one_day, PRIMARY, CANDIDATE, OPTIONS, root=tmp_path / "ref", workers=0, buckets=4
    )
    assert marker.exists()  # the worker really died once
    assert res.status == "complete"
    assert res.summary["event_hash"] == ref.summary["event_hash"]
    assert res.summary["ticks"] == 600


def test_a_shard_whose_worker_always_dies_makes_the_run_incomplete_never_a_partial_pass(
    one_day, cluster, tmp_path
):
    dying = StackSpec(FAKE, {**CANDIDATE.config, "exit_on_seq": 300})
    res = replay_recording(
        one_day,
        PRIMARY,
        dying,
        OPTIONS,
        root=tmp_path,
        buckets=4,
        scheduler=cluster.scheduler_address,
    )
    assert res.status == "incomplete"
    assert "failed" in (res.reason or "")
    run = open_run(res.path)
    assert run.manifest["status"] == "incomplete"
    failed = run.manifest["sharding"]["failed"]
    assert any("KilledWorker" in f for f in failed)
    # a failed shard leaves no fragment behind (a dying worker may take a neighbour's task too)
    kept = run.sql("select count(distinct shard) from observations").fetchone()[0]
    assert kept == 4 - len(failed) == len(run.manifest["sharding"]["shards"]) < 4


def test_days_are_shards_and_the_summary_has_a_per_day_breakdown(two_days, cluster, tmp_path):
    res = replay_recording(
        two_days,
        PRIMARY,
        CANDIDATE,
        OPTIONS,
        root=tmp_path,
        buckets=2,
        scheduler=cluster.scheduler_address,
    )
    local = replay_recording(
        two_days, PRIMARY, CANDIDATE, OPTIONS, root=tmp_path, workers=0, buckets=2
    )
    assert res.status == "complete"
    assert _key(res.summary) == _key(local.summary)
    days = open_run(res.path).json("summary.json")["by_day"]
    assert [d["date"] for d in days] == ["2026-03-10", "2026-03-11"]
    assert [d["ticks"] for d in days] == [600, 600]
    assert (
        sum(d["diff"].get("field_mismatch", 0) for d in days)
        == res.summary["diff"]["field_mismatch"]
    )
    assert open_run(res.path).manifest["sharding"]["plan"]["shards"] == 4


def test_filters_limit_the_shards_to_the_asked_tickers(two_days, tmp_path):
    res = replay_recording(
        two_days,
        PRIMARY,
        CANDIDATE,
        OPTIONS,
        root=tmp_path,
        workers=0,
        buckets=3,
        tickers=["T01", "T02"],
    )
    run = open_run(res.path)
    assert sorted(r[0] for r in run.sql("select distinct ticker from observations").fetchall()) == [
        "T01",
        "T02",
    ]
    assert res.status == "complete"


def test_harness_replay_runs_a_multi_day_recording_sharded_by_default(two_days, tmp_path):
    from click.testing import CliRunner

    from harness.cli import cli

    args = [
        "replay",
        str(two_days),
        "--primary",
        FAKE,
        "--candidate",
        FAKE,
        "--set",
        "candidate.shift_price=0.01",
        "--runs-dir",
        str(tmp_path),
        "--json",
        "--workers",
        "0",
    ]
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 0, out.output
    run = open_run(json.loads(out.output)["path"])
    assert run.manifest["sharding"]["executor"] == "in-process"
    assert run.manifest["shards"] == 2  # one bucket per (small) day
    assert [d["date"] for d in run.json("summary.json")["by_day"]] == ["2026-03-10", "2026-03-11"]


def test_sharding_options_with_a_limit_are_a_usage_error_exit_5(two_days, tmp_path):
    from click.testing import CliRunner

    from harness.cli import cli

    out = CliRunner().invoke(
        cli,
        [
            "replay",
            str(two_days),
            "--primary",
            FAKE,
            "--limit",
            "10",
            "--workers",
            "2",
            "--runs-dir",
            str(tmp_path),
        ],
    )
    assert out.exit_code == 5
    assert "--limit" in out.output


def test_rollout_tickers_are_selected_once_before_sharding_and_every_shard_gets_them(
    one_day, tmp_path
):
    mc = StackSpec(
        "tickstock.stacks:multichannel",
        {
            "phase": "phase_3_gradual_expansion",
            "rollout_percentage": 50,
            "rollout_warmup_seconds": 5.0,
            "seed": 4,
        },
    )
    res = replay_recording(
        one_day,
        StackSpec("tickstock.stacks:legacy", {}),
        mc,
        OPTIONS,
        root=tmp_path,
        workers=0,
        buckets=3,
    )
    run = open_run(res.path)
    pinned = run.manifest["candidate"]["config"]["rollout_tickers"]
    info = run.manifest["sharding"]["rollout"]
    assert info["method"] == "observed" and info["warmup_ticks"] > 0
    assert pinned and set(pinned) <= set(TICKERS)
    by_shard = run.json("stack_stats.json")["by_shard"]
    assert len(by_shard) == 3
    for shard_stats in by_shard:  # every shard runs the one selection (explicit, not re-chosen)
        assert shard_stats["candidate"]["rollout"]["method"] == "explicit"
        assert shard_stats["candidate"]["rollout_tickers"] == sorted(pinned)


def test_the_report_of_a_multi_day_run_has_a_per_day_breakdown(two_days, tmp_path):
    from harness.report.build import build_report

    res = replay_recording(
        two_days, PRIMARY, CANDIDATE, OPTIONS, root=tmp_path / "runs", workers=0, buckets=2
    )
    build_report(Path(res.path))
    md = (Path(res.path) / "report.md").read_text()
    assert "## Shards and days" in md
    assert "| 2026-03-10 | 600 |" in md and "| 2026-03-11 | 600 |" in md
    assert "Shards and days" in (Path(res.path) / "report.html").read_text()


def test_a_late_second_attempt_of_a_shard_never_changes_the_parts_the_run_reads(one_day, tmp_path):
    """Dask may rerun a finished shard (its result was lost with a dead worker) while the
    coordinator already reads the run: that attempt stages its own parts and is never committed."""
    from harness.pipeline.lifecycle import RunSetup, start_run
    from harness.replay.shadow import RunSpec
    from harness.scale.shards import plan_shards
    from harness.scale.worker import run_shard
    from harness.store.parts import ATTEMPTS_DIR, commit_attempt, discard_attempts

    shard = plan_shards(open_recording(one_day).manifest, 2).shards[0]
    spec = RunSpec(PRIMARY, CANDIDATE, OPTIONS)
    writer = start_run(spec, RunSetup(runs_dir=tmp_path, shards=2))
    first = run_shard(str(writer.path), str(one_day), shard, spec)
    assert commit_attempt(writer.path, shard.index, first.attempt) > 0
    committed = sorted(p.name for p in (writer.path / "observations").glob("*.parquet"))
    before = {p: p.stat().st_mtime_ns for p in writer.path.glob("*/part-*.parquet")}

    late = run_shard(str(writer.path), str(one_day), shard, spec)
    assert late.attempt != first.attempt
    # the committed files are untouched: not deleted, not rewritten, nothing added beside them
    assert {p: p.stat().st_mtime_ns for p in writer.path.glob("*/part-*.parquet")} == before
    assert (writer.path / ATTEMPTS_DIR).is_dir()
    discard_attempts(writer.path)
    assert not (writer.path / ATTEMPTS_DIR).exists()
    assert sorted(p.name for p in (writer.path / "observations").glob("*.parquet")) == committed
    writer.finish("incomplete", reason="test")
    run = open_run(writer.path)
    rows = run.sql("select count(*), count(distinct seq) from observations").fetchone()
    assert rows[0] == rows[1] == first.outcome.read  # one attempt's rows, no duplicates


def _child_peak_rss() -> float:
    from harness.scale.worker import peak_rss_mb

    return peak_rss_mb()


def test_a_spawned_worker_reports_its_own_peak_rss_not_the_bigger_parent_s():
    """Linux carries ru_maxrss across fork+exec; a worker's peak must not be its parent's."""
    import multiprocessing
    import resource
    from concurrent.futures import ProcessPoolExecutor

    ballast = bytearray(400 * 1024 * 1024)
    ballast[::4096] = b"\x01" * len(ballast[::4096])  # touch every page: RSS really rises
    parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        child = pool.submit(_child_peak_rss).result()
    del ballast
    assert parent > 400
    assert (
        5 < child < parent - 250
    )  # the child's own interpreter and imports, not the parent's 400 MB
