"""The report is one self-contained HTML file plus markdown, with verdicts, figures and divergences."""

import json

from click.testing import CliRunner
from readiness_fixtures import make_run

from harness.cli import cli
from harness.report import build_report

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
    assert "| latency_ratio_ci_upper |" in md and "First divergence: seq 0" in md
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
