"""The real stacks on the committed sample day: A/A is a perfect match, the issue's command works.

Kept to the first ticks of the day so the suite stays fast (the stacks take ~1 ms per tick).
"""

import json
from pathlib import Path

from click.testing import CliRunner

from harness.cli import cli
from harness.store.runs import open_run

SAMPLE = Path(__file__).resolve().parent.parent / "recordings" / "sample-day"


def _replay(tmp_path, *args):
    res = CliRunner().invoke(
        cli,
        ["replay", str(SAMPLE), "--runs-dir", str(tmp_path), "--json", *args],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_a_a_of_the_legacy_stack_on_the_sample_day_matches_every_event(tmp_path):
    s = _replay(tmp_path, "--primary", "tickstock.stacks:legacy", "--aa", "--limit", "2000")
    assert s["status"] == "complete" and s["ticks"] == 2000
    n = sum(s["events"]["primary"].values())
    assert n > 0 and s["events"]["primary"] == s["events"]["candidate"]
    assert s["diff"]["match"] == n and s["match_rate"] == 1.0
    assert s["event_hash"]["primary"] == s["event_hash"]["candidate"]
    assert s["first_divergence"] is None


def test_the_issue_command_writes_a_complete_run_directory(tmp_path):
    s = _replay(
        tmp_path,
        "--primary",
        "tickstock.stacks:legacy",
        "--candidate",
        "tickstock.stacks:multichannel",
        "--set",
        "candidate.phase=phase_1_parallel_testing",
        "--limit",
        "1000",
    )
    assert s["status"] == "complete" and s["audit_ok"] is True
    run = open_run(s["path"])
    assert run.manifest["candidate"]["config"] == {"phase": "phase_1_parallel_testing"}
    assert run.manifest["recording"]["name"] == "sample-day"
    for name in ("diff.parquet", "summary.json", "stack_stats.json", "first_divergence.json"):
        assert (run.path / name).exists()
    assert run.sql("select count(*) from observations").fetchone()[0] == 1000
    stats = run.json("stack_stats.json")
    assert set(stats) >= {"primary", "candidate"}
