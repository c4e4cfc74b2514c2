"""The report is one self-contained HTML file plus markdown, with verdicts, figures and divergences."""

import json

import pandas as pd
from click.testing import CliRunner
from readiness_fixtures import JOIN_MINUTES_SQL, make_run

from harness.cli import cli
from harness.gates.evidence import open_evidence
from harness.report import build as report_mod
from harness.report.build import build_report, differences, events_per_minute, ticker_table

REPORTED = {
    "integration_metrics": {
        "success_rate_percent": 99.5,
        "fallback_rate_percent": 0.5,
        "integration_enabled": True,
    },
    "comparison_analysis": {
        "channel_success_rate": 99.5,
        "channel_win_rate": 81.0,
        "avg_time_improvement_ms": 0.01,
    },
    "dashboard": {"recommendations": "RECOMMEND: Advance to next rollout phase"},
}


def test_report_is_self_contained_and_states_verdicts_and_both_figures(tmp_path):
    run = make_run(tmp_path, missing=2, slow=1.5, stack_stats=REPORTED)
    files = build_report(run)
    html = files.html.read_text()
    assert 'src="http' not in html and html.count("data:image/png;base64,") == 4
    for phase in ("phase_0_installation", "phase_4_full_rollout"):
        assert phase in html
    assert "FAIL" in html and "RECOMMEND: Advance to next rollout phase" in html  # reported
    assert "81" in html  # reported win rate next to the measured one
    assert "noise floor" in html.lower()
    md = files.markdown.read_text()
    assert "| latency_ratio_ci_upper |" in md and "First divergence: tick seq 0" in md
    assert {p.name for p in files.plots} == {
        "latency_cdf.png",
        "ticker_ratios.png",
        "events_per_minute.png",
        "mismatches.png",
    }
    assert all(p.stat().st_size > 1000 for p in files.plots)


def test_report_uses_first_divergence_json_when_the_diff_engine_wrote_it(tmp_path):
    run = make_run(tmp_path, missing=1)
    (run / "first_divergence.json").write_text(json.dumps({"seq": 4242, "window": []}))
    html = build_report(run).html.read_text()
    assert "4242" in html


def test_report_of_an_empty_run_still_renders_and_says_nodata(tmp_path):
    run = make_run(tmp_path, ticks=0)
    md = build_report(run).markdown.read_text()
    assert "NODATA" in md and "INCONCLUSIVE" in md


def test_cli_report_prints_the_path(tmp_path):
    run = make_run(tmp_path)
    res = CliRunner().invoke(cli, ["report", str(run)])
    assert res.exit_code == 0, res.output
    assert "report.html" in res.output and (run / "report.html").is_file()


def test_gate_with_report_writes_the_gates_verdict_and_the_report_from_one_measurement(tmp_path):
    # `gate --report` must judge exactly as `gate` does (same verdict.json, JUnit, exit code)
    # and write the report `report` writes; here for a failing run and two phases, in an order
    # that is not the report's
    run = make_run(tmp_path, missing=2, slow=1.5, stack_stats=REPORTED)
    phases = ["--phase", "phase_1_parallel_testing", "--phase", "phase_0_installation"]
    alone = CliRunner().invoke(cli, ["gate", str(run), *phases, "--json"])
    assert alone.exit_code == 3, alone.output
    verdict, junit = (run / "verdict.json").read_text(), (run / "junit.xml").read_text()
    (run / "verdict.json").write_text("{}")  # stale: must be replaced, never read
    both = CliRunner().invoke(cli, ["gate", str(run), *phases, "--json", "--report"])
    assert both.exit_code == 3, both.output
    assert (run / "verdict.json").read_text() == verdict
    assert (run / "junit.xml").read_text() == junit
    assert json.loads(both.stdout) == json.loads(alone.stdout)  # the report line is on stderr
    assert "report.html" in both.stderr
    html = (run / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4 and "phase_4_full_rollout" in html
    bad = CliRunner().invoke(cli, ["gate", str(run), "--phase", "phase_9", "--report"])
    assert bad.exit_code != 0 and "phase_9" in bad.output


_PERIOD_PER_ROW = """CASE WHEN strftime(timezone('America/New_York', ts), '%H:%M') < '04:00' THEN 'closed'
  WHEN strftime(timezone('America/New_York', ts), '%H:%M') < '09:30' THEN 'pre-market'
  WHEN strftime(timezone('America/New_York', ts), '%H:%M') < '16:00' THEN 'regular'
  WHEN strftime(timezone('America/New_York', ts), '%H:%M') < '20:00' THEN 'after-hours'
  ELSE 'closed' END"""


def test_time_breakdowns_equal_the_per_event_join_they_replace(tmp_path):
    run = make_run(tmp_path, ticks=3_000, missing=3, extra=2, shifted=4, event_every=3)
    ev = open_evidence(run)
    try:
        base = (
            "SELECT d.*, o.ts FROM diff d LEFT JOIN (SELECT seq, ts FROM observations) o "
            "ON o.seq = d.tick_seq WHERE d.class <> 'match'"
        )
        want_period = ev.con.execute(
            f"SELECT {_PERIOD_PER_ROW} AS period, count(*) FILTER (accepted_by IS NULL) AS "
            "unexplained, count(*) FILTER (accepted_by IS NOT NULL) AS accepted "
            f"FROM ({base}) GROUP BY period ORDER BY period"
        ).df()
        want_minutes = ev.con.execute(JOIN_MINUTES_SQL).df()
        got = differences(ev)
        pd.testing.assert_frame_equal(got["period"], want_period)
        assert got["class"]["unexplained"].sum() == 9
        pd.testing.assert_frame_equal(events_per_minute(ev), want_minutes)
        assert len(want_minutes) > 1
    finally:
        ev.close()


def test_per_ticker_table_samples_large_runs_with_the_seed_and_says_so(tmp_path, monkeypatch):
    run = make_run(tmp_path, ticks=2_000)
    ev = open_evidence(run)
    timed = 2_000 - 31  # the 31 memory-probed ticks (seq % 64 == 33) are not latency
    try:
        full, note = ticker_table(ev, seed=0)
        assert note == "per-ticker statistics on all 1,969 paired ticks"
        assert full["n"].sum() == timed and len(full) == 5
        monkeypatch.setattr(report_mod, "PER_TICKER_MAX_TICKS", 500)
        a, note = ticker_table(ev, seed=3)
        b, _ = ticker_table(ev, seed=3)
        c, _ = ticker_table(ev, seed=4)
        assert note == "per-ticker statistics on a seeded sample of 500 of 1,969 paired ticks"
        assert a["n"].sum() == 500
        pd.testing.assert_frame_equal(a, b)
        assert not a["primary_p50_ns"].equals(c["primary_p50_ns"])
    finally:
        ev.close()
