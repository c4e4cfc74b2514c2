"""`harness replay`, `harness diff` and `harness runs` end to end on a small recording."""

import json

import pytest
from click.testing import CliRunner
from tickgen import make_ticks

from harness.cli import cli
from harness.recordings.reader import RecordingWriter
from harness.store.runs import open_run

FAKE = "harness.replay.stack:fake"


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("rec") / "day"
    with RecordingWriter(path, name="tiny-day", source="synthetic") as w:
        w.write_ticks(make_ticks(3000))
    return path


def _replay(recording, runs, *args):
    res = CliRunner().invoke(
        cli,
        ["replay", str(recording), "--primary", FAKE, "--runs-dir", str(runs), *args],
        catch_exceptions=False,
    )
    return res


def test_replay_prints_the_summary_and_writes_a_complete_run_directory(recording, tmp_path):
    res = _replay(
        recording,
        tmp_path,
        "--candidate",
        FAKE,
        "--set",
        "candidate.drop_rate=0.05",
        "--set",
        "candidate.seed=3",
        "--seed",
        "4",
    )
    assert res.exit_code == 0, res.output
    assert "status complete" in res.output and "recording tiny-day" in res.output
    assert "missing" in res.output and "first divergence: seq" in res.output
    (run_dir,) = tmp_path.iterdir()
    for name in (
        "manifest.json",
        "diff.parquet",
        "summary.json",
        "stack_stats.json",
        "first_divergence.json",
    ):
        assert (run_dir / name).exists(), name
    run = open_run(run_dir)
    m = run.manifest
    assert m["status"] == "complete" and m["seed"] == 4 and m["mode"] == "afap"
    assert m["candidate"] == {"factory": FAKE, "config": {"drop_rate": 0.05, "seed": 3}}
    assert m["recording"]["name"] == "tiny-day" and len(m["recording"]["sha256"]) == 64
    assert m["audit"]["read"] == m["audit"]["expected"] == 3000 and m["audit"]["ok"]
    fd = run.json("first_divergence.json")
    assert fd["ticks"] and all(t["ticker"] == fd["ticker"] for t in fd["ticks"])


def test_replay_json_filters_and_a_a_mode(recording, tmp_path):
    res = _replay(recording, tmp_path, "--aa", "--json", "--tickers", "T01,T02", "--limit", "500")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["ticks"] == 500
    assert summary["match_rate"] == 1.0
    assert summary["event_hash"]["primary"] == summary["event_hash"]["candidate"]
    run = open_run(summary["path"])
    assert run.sql("select distinct ticker from observations order by 1").fetchall() == [
        ("T01",),
        ("T02",),
    ]


def test_an_incomplete_replay_exits_with_code_5_after_printing_the_summary(recording, tmp_path):
    res = _replay(recording, tmp_path, "--candidate", FAKE, "--set", "candidate.skip_rate=0.01")
    assert res.exit_code == 5
    assert "status incomplete" in res.output
    assert "silently skipped" in res.output


def test_diff_re_diffs_a_stored_run_with_another_config(recording, tmp_path):
    res = _replay(
        recording,
        tmp_path,
        "--candidate",
        FAKE,
        "--set",
        "candidate.shift_price=0.01",
        "--set",
        "candidate.alter_rate=0.5",
        "--json",
    )
    before = json.loads(res.stdout)
    assert before["diff"]["field_mismatch"] > 0
    cfg = tmp_path / "loose.toml"
    cfg.write_text("[tolerance.fields]\nprice = { abs = 0.02 }\n")
    res = CliRunner().invoke(cli, ["diff", before["path"], "--config", str(cfg), "--json"])
    assert res.exit_code == 0, res.output
    after = json.loads(res.stdout)
    assert after["diff"]["field_mismatch"] == 0
    assert after["diff"]["match"] == before["diff"]["match"] + before["diff"]["field_mismatch"]


def test_runs_lists_status_ticks_and_match_rate(recording, tmp_path):
    _replay(recording, tmp_path, "--aa", "--limit", "300")
    res = CliRunner().invoke(cli, ["runs", "--runs-dir", str(tmp_path)])
    assert res.exit_code == 0
    line = res.output.splitlines()[1]
    assert "complete" in line and "tiny-day" in line and "300" in line and "100.00%" in line
    rows = json.loads(
        CliRunner().invoke(cli, ["runs", "--runs-dir", str(tmp_path), "--json"]).output
    )
    assert rows[0]["ticks"] == 300 and rows[0]["match_rate"] == 1.0


@pytest.mark.parametrize(
    "args,message",
    [
        (["--set", "phase=x"], "primary."),
        (["--mode", "fast"], "afap"),
        (["--inject", "boom=1"], "unknown key"),
        (["--primary", "nope"], "package.module"),
    ],
    ids=["set-without-side", "bad-mode", "bad-inject", "bad-stack-spec"],
)
def test_bad_options_are_one_line_errors_with_exit_code_5(recording, tmp_path, args, message):
    res = CliRunner().invoke(cli, ["replay", str(recording), "--runs-dir", str(tmp_path), *args])
    assert res.exit_code == 5
    assert message in res.output


def test_a_bad_stack_spec_leaves_no_run_directory(recording, tmp_path):
    res = CliRunner().invoke(
        cli,
        [
            "replay",
            str(recording),
            "--runs-dir",
            str(tmp_path),
            "--primary",
            "harness.replay.stack:nope",
        ],
    )
    assert res.exit_code == 5
    assert not tmp_path.exists() or not list(tmp_path.iterdir())
