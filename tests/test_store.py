"""The run store and catalog: atomic run directories, effective status, run ids, DuckDB views."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from tickgen import make_ticks

from harness.core.errors import StoreError
from harness.pipeline.shadow import run_shadow
from harness.recordings.reader import RecordingWriter
from harness.store.catalog import open_catalog, run_rows
from harness.store.runs import RunWriter, effective_status, open_run, validate_run_id

FAKE = "harness.replay.stack:fake"


@pytest.mark.parametrize("bad", ["../x", "a/b", "", ".hidden", "x..y", "a\\b"])
def test_unsafe_run_ids_are_rejected(bad):
    with pytest.raises(StoreError):
        validate_run_id(bad)


def test_a_running_manifest_with_a_dead_pid_or_stale_heartbeat_shows_as_incomplete():
    import socket

    base = {
        "status": "running",
        "host": socket.gethostname(),
        "heartbeat": "2020-01-01T00:00:00.000000Z",
    }
    assert effective_status({**base, "pid": os.getpid()}) == "incomplete"  # stale heartbeat
    fresh = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    assert effective_status({**base, "pid": os.getpid(), "heartbeat": fresh}) == "running"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert effective_status({**base, "pid": dead.pid, "heartbeat": fresh}) == "incomplete"
    assert effective_status({"status": "complete"}) == "complete"


def test_run_writer_refuses_to_reuse_a_run_directory(tmp_path):
    w = RunWriter(tmp_path, {"x": 1}, run_id="r1")
    w.finish("complete")
    with pytest.raises(StoreError, match="already exists"):
        RunWriter(tmp_path, {"x": 1}, run_id="r1")
    assert json.loads((tmp_path / "r1" / "manifest.json").read_text())["status"] == "complete"
    assert not [p for p in (tmp_path / "r1").iterdir() if p.name.endswith(".tmp")]


def test_catalog_views_span_every_run(tmp_path):
    a = run_shadow(make_ticks(300), FAKE, None, root=tmp_path)
    b = run_shadow(make_ticks(500), FAKE, FAKE, candidate_config={"drop_rate": 0.2}, root=tmp_path)
    con = open_catalog(tmp_path)
    rows = dict(con.execute("select run_id, ticks from runs").fetchall())
    assert rows == {a.run_id: 300, b.run_id: 500}
    obs = dict(con.execute("select run_id, count(*) from observations group by 1").fetchall())
    assert obs == {a.run_id: 300, b.run_id: 500}
    missing = con.execute(
        "select count(*) from diff where run_id = ? and class = 'missing'", [b.run_id]
    ).fetchone()[0]
    assert missing == b.summary["diff"]["missing"] > 0
    stacks = {s for (s,) in con.execute("select distinct stack from events").fetchall()}
    assert stacks == {"primary", "candidate"}
    assert [r["run_id"] for r in run_rows(tmp_path)] == [b.run_id, a.run_id]  # newest first


def test_a_run_killed_with_sigkill_is_listed_as_incomplete(tmp_path):
    rec = tmp_path / "rec"
    with RecordingWriter(rec, name="killme", source="synthetic") as w:
        w.write_ticks(make_ticks(20000))
    runs = tmp_path / "runs"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness",
            "replay",
            str(rec),
            "--primary",
            FAKE,
            "--candidate",
            FAKE,
            "--set",
            "candidate.work_us=400",
            "--runs-dir",
            str(runs),
            "--no-progress",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not list(runs.glob("*/manifest.json")):
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    (row,) = run_rows(runs)
    assert row["recorded_status"] == "running"
    assert row["status"] == "incomplete"
    out = subprocess.run(
        [sys.executable, "-m", "harness", "runs", "--runs-dir", str(runs)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "incomplete" in out and "complete " not in out.replace("incomplete", "")
    assert open_run(row["path"]).status == "incomplete"
