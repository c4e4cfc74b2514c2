"""`harness shrink RUN` on a seeded defect: a recording of a few ticks that, replayed through the
run's own stacks and configs, shows the same first divergence (ticker, class, type, fields)."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.pipeline.shrink import Divergence, _ddmin
from harness.recordings.reader import open_recording, validate_recording

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DAY = ROOT / "recordings" / "sample-day"
# a defect that needs history to show: trends (a window of prices) dropped at midday
DROP_MIDDAY_TRENDS = [
    "--primary", "tickstock.stacks:legacy",
    "--candidate", "harness.replay.mutants:mutant",
    "--set", "candidate.mutant.defect=drop",
    "--set", "candidate.mutant.inner=tickstock.stacks:legacy",
    "--set", "candidate.mutant.rate=0.05",
    "--set", "candidate.mutant.type=trend",
    "--set", "candidate.mutant.period=MIDDAY",
]  # fmt: skip


def _cli(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def defect_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("shrink") / "runs"
    res = _cli(
        "replay", SAMPLE_DAY, *DROP_MIDDAY_TRENDS, "--tickers", "SMCI,NVDA,AAPL,SOFI",
        "--runs-dir", runs, "--json",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    return Path(json.loads(res.stdout)["path"])


def test_a_seeded_defect_shrinks_to_a_recording_that_reproduces_it(defect_run, tmp_path):
    target = Divergence.of_run(defect_run)
    assert target is not None and target.cls == "missing" and target.type == "trend"
    out = tmp_path / "shrunk"
    res = _cli("shrink", defect_run, "--out", out, "--runs-dir", defect_run.parent)
    assert res.exit_code == 0, res.output
    assert f"{target} at seq" in res.output
    assert validate_recording(out) == []
    rec = open_recording(out)
    original = open_recording(SAMPLE_DAY).tick_count
    assert rec.tick_count <= original // 100  # <= 1 % of the day
    assert rec.manifest["tickers"] == [target.ticker] or target.ticker in rec.manifest["tickers"]
    notes = rec.manifest["notes"]
    assert notes["divergence"]["ticker"] == target.ticker
    assert notes["shrunk_from"]["run"] == defect_run.name and notes["trials"] >= 2
    assert notes["cut"][0].startswith(f"{target.ticker}'s ticks up to the divergent tick")
    # the printed command reproduces the same divergence on the small recording
    line = next(ln for ln in res.output.splitlines() if ln.startswith("reproduce: "))
    argv = line.split()[2:]  # after "reproduce: harness"
    again = _cli(*argv, "--runs-dir", tmp_path / "again", "--json")
    assert again.exit_code == 0, again.output
    assert Divergence.of_run(Path(json.loads(again.stdout)["path"])) == target
    # and every tick kept is an original tick, with its seq and time
    kept = rec.table().to_pylist()
    day = open_recording(SAMPLE_DAY).table(tickers=[target.ticker]).to_pylist()
    by_seq = {t["seq"]: t for t in day}
    assert all(by_seq[t["seq"]] == t for t in kept)


def test_ddmin_finds_the_one_minimal_subset():
    need = {3, 42, 77}
    calls = []

    def keep(rows):
        calls.append(len(rows))
        return need <= set(rows.tolist())

    rows, complete = _ddmin(np.arange(100), keep, deadline=float("inf"))
    assert sorted(rows.tolist()) == [3, 42, 77] and complete
    assert len(calls) < 200


def test_a_run_without_divergence_cannot_be_shrunk(tmp_path):
    runs = tmp_path / "runs"
    res = _cli("replay", SAMPLE_DAY, "--limit", 500, "--runs-dir", runs, "--json")
    run = json.loads(res.stdout)["path"]
    res = CliRunner().invoke(cli, ["shrink", run, "--out", str(tmp_path / "x")])
    assert res.exit_code == 5 and "has no divergence to shrink to" in res.output
