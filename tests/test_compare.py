"""The diff engine finds exactly the defects a FakeStack injects, and honours the diff config."""

import pytest
from tickgen import make_ticks

from harness.core.errors import ConfigError
from harness.diff.align import DiffConfig
from harness.pipeline.lifecycle import diff_run
from harness.pipeline.shadow import run_shadow
from harness.store.runs import open_run

FAKE = "harness.replay.stack:fake"


def _run(tmp_path, n=3000, **candidate):
    return run_shadow(make_ticks(n), FAKE, FAKE, candidate_config=candidate, root=tmp_path)


def test_diff_finds_exactly_the_dropped_altered_and_added_events(tmp_path):
    r = _run(tmp_path, drop_rate=0.03, shift_price=0.5, alter_rate=0.02, extra_rate=0.01, seed=5)
    defects = open_run(r.path).json("stack_stats.json")["candidate"]["defects"]
    d = r.summary["diff"]
    assert defects["dropped"] > 0 and defects["altered"] > 0 and defects["extra"] > 0
    assert d["missing"] == defects["dropped"]
    assert d["field_mismatch"] == defects["altered"]
    assert d["extra"] == defects["extra"]
    assert d["order"] == 0
    run = open_run(r.path)
    paths = run.sql(
        "select distinct f.path from (select unnest(fields) as f from diff where class = 'field_mismatch')"
    ).fetchall()
    assert paths == [("price",)]
    row = run.sql(
        "select fields[1].primary::double, fields[1].candidate::double from diff "
        "where class = 'field_mismatch' limit 1"
    ).fetchone()
    assert row[1] - row[0] == pytest.approx(0.5)
    assert (
        run.sql("select count(*) from diff where class = 'extra' and type <> 'extra'").fetchone()[0]
        == 0
    )


def test_swapped_emission_order_within_a_tick_is_classified_as_order(tmp_path):
    r = _run(tmp_path, swap_order=True)
    d = r.summary["diff"]
    run = open_run(r.path)
    multi = run.sql(
        "select count(*) from (select tick_seq from events_primary group by 1 having count(*) > 1)"
    ).fetchone()[0]
    assert multi > 0
    assert d["order"] == 2 * multi
    assert d["missing"] == d["extra"] == d["field_mismatch"] == 0


def test_a_price_tolerance_in_the_diff_config_turns_mismatches_into_matches(tmp_path):
    r = _run(tmp_path, shift_price=0.001, alter_rate=0.2, seed=1)
    assert r.summary["diff"]["field_mismatch"] > 0
    cfg = tmp_path / "diff.toml"
    cfg.write_text("[tolerance.fields]\nprice = { abs = 0.002 }\n")
    summary = diff_run(open_run(r.path), DiffConfig.load(cfg))
    assert summary["diff"]["field_mismatch"] == 0
    assert summary["match_rate"] == 1.0
    assert (
        open_run(r.path).sql("select count(*) from diff where class='match'").fetchone()[0]
        == summary["diff"]["match"]
    )


def test_wall_clock_fields_declared_by_the_stack_are_ignored(tmp_path):
    r = run_shadow(
        make_ticks(2000),
        FAKE,
        FAKE,
        primary_config={"wallclock_ids": True},
        candidate_config={"wallclock_ids": True},
        root=tmp_path,
    )
    assert r.summary["match_rate"] == 1.0
    assert "event_id" in r.summary["diff_config"]["ignore"]["fields"]


def test_ignoring_a_field_hides_its_mismatches(tmp_path):
    r = _run(tmp_path, shift_price=1.0, alter_rate=0.1, seed=2)
    cfg = DiffConfig.from_dict({"ignore": {"fields": ["price"]}})
    assert diff_run(open_run(r.path), cfg)["diff"]["field_mismatch"] == 0


def test_tick_seq_tolerance_pairs_events_emitted_a_few_ticks_apart(tmp_path):
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    r = run_shadow(make_ticks(800, round_robin=True), FAKE, FAKE, root=tmp_path)
    run = open_run(r.path)
    (part,) = sorted((r.path / "events_candidate").glob("*.parquet"))
    t = pq.read_table(part)
    shifted = pa.array([s + 1 for s in t["tick_seq"].to_pylist()], pa.int64())
    js = [
        json.dumps({**json.loads(j), "tick_seq": s + 1}, sort_keys=True)
        for j, s in zip(t["event_json"].to_pylist(), t["tick_seq"].to_pylist(), strict=True)
    ]
    t = t.set_column(0, "tick_seq", shifted).set_column(
        t.schema.get_field_index("event_json"), "event_json", pa.array(js)
    )
    pq.write_table(t, part)
    exact = diff_run(run, DiffConfig())
    assert exact["diff"]["match"] == 0 and exact["diff"]["missing"] == exact["diff"]["extra"] > 0
    loose = diff_run(
        run,
        DiffConfig.from_dict(
            {"key": {"tick_seq_tolerance": 1}, "ignore": {"fields": ["tick_seq"]}}
        ),
    )
    assert loose["diff"]["missing"] == loose["diff"]["extra"] == 0
    assert loose["diff"]["match"] == exact["diff"]["missing"]


def test_first_divergence_names_the_earliest_seq_with_its_window(tmp_path):
    r = _run(tmp_path, drop_rate=0.05, seed=8)
    run = open_run(r.path)
    fd = run.json("first_divergence.json")
    earliest = run.sql("select min(tick_seq) from diff where class <> 'match'").fetchone()[0]
    assert fd["seq"] == earliest == r.summary["first_divergence"]["seq"]
    assert fd["class"] == "missing"
    assert any(o["seq"] == earliest for o in fd["observations"])
    assert all(o["ticker"] == fd["ticker"] for o in fd["observations"])
    assert any(e["tick_seq"] == earliest for e in fd["events"]["primary"])
    assert not any(e["tick_seq"] == earliest for e in fd["events"]["candidate"])


@pytest.mark.parametrize(
    "data",
    [
        {"keys": {}},
        {"key": {"fields": ["a b"]}},
        {"tolerance": {"default": {"abs": -1}}},
        {"key": {"tick_seq_tolerance": -2}},
    ],
    ids=["unknown-section", "bad-field-name", "negative-tolerance", "negative-seq-tolerance"],
)
def test_bad_diff_configs_are_rejected(data):
    with pytest.raises(ConfigError):
        DiffConfig.from_dict(data)


def test_event_hashes_reuse_the_stripped_json_and_equal_the_per_event_definition(tmp_path):
    from harness.diff.align import ignore_patch
    from harness.diff.classify import classify, event_hashes

    r = run_shadow(
        make_ticks(1500),
        FAKE,
        FAKE,
        primary_config={"wallclock_ids": True},
        candidate_config={"wallclock_ids": True, "shift_price": 0.5, "alter_rate": 0.05},
        root=tmp_path,
    )
    ignore = ("event_id", "surge_age")
    run = open_run(r.path)
    fresh = event_hashes(run.connect(with_diff=False), ignore)  # strips by itself
    con = run.connect(with_diff=False)
    classify(con, DiffConfig(ignore=ignore))
    assert event_hashes(con, ignore) == fresh
    patch = ignore_patch(ignore)
    for side in ("primary", "candidate"):
        n, x = con.execute(
            f"""select count(*), bit_xor(md5_number(tick_seq::varchar || ' ' || emit_seq::varchar
                   || ' ' || (case when emit_seq < 0 then -1 else emit_index end)::varchar
                   || ' ' || json_merge_patch(event_json, '{patch}'))) from events_{side}"""
        ).fetchone()
        assert fresh[side] == f"{int(n):x}-{int(x) & ((1 << 128) - 1):032x}"
    # another ignore list re-strips instead of reusing the tables built for the diff
    assert event_hashes(con, ("event_id", "price"))["primary"] != fresh["primary"]


def test_diff_stores_the_tick_time_of_every_rows_tick(tmp_path):
    r = _run(tmp_path, drop_rate=0.03, alter_rate=0.02, extra_rate=0.01, seed=5)
    run = open_run(r.path)
    n, timed, wrong = run.sql(
        """select count(*), count(d.tick_ts), count(*) filter (d.tick_ts is distinct from o.ts)
           from diff d left join observations o on o.seq = d.tick_seq"""
    ).fetchone()
    assert n > 100 and timed == n and wrong == 0
    types = run.sql("select typeof(d.tick_ts), typeof(o.ts) from diff d, observations o limit 1")
    assert types.fetchone() == ("TIMESTAMPTZ_NS", "TIMESTAMPTZ_NS")


def test_late_events_are_marked_in_the_diff_and_are_the_first_divergence(tmp_path):
    """The `late` mutant returns some events on their ticker's next call, content and tick_seq
    unchanged: the diff marks exactly the held ones `late`, the first divergence reaches them
    (class 'late' when nothing else differs earlier)."""
    mutant = {"mutant": {"defect": "late", "inner": FAKE, "rate": 0.05}}
    r = run_shadow(
        make_ticks(3000), FAKE, "harness.replay.mutants:mutant", candidate_config=mutant,
        root=tmp_path,
    )  # fmt: skip
    run = open_run(r.path)
    injected = run.json("stack_stats.json")["candidate"]["mutant"]["injected"]
    late = run.sql("select count(*) filter (where late) from diff").fetchone()[0]
    assert injected > 0 and late == injected
    seq, klass = run.sql(
        "select tick_seq, if(class = 'match', 'late', class) from diff "
        "where class <> 'match' or late order by tick_seq, coalesce(primary_pos, candidate_pos) "
        "limit 1"
    ).fetchone()
    fd = run.json("first_divergence.json")
    assert (fd["seq"], fd["class"]) == (seq, klass)
    assert any(d["class"] == klass for d in fd["differences"])
