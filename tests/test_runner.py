"""The shadow runner: determinism, contained failures, timeouts and hangs, the conservation audit."""

import time

import pytest
from tickgen import make_ticks

from harness.core.errors import IncompleteRunError
from harness.pipeline.shadow import run_shadow
from harness.replay.faults import FaultSpec
from harness.replay.outcome import RunOptions
from harness.replay.runner import ShadowRunner
from harness.replay.stack import FakeStack
from harness.store.runs import open_run

FAKE = "harness.replay.stack:fake"


def test_same_ticks_and_seed_give_identical_event_hashes(tmp_path):
    runs = [
        run_shadow(
            make_ticks(3000),
            FAKE,
            FAKE,
            candidate_config={"swap_order": True},
            options=RunOptions(seed=11),
            root=tmp_path,
        )
        for _ in range(2)
    ]
    a, b = (r.summary["event_hash"] for r in runs)
    assert a == b
    firsts = [
        open_run(r.path).sql("select list(first order by seq) from observations").fetchone()
        for r in runs
    ]
    assert firsts[0] == firsts[1]
    assert runs[0].summary["diff"]["order"] > 0


def test_candidate_run_twice_gives_the_same_event_hash_as_itself(tmp_path):
    r = run_shadow(
        make_ticks(2000),
        FAKE,
        FAKE,
        primary_config={"seed": 5, "drop_rate": 0.1},
        candidate_config={"seed": 5, "drop_rate": 0.1},
        root=tmp_path,
    )
    assert r.summary["event_hash"]["primary"] == r.summary["event_hash"]["candidate"]
    assert r.summary["match_rate"] == 1.0


def test_a_a_run_of_the_fake_matches_every_event(tmp_path):
    r = run_shadow(make_ticks(2000), FAKE, None, root=tmp_path)
    m = open_run(r.path).manifest
    assert m["aa"] is True and m["candidate"] == m["primary"]
    assert r.status == "complete"
    assert r.summary["diff"]["match"] == sum(r.summary["events"]["primary"].values()) > 0
    assert r.summary["match_rate"] == 1.0


def test_candidate_exceptions_become_error_observations_and_the_run_goes_on(tmp_path):
    r = run_shadow(
        make_ticks(1000),
        FAKE,
        FAKE,
        candidate_config={"raise_rate": 0.05, "seed": 2},
        root=tmp_path,
    )
    run = open_run(r.path)
    errs = run.sql(
        "select count(candidate_error), count(primary_error), count(*) from observations"
    ).fetchone()
    assert errs[0] > 20 and errs[1] == 0 and errs[2] == 1000
    assert r.status == "complete"
    audit = run.manifest["audit"]
    assert audit["candidate"]["errored"] == errs[0]
    assert audit["candidate"]["processed"] + audit["candidate"]["errored"] == 1000
    msg = run.sql("select any_value(candidate_error) from observations").fetchone()[0]
    assert msg.startswith("RuntimeError: fake stack failure on")


def test_audit_catches_a_stack_that_silently_skips_ticks(tmp_path):
    r = run_shadow(
        make_ticks(500), FAKE, FAKE, candidate_config={"skip_rate": 0.02, "seed": 4}, root=tmp_path
    )
    assert r.status == "incomplete"
    assert "silently skipped" in r.reason
    assert open_run(r.path).manifest["audit"]["ok"] is False


class _Slow(FakeStack):
    def __init__(self, slow_seqs):
        super().__init__({})
        self.slow_seqs = slow_seqs

    def process(self, tick):
        if tick.seq in self.slow_seqs:
            time.sleep(2)
        return super().process(tick)


class _ListSink:
    def __init__(self):
        self.obs, self.events = [], {"primary": [], "candidate": []}

    def write_observations(self, table):
        self.obs.append(table)

    def write_events(self, side, table):
        self.events[side].append(table)


def test_a_slow_call_becomes_a_timeout_observation_and_the_run_continues():
    sink = _ListSink()
    runner = ShadowRunner(FakeStack({}), _Slow({5, 9}), sink, RunOptions(tick_timeout_s=0.05))
    started = time.monotonic()
    out = runner.run(make_ticks(50))
    assert time.monotonic() - started < 1.5
    assert out.candidate.timed_out == 2 and out.candidate.processed == 48
    assert out.audit_ok and out.read == 50
    rows = sink.obs[0].to_pydict()
    assert [s for s, t in zip(rows["seq"], rows["candidate_timeout"], strict=True) if t] == [5, 9]


def test_a_hanging_candidate_aborts_the_run_as_incomplete_naming_ticker_and_seq(tmp_path):
    started = time.monotonic()
    r = run_shadow(
        make_ticks(400),
        FAKE,
        FAKE,
        inject=FaultSpec.parse("hang_ticker=T03"),
        options=RunOptions(tick_timeout_s=0.05, max_hangs=3),
        root=tmp_path,
    )
    assert time.monotonic() - started < 5
    assert r.status == "incomplete"
    assert "candidate hung on ticker T03 at seq" in r.reason
    run = open_run(r.path)
    assert run.status == "incomplete"
    assert run.sql("select count(*) from observations where candidate_timeout").fetchone()[0] == 3


def test_fault_injection_is_seeded_and_recorded_in_the_manifest(tmp_path):
    spec = FaultSpec.parse("error_rate=0.05,drop_rate=0.2")
    r1, r2 = (
        run_shadow(
            make_ticks(1500), FAKE, FAKE, inject=spec, options=RunOptions(seed=9), root=tmp_path
        )
        for _ in range(2)
    )
    assert r1.summary["event_hash"] == r2.summary["event_hash"]
    assert r1.summary["errors"]["candidate"] == r2.summary["errors"]["candidate"] > 30
    assert r1.summary["diff"]["missing"] > 0
    m = open_run(r1.path).manifest
    assert m["inject"] == {
        "error_rate": 0.05,
        "delay_ms": 0.0,
        "drop_rate": 0.2,
        "hang_ticker": None,
    }
    assert m["seed"] == 9
    stats = open_run(r1.path).json("stack_stats.json")
    assert stats["candidate"]["injected_faults"]["errors"] == r1.summary["errors"]["candidate"]


def test_an_interrupted_run_is_incomplete(tmp_path):
    def ticks():
        yield from make_ticks(100)
        raise KeyboardInterrupt

    with pytest.raises(IncompleteRunError, match="interrupted"):
        run_shadow(ticks(), FAKE, FAKE, options=RunOptions(batch_size=32), root=tmp_path)
    (run_dir,) = tmp_path.iterdir()
    run = open_run(run_dir)
    assert run.status == "incomplete" and run.manifest["reason"] == "interrupted"
    assert run.sql("select count(*) from observations").fetchone()[0] == 96


def test_observations_stream_in_batches_of_the_configured_size(tmp_path):
    r = run_shadow(make_ticks(1000), FAKE, FAKE, options=RunOptions(batch_size=256), root=tmp_path)
    parts = sorted(p.name for p in (r.path / "observations").glob("*.parquet"))
    assert parts == [f"part-000-{i:05d}.parquet" for i in range(4)]
    assert open_run(r.path).sql(
        "select count(*), count(distinct seq) from observations"
    ).fetchone() == (1000, 1000)


def test_dropped_events_are_exactly_the_missing_ones(tmp_path):
    r = run_shadow(
        make_ticks(1500),
        FAKE,
        FAKE,
        inject=FaultSpec.parse("drop_rate=0.1"),
        options=RunOptions(seed=3),
        root=tmp_path,
    )
    dropped = open_run(r.path).json("stack_stats.json")["candidate"]["injected_faults"][
        "dropped_events"
    ]
    d = r.summary["diff"]
    assert d["missing"] == dropped > 0
    assert d["extra"] == d["field_mismatch"] == 0
    assert d["match"] + d["missing"] == sum(r.summary["events"]["primary"].values())


def test_off_main_thread_a_slow_call_is_still_judged_a_timeout_after_it_returns():
    import threading

    sink = _ListSink()
    out = {}

    def work():
        runner = ShadowRunner(FakeStack({}), _Slow({3}), sink, RunOptions(tick_timeout_s=0.5))
        out["o"] = runner.run(make_ticks(10))

    t = threading.Thread(target=work)
    t.start()
    t.join(10)
    o = out["o"]
    assert o.candidate.timed_out == 1 and o.candidate.processed == 9 and o.audit_ok


def test_cpu_time_is_sampled_on_every_nth_tick():
    sink = _ListSink()
    ShadowRunner(FakeStack({}), FakeStack({}), sink, RunOptions(cpu_sample=4)).run(make_ticks(40))
    cpu = sink.obs[0].column("primary_cpu_ns").to_pylist()
    assert [i for i, v in enumerate(cpu) if v is not None] == list(range(0, 40, 4))
    assert all(v >= 0 for v in cpu if v is not None)


class _Keeper:
    """A stack that keeps `keep` bytes per tick (a leak when > 0) and emits every `every`th tick."""

    def __init__(self, keep: int, every: int = 0) -> None:
        self.keep, self.every, self.kept, self.n = keep, every, [], 0

    def process(self, tick):
        self.n += 1
        if self.keep:
            self.kept.append(bytearray(self.keep))
        if self.every and self.n % self.every == 0:
            return [{"ticker": tick.ticker, "type": "x", "tick_seq": tick.seq}]
        return [{"scratch": bytearray(4096)}][:0]  # a temporary: allocated, then released

    def flush(self):
        return []

    def stats(self):
        return {}


def test_memory_probe_measures_the_bytes_a_stack_keeps_on_every_nth_tick():
    sink = _ListSink()
    ticks = make_ticks(640)
    ShadowRunner(_Keeper(0), _Keeper(3000), sink, RunOptions(cpu_sample=16, memory_probe=64)).run(
        ticks
    )
    obs = sink.obs[0]
    p = obs.column("primary_held_bytes").to_pylist()
    c = obs.column("candidate_held_bytes").to_pylist()
    probed = [i for i, v in enumerate(c) if v is not None]
    assert probed == list(range(33, 640, 64))  # every 64th tick, never a CPU-sampled one
    assert all(v is None for v in obs.column("candidate_cpu_ns").to_pylist()[33::64])
    # the leaker's bytearray(3000) is held (plus the list slot); the temporary is not
    assert all(3000 <= c[i] < 3300 for i in probed)
    assert all(p[i] < 200 for i in probed)


def test_memory_probe_skips_calls_that_returned_events_and_can_be_off():
    sink = _ListSink()
    ShadowRunner(_Keeper(0, every=1), _Keeper(0), sink, RunOptions(memory_probe=8)).run(
        make_ticks(64)
    )
    obs = sink.obs[0]
    assert obs.column("primary_held_bytes").null_count == 64  # every call returned an event
    assert obs.column("candidate_held_bytes").null_count < 64
    # the tick is marked probed whether or not its calls returned events: tracing slowed both
    marked = [i for i, v in enumerate(obs.column("memory_probed").to_pylist()) if v]
    assert marked == list(range(5, 64, 8))
    sink = _ListSink()
    ShadowRunner(_Keeper(0), _Keeper(0), sink, RunOptions(memory_probe=0)).run(make_ticks(64))
    assert sink.obs[0].column("candidate_held_bytes").null_count == 64
    assert not any(sink.obs[0].column("memory_probed").to_pylist())
