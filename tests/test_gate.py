"""Gates catch seeded defects, pass A/A, never pass missing data, and cannot write."""

import json
import xml.etree.ElementTree as ET

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from readiness_fixtures import make_run

from harness.cli import cli
from harness.core.errors import GateError, StoreError
from harness.gates import engine as gate_mod
from harness.gates.bootstrap import CONCURRENT_MARGIN
from harness.gates.engine import PHASES, Status, Verdict, evaluate, gate_run
from harness.gates.evidence import open_evidence
from harness.gates.verdict import junit_xml, verdict_document

ROLLOUT = {"rollout_tickers": ["LOWV"], "integration_metrics": {"integration_enabled": False}}


def _verdicts(run):
    ev = open_evidence(run)
    try:
        return {p: evaluate(ev, p) for p in PHASES}
    finally:
        ev.close()


def _status(result, check):
    return next(c.status for c in result.checks if c.check == check)


def test_aa_run_passes_phases_zero_and_one(tmp_path):
    r = _verdicts(make_run(tmp_path))
    assert r["phase_0_installation"].verdict is Verdict.PASS
    assert r["phase_1_parallel_testing"].verdict is Verdict.PASS


def test_aa_run_with_rollout_tickers_passes_phase_two(tmp_path):
    r = _verdicts(make_run(tmp_path, stack_stats=ROLLOUT))
    assert r["phase_2_limited_rollout"].verdict is Verdict.PASS
    assert _status(r["phase_0_installation"], "integration_flags_off") is Status.PASS


def test_aa_run_cannot_prove_improvement_so_phase_four_does_not_pass(tmp_path):
    r = _verdicts(make_run(tmp_path))
    assert r["phase_3_gradual_expansion"].verdict is not Verdict.PASS
    assert r["phase_4_full_rollout"].verdict is not Verdict.PASS
    assert _status(r["phase_3_gradual_expansion"], "latency_ratio_ci_upper") is Status.INCONCLUSIVE


def test_two_times_slower_candidate_fails_every_latency_phase(tmp_path):
    r = _verdicts(make_run(tmp_path, slow=2.0, stack_stats=ROLLOUT))
    for phase in (
        "phase_0_installation",
        "phase_1_parallel_testing",
        "phase_3_gradual_expansion",
        "phase_4_full_rollout",
    ):
        assert r[phase].verdict is Verdict.FAIL, phase
        assert _status(r[phase], "latency_ratio_ci_upper") is Status.FAIL
    assert (
        r["phase_2_limited_rollout"].verdict is Verdict.PASS
    )  # the seed's phase 2 has no latency criterion


def test_dropped_events_fail_every_phase(tmp_path):
    r = _verdicts(make_run(tmp_path, missing=3, missing_ticker="LOWV", stack_stats=ROLLOUT))
    for phase in PHASES:
        assert r[phase].verdict is Verdict.FAIL, phase
    assert _status(r["phase_1_parallel_testing"], "missing_events") is Status.FAIL
    assert _status(r["phase_2_limited_rollout"], "rollout_missing_events") is Status.FAIL
    assert _status(r["phase_0_installation"], "fallback_trigger_event_loss") is Status.FAIL


def test_shifted_prices_and_extra_events_fail_the_event_checks(tmp_path):
    r = _verdicts(make_run(tmp_path, "shift", shifted=4, stack_stats=ROLLOUT))
    assert _status(r["phase_0_installation"], "event_match_percent") is Status.FAIL
    assert r["phase_1_parallel_testing"].verdict is Verdict.FAIL
    r = _verdicts(make_run(tmp_path, "extra", extra=2, stack_stats=ROLLOUT))
    assert (
        _status(r["phase_2_limited_rollout"], "rollout_extra_events") is Status.PASS
    )  # extras on AAPL
    assert _status(r["phase_2_limited_rollout"], "unexplained_differences") is Status.FAIL
    assert r["phase_2_limited_rollout"].verdict is Verdict.FAIL


def test_candidate_raising_on_some_ticks_fails_error_criteria(tmp_path):
    r = _verdicts(make_run(tmp_path, error_every=51, stack_stats=ROLLOUT))  # 2 % errors
    assert _status(r["phase_0_installation"], "errors") is Status.FAIL
    assert _status(r["phase_2_limited_rollout"], "rollout_error_rate") is Status.FAIL
    assert r["phase_1_parallel_testing"].verdict is Verdict.PASS  # 98 % success ≥ 95 %
    r = _verdicts(make_run(tmp_path, "many", error_every=5))  # 20 % errors
    assert r["phase_1_parallel_testing"].verdict is Verdict.FAIL
    assert _status(r["phase_1_parallel_testing"], "dashboard_recommendation") is Status.FAIL


def test_empty_run_is_never_a_pass(tmp_path):
    run = make_run(tmp_path, ticks=0)
    for phase, res in _verdicts(run).items():
        assert res.verdict is Verdict.INCONCLUSIVE, phase
        assert res.exit_code == 4
        assert _status(res, "run_complete") is Status.NODATA


def test_partial_run_is_never_a_pass(tmp_path):
    r = _verdicts(make_run(tmp_path, status="incomplete", audit_ok=False))
    assert r["phase_1_parallel_testing"].verdict is Verdict.INCONCLUSIVE
    assert "audit ok false" in r["phase_1_parallel_testing"].reasons[0]


def test_run_without_events_is_inconclusive(tmp_path):
    r = _verdicts(make_run(tmp_path, event_every=0, ticks=100))
    r0 = r["phase_0_installation"]
    assert _status(r0, "event_match_percent") is Status.NODATA
    assert r0.verdict is Verdict.INCONCLUSIVE


def test_phase_two_without_rollout_tickers_is_nodata(tmp_path):
    r = _verdicts(make_run(tmp_path, stack_stats={"rollout_tickers": ["ZZZZ"]}))
    res = r["phase_2_limited_rollout"]
    assert _status(res, "rollout_tickers_observed") is Status.NODATA
    assert res.verdict is Verdict.INCONCLUSIVE
    assert "0 of 1 rollout tickers" in res.reasons[0]


def test_reported_critical_alert_and_fallback_incident_fail(tmp_path):
    stats = {
        "alerts": [{"name": "channel_latency", "severity": "critical"}],
        "fallback_incidents": 1,
    }
    res = _verdicts(make_run(tmp_path, stack_stats=stats))["phase_1_parallel_testing"]
    assert _status(res, "reported_critical_alerts") is Status.FAIL
    assert _status(res, "reported_fallback_incidents") is Status.FAIL


def test_unknown_phase_is_a_clear_error(tmp_path):
    with pytest.raises(GateError, match="unknown phase 'phase_9'.*phase_0_installation"):
        gate_run(make_run(tmp_path), ("phase_9",))


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE x AS SELECT 1",
        "COPY (SELECT 1) TO 'x.csv'",
        "SELECT 1; DROP TABLE stats",
        "INSERT INTO stats VALUES ('a','b',1,1,1,'c')",
    ],
    ids=["create", "copy", "two-statements", "insert"],
)
def test_gate_sql_that_writes_is_rejected(tmp_path, sql):
    ev = open_evidence(make_run(tmp_path))
    with pytest.raises(GateError, match="read-only|exactly one SELECT"):
        evaluate(ev, "phase_1_parallel_testing", sql=sql)


def test_gate_sql_cannot_read_outside_the_run(tmp_path):
    (tmp_path / "secret.csv").write_text("a\n1\n")
    ev = open_evidence(make_run(tmp_path))
    sql = f"SELECT 'x' AS check, 1.0 AS observed, '' AS threshold, 'PASS' AS status, a::VARCHAR AS reason FROM read_csv('{tmp_path}/secret.csv')"
    with pytest.raises(GateError, match="gate SQL failed"):
        evaluate(ev, "phase_1_parallel_testing", sql=sql)


def test_gate_sql_with_wrong_columns_or_status_is_an_error(tmp_path):
    ev = open_evidence(make_run(tmp_path))
    with pytest.raises(GateError, match="must return columns"):
        evaluate(ev, "phase_1_parallel_testing", sql="SELECT 1 AS x")
    with pytest.raises(GateError, match="unknown status 'OK'"):
        evaluate(
            ev,
            "phase_1_parallel_testing",
            sql="SELECT 'c' AS check, 1.0 AS observed, 't' AS threshold, 'OK' AS status, 'r' AS reason",
        )


def test_verdict_json_and_junit_carry_every_check(tmp_path):
    run = make_run(tmp_path, slow=2.0)
    ev, results = gate_run(run, ("phase_1_parallel_testing",))
    doc = verdict_document(results)
    assert doc["verdict"] == "fail" and doc["phase"] == "phase_1_parallel_testing"
    assert doc["recommendation"].startswith("stop:")
    assert {"run", "phase", "verdict", "checks", "recommendation"} <= set(doc)
    suite = ET.fromstring(junit_xml(results)).find("testsuite")
    assert suite is not None and int(suite.get("tests")) == len(results[0].checks)
    failed = [c["check"] for c in doc["checks"] if c["status"] == "FAIL"]
    # 2x slower on every tick: the median and the mean ratio both fail, nothing else
    assert failed == ["latency_ratio_ci_upper", "latency_mean_ratio_ci_upper"], failed
    assert suite.get("failures") == "2"


def test_cli_gate_prints_table_writes_artefacts_and_exits_with_verdict(tmp_path):
    run = make_run(tmp_path, slow=2.0)
    res = CliRunner().invoke(cli, ["gate", str(run), "--phase", "phase_1_parallel_testing"])
    assert res.exit_code == 3, res.output
    assert "latency_ratio_ci_upper" in res.output and "FAIL" in res.output
    assert json.loads((run / "verdict.json").read_text())["verdict"] == "fail"
    assert (run / "junit.xml").is_file()
    ok = make_run(tmp_path, "aa")
    assert (
        CliRunner().invoke(cli, ["gate", str(ok), "--phase", "phase_0_installation"]).exit_code == 0
    )
    assert CliRunner().invoke(cli, ["gate", str(ok), "--all"]).exit_code == 3  # phase 4 win rate


def test_cli_gate_errors_are_exit_five(tmp_path):
    run = make_run(tmp_path)
    res = CliRunner().invoke(cli, ["gate", str(run), "--phase", "nope"])
    assert res.exit_code == 5 and "unknown phase" in res.output
    assert (
        CliRunner().invoke(cli, ["gate", "../etc", "--phase", "phase_0_installation"]).exit_code
        == 5
    )
    with pytest.raises(StoreError):
        open_evidence(tmp_path)


def test_scan_heavy_setup_views_become_tables_with_the_same_rows(tmp_path):
    run = make_run(tmp_path, missing=2, missing_ticker="LOWV", stack_stats=ROLLOUT)
    plain, fast = open_evidence(run), open_evidence(run)
    try:
        for statement in plain.con.extract_statements(gate_mod._gate_text("_setup")):
            plain.con.execute(statement.query)  # the views as written, never materialised
        gate_mod.prepare(fast)
        tables = {
            r[0] for r in fast.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        }
        assert set(gate_mod.MATERIALISED_VIEWS) <= tables
        for name in gate_mod.MATERIALISED_VIEWS:
            got = fast.con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall()
            want = plain.con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall()
            assert got == want and got
        result = evaluate(fast, "phase_2_limited_rollout")
        assert _status(result, "rollout_missing_events") is Status.FAIL
    finally:
        plain.close()
        fast.close()


def test_memory_growth_fails_a_leaking_candidate_in_the_stability_phases(tmp_path):
    leaky = _verdicts(make_run(tmp_path / "a", leak_bytes=2048))
    for phase in ("phase_0_installation", "phase_4_full_rollout"):
        check = next(c for c in leaky[phase].checks if c.check == "memory_growth")
        assert check.status is Status.FAIL and leaky[phase].verdict is Verdict.FAIL
        assert 1900 < check.observed < 2200 and "a leak" in check.reason
    fine = _verdicts(make_run(tmp_path / "b", leak_bytes=100))  # < 256 B/tick: not a leak
    assert _status(fine["phase_0_installation"], "memory_growth") is Status.PASS
    assert "memory_growth" not in {c.check for c in fine["phase_1_parallel_testing"].checks}


def test_run_without_memory_probes_cannot_pass_the_stability_phases(tmp_path):
    run = make_run(tmp_path)
    part = run / "observations" / "part-00000.parquet"
    t = pq.read_table(part)
    pq.write_table(t.drop(["primary_held_bytes", "candidate_held_bytes"]), part)  # an older run
    r = _verdicts(run)
    assert _status(r["phase_0_installation"], "memory_growth") is Status.NODATA
    assert r["phase_0_installation"].verdict is Verdict.INCONCLUSIVE
    assert r["phase_1_parallel_testing"].verdict is Verdict.PASS


def test_memory_growth_sees_a_leak_through_other_threads_outliers(tmp_path):
    """A Dask worker's own threads allocate inside probes too: big outliers either way. The
    median's bound still sees a steady 2 KB/tick leak, and A/A stays a pass."""
    import numpy as np
    import pyarrow as pa

    for leak, expected in ((2048, Status.FAIL), (0, Status.PASS)):
        run = make_run(tmp_path / str(leak), leak_bytes=leak)
        part = run / "observations" / "part-00000.parquet"
        t = pq.read_table(part)
        c = t.column("candidate_held_bytes").to_numpy(zero_copy_only=False)
        rng = np.random.default_rng(4)
        probed = np.flatnonzero(~np.isnan(c))
        hit = rng.choice(probed, size=len(probed) // 5, replace=False)
        c[hit] += rng.choice([-1, 1], size=len(hit)) * rng.uniform(5e4, 5e5, size=len(hit))
        col = pa.array(np.nan_to_num(c).astype(np.int64), pa.int64(), mask=np.isnan(c))
        i = t.schema.get_field_index("candidate_held_bytes")
        pq.write_table(t.set_column(i, "candidate_held_bytes", col), part)
        r = _verdicts(run)
        assert _status(r["phase_0_installation"], "memory_growth") is expected, leak


def _latency(run, phase="phase_1_parallel_testing"):
    ev = open_evidence(run)
    try:
        return next(c for c in evaluate(ev, phase).checks if c.check == "latency_ratio_ci_upper")
    finally:
        ev.close()


def test_a_concurrent_run_passes_a_latency_bar_only_with_the_margin_to_spare(tmp_path):
    """The same timings judged as an interleaved and as a concurrent run: 3.5 % slower is within
    phase 1's 1.05 bar, but not once a concurrent run's CI is widened by CONCURRENT_MARGIN, so
    only the interleaved run PASSes;
    no slowdown PASSes both; a concurrent run too short to bound its ratio is not decided."""
    for sides in (None, "concurrent"):
        close = make_run(tmp_path / f"close-{sides}", ticks=30_000, slow=1.035, sides=sides)
        even = make_run(tmp_path / f"even-{sides}", ticks=30_000, sides=sides)
        lat_close, lat_even = _latency(close), _latency(even)
        assert lat_even.status is Status.PASS
        if sides is None:
            assert lat_close.status is Status.PASS and "margin" not in lat_close.reason
        else:
            assert lat_close.status is Status.INCONCLUSIVE
            assert "CI straddles the threshold" in lat_close.reason
            assert "CI over 30 swap cycles, widened by 0.03 on both sides" in lat_close.reason
            ev = open_evidence(close)
            iv = ev.latency.ratio_median
            ev.close()
            # the cycle bootstrap alone is within the bar; the margin is what keeps it out
            assert iv.high > 1.05 > iv.high - CONCURRENT_MARGIN
            assert (
                iv.point - iv.low >= CONCURRENT_MARGIN and iv.high - iv.point >= CONCURRENT_MARGIN
            )
    short = _latency(make_run(tmp_path / "short", ticks=5_000, sides="concurrent"))
    assert short.status is Status.INCONCLUSIVE and "holds 5 swap cycles, too few" in short.reason


def test_a_concurrent_run_fails_a_latency_bar_only_beyond_the_margin(tmp_path):
    """17 % slower: the interleaved run's CI is wholly beyond 1.05 + the default 0.10 noise floor,
    so it FAILs; the concurrent run's CI, widened by the margin, is not, so it is not decided."""
    plain = _latency(make_run(tmp_path / "plain", ticks=30_000, slow=1.17))
    split = _latency(make_run(tmp_path / "split", ticks=30_000, slow=1.17, sides="concurrent"))
    assert plain.status is Status.FAIL and "noise floor 0.100 (default" in plain.reason
    assert split.status is Status.INCONCLUSIVE
    assert "beyond threshold but within the noise floor" in split.reason
    assert "widened by 0.03 on both sides" in split.reason
    low = float(split.reason.split("CI [")[1].split(",")[0])
    assert low <= 1.15 < low + CONCURRENT_MARGIN  # the margin alone keeps it from FAILing
    clear = _latency(make_run(tmp_path / "clear", ticks=30_000, slow=1.3, sides="concurrent"))
    assert clear.status is Status.FAIL


def test_the_failures_are_computed_once_per_evidence_and_not_shared(tmp_path):
    run = make_run(tmp_path, error_every=51, stack_stats=ROLLOUT)
    ev = open_evidence(run)
    try:
        first = ev.failures()
        assert first["candidate"]["errors"] > 0 and first["primary"]["errors"] == 0
        ev.con.execute("CREATE OR REPLACE TEMP VIEW observations AS SELECT 1 AS nothing")
        again = ev.failures()  # no new scan: the view above would make one fail
        assert again == first
        again["candidate"]["errors"] = -1  # a caller editing its copy changes no one else's
        assert ev.failures() == first
    finally:
        ev.close()


def test_memory_probed_ticks_are_not_latency(tmp_path):
    """The tracer slows a probed call by how much the stack allocates: a candidate as fast as the
    primary but slowed 20× under the probe (1 tick in 64) must still pass on latency, with its
    win rate and mean unmoved; the same rows unmarked (a run written before the mark existed)
    show what the mark keeps out."""
    fast = make_run(tmp_path, "20260101T000000Z-bbbbbbb", probe_cost=20.0)
    ev = open_evidence(fast)
    try:
        assert ev.latency.ratio_mean.high < 1.05
        assert ev.latency.n == 2_000 - sum(1 for s in range(2_000) if s % 64 == 33)
        assert 40 < ev.figures.win_rate_percent < 60
    finally:
        ev.close()
    assert _latency(fast).status is Status.PASS
    part = fast / "observations" / "part-00000.parquet"
    pq.write_table(pq.read_table(part).drop(["memory_probed"]), part)
    ev = open_evidence(fast)
    try:
        assert ev.latency.ratio_mean.point > 1.2  # 20× on 1/64 of the ticks: ≈ +30 % mean
        assert ev.latency.n == 2_000
    finally:
        ev.close()


def test_summary_latency_leaves_memory_probed_ticks_out_and_reads_older_runs(tmp_path):
    """summary.json's p99/mean: 1 tick in 64 is 1.6 % of them, so a 20× probe cost lands right
    on the p99. A run without the `memory_probed` column (older) still summarises, rows unmarked."""
    from harness.diff.summary import latency
    from harness.store.runs import Run

    run = make_run(tmp_path, probe_cost=20.0)
    lat = latency(Run(run).con)
    p, c = lat["primary"], lat["candidate"]
    assert 0.9 < c["p99_us"] / p["p99_us"] < 1.1
    assert 0.95 < c["mean_us"] / p["mean_us"] < 1.05
    assert c["calls"] == 2_000  # every successful call is counted, probed or not
    part = run / "observations" / "part-00000.parquet"
    pq.write_table(pq.read_table(part).drop(["memory_probed"]), part)
    old = latency(Run(run).con)
    assert old["candidate"]["p99_us"] / old["primary"]["p99_us"] > 3


def test_late_delivery_fails_every_phase_and_an_older_diff_cannot_pass_it(tmp_path):
    """Three paired events equal in content and tick_seq but returned on a later call: the diff
    calls them matches, `late_events` does not. A diff written before delivery was compared
    (no `late` column) says NODATA, so it cannot pass."""
    run = make_run(tmp_path, late=3)
    results = _verdicts(run)
    for phase, result in results.items():
        check = next(c for c in result.checks if c.check == "late_events")
        assert check.status is Status.FAIL and check.observed == 3, (phase, check.reason)
        assert "3 of " in check.reason and "delivered late" in check.reason
        assert result.verdict is Verdict.FAIL
    on_time = _verdicts(make_run(tmp_path / "on-time"))
    assert all(_status(r, "late_events") is Status.PASS for r in on_time.values())
    part = run / "diff.parquet"
    pq.write_table(pq.read_table(part).drop(["late"]), part)
    older = _verdicts(run)
    assert all(_status(r, "late_events") is Status.NODATA for r in older.values())


def _with_event_ids(run, primary_ids, candidate_ids):
    """Rewrite the run's event texts to carry these event_ids (None: no event_id key)."""
    import pyarrow as pa

    for side, ids in (("primary", primary_ids), ("candidate", candidate_ids)):
        path = run / f"events_{side}.parquet"
        table = pq.read_table(path)
        texts = [json.dumps({} if i is None else {"event_id": i}) for i in ids(table.num_rows)]
        col = table.schema.get_field_index("event_json")
        pq.write_table(table.set_column(col, "event_json", pa.array(texts, pa.string())), path)


@pytest.mark.parametrize(
    "primary_ids, candidate_ids, expected",
    [
        (lambda n: [f"p{i}" for i in range(n)], lambda n: [f"c{i}" for i in range(n)], (Status.PASS, 0)),
        # ids that collide: 3 events share one id each with the one before them
        (lambda n: [f"p{i}" for i in range(n)], lambda n: [f"c{i - (i in (5, 9, 11))}" for i in range(n)], (Status.FAIL, 3)),
        # ids that go missing
        (lambda n: [f"p{i}" for i in range(n)], lambda n: [None if i < 2 else f"c{i}" for i in range(n)], (Status.FAIL, 2)),
        # the primary's ids repeat (or there are none): no identifier, no check
        (lambda n: ["same"] * n, lambda n: ["same"] * n, None),
        (lambda n: [None] * n, lambda n: [None] * n, None),
    ],
)  # fmt: skip
def test_event_ids_must_stay_identifiers_where_the_primarys_are(
    tmp_path, primary_ids, candidate_ids, expected
):
    run = make_run(tmp_path)
    _with_event_ids(run, primary_ids, candidate_ids)
    ev, results = gate_run(run, ("phase_1_parallel_testing",))
    ev.close()
    checks = {c.check: c for c in results[0].checks}
    if expected is None:
        assert "event_ids_unique" not in checks
    else:
        assert (checks["event_ids_unique"].status, checks["event_ids_unique"].observed) == expected


def test_the_rules_document_is_computed_once_per_evidence_and_not_shared(tmp_path):
    # `gate --report` writes verdict.json and the report from one evidence: one diff scan
    ev = open_evidence(make_run(tmp_path, missing=3))
    try:
        first = ev.rules_document()
        assert first["unexplained_rows"] == 3
        ev.con.execute("CREATE OR REPLACE TEMP VIEW diff AS SELECT 1 AS nothing")
        again = ev.rules_document()  # no new scan: the view above would make one fail
        assert again == first
        again["unexplained_rows"] = -1  # a caller editing its copy changes no one else's
        assert ev.rules_document() == first
    finally:
        ev.close()
