"""Live shadow sessions end to end on 127.0.0.1: feed → harness live → run directory + recording."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from _livedata import sample_ticks, write_recording
from click.testing import CliRunner

from harness.cli import cli
from harness.live.client import LiveConfig
from harness.live.feed_run import FeedThread
from harness.live.feed_server import Chaos, FeedConfig
from harness.live.session import LiveRequest, RecordOptions, public_url, run_live
from harness.pipeline.shadow import run_shadow
from harness.recordings.reader import check_recording, open_recording
from harness.replay.faults import FaultSpec
from harness.replay.outcome import RunOptions
from harness.replay.shadow import RunSpec
from harness.report.build import build_report

pytestmark = pytest.mark.timeout(120)

FAKE = "harness.replay.stack:fake"  # fast, deterministic; the round-trip test uses the real stacks
LEGACY = "tickstock.stacks:legacy"
MULTI = "tickstock.stacks:multichannel"
PHASE_1 = {"phase": "phase_1_parallel_testing"}


def _events(run_path: Path, side: str = "primary") -> list[tuple[int, str]]:
    table = pq.read_table(run_path / f"events_{side}", columns=["tick_seq", "event_json"])
    return sorted(
        zip(
            table.column("tick_seq").to_pylist(),
            table.column("event_json").to_pylist(),
            strict=True,
        )
    )


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    return write_recording(tmp_path / "original", sample_ticks(300))


def test_live_shadows_and_records_a_feed_that_replays_to_the_same_events(
    recording: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    with FeedThread(FeedConfig(recording, speed=None, key="feed-key-42")) as feed:
        result = run_live(
            LiveRequest(
                LiveConfig(feed.url, key="feed-key-42", duration_s=60),
                RunSpec.of(LEGACY, MULTI, candidate_config=PHASE_1),
                runs_dir=runs,
                record=RecordOptions(tmp_path / "live-rec", flush_ticks=100),
            )
        )
    assert result.run.status == "complete" and result.live.received == 300
    manifest = json.loads((result.run.path / "manifest.json").read_text())
    assert manifest["mode"] == "live" and manifest["live"]["gaps"] == []
    assert manifest["recording"]["sha256"] == open_recording(tmp_path / "live-rec").sha256
    check_recording(tmp_path / "live-rec")
    new = open_recording(tmp_path / "live-rec")
    assert new.tick_count == 300 and len(new.files()) == 3  # flushed every 100 ticks
    fields = [f for f in sample_ticks(1)[0]._fields if f not in ("recv_ts", "source")]
    originals = [tuple(getattr(t, f) for f in fields) for t in open_recording(recording).ticks()]
    assert [tuple(getattr(t, f) for f in fields) for t in new.ticks()] == originals

    replays = [
        run_shadow(rec.ticks(), LEGACY, MULTI, candidate_config=PHASE_1, root=runs).path
        for rec in (open_recording(recording), new)
    ]
    for side in ("primary", "candidate"):
        events = _events(replays[0], side)
        assert events == _events(replays[1], side) == _events(result.run.path, side)
    assert _events(replays[0])  # the legacy stack did emit events on these ticks

    for path in [*result.run.path.rglob("*"), *(tmp_path / "live-rec").rglob("*")]:
        if path.is_file():
            assert b"feed-key-42" not in path.read_bytes(), path


def test_a_disconnect_mid_stream_reconnects_and_the_gap_is_in_the_manifest(
    recording: Path, tmp_path: Path
) -> None:
    chaos = Chaos(drop_after=100)
    with FeedThread(
        FeedConfig(recording, speed=None, max_batch=20, client_queue=2, chaos=chaos)
    ) as feed:
        result = run_live(
            LiveRequest(
                LiveConfig(feed.url, duration_s=60, backoff_initial_s=0.05),
                RunSpec.of(FAKE),
                runs_dir=tmp_path,
            )
        )
    manifest = json.loads((result.run.path / "manifest.json").read_text())
    gaps = manifest["live"]["gaps"]
    assert result.run.status == "complete" and manifest["live"]["connects"] == 2 and len(gaps) == 1
    assert gaps[0]["last_seq"] >= 99 and gaps[0]["missed_exact"]
    assert result.live.received + gaps[0]["ticks_possibly_missed"] == 300
    assert manifest["audit"]["read"] == result.live.received
    report = build_report(result.run.path).markdown.read_text()
    gap_row = f"| {gaps[0]['start_ns']} |"
    assert (
        gap_row in report
        and str(gaps[0]["ticks_possibly_missed"]) in report.split(gap_row)[1].splitlines()[0]
    )


def test_malformed_frames_are_counted_in_the_run_manifest(recording: Path, tmp_path: Path) -> None:
    with FeedThread(
        FeedConfig(recording, speed=None, max_batch=25, chaos=Chaos(malformed_every=3))
    ) as feed:
        result = run_live(
            LiveRequest(LiveConfig(feed.url, duration_s=60), RunSpec.of(FAKE), runs_dir=tmp_path)
        )
        sent = feed.server.malformed_sent if feed.server else 0
    manifest = json.loads((result.run.path / "manifest.json").read_text())
    assert sent > 0 and sum(manifest["live"]["bad_messages"].values()) == sent
    # an unreadable frame may have been a tick: the run cannot claim it saw every one
    assert result.run.status == "incomplete" and result.live.received == 300
    assert f"{sent} feed message(s) could not be read (" in result.run.reason


def test_a_slow_candidate_shows_as_lag_and_overflow_is_counted_not_silent(
    recording: Path, tmp_path: Path
) -> None:
    with FeedThread(FeedConfig(recording, speed=None)) as feed:
        result = run_live(
            LiveRequest(
                LiveConfig(feed.url, duration_s=60, queue_size=20),
                RunSpec.of(
                    FAKE,
                    FAKE,
                    inject=FaultSpec(delay_ms=3.0),
                    options=RunOptions(tick_timeout_s=None),
                ),
                runs_dir=tmp_path,
                record=RecordOptions(tmp_path / "rec"),
            )
        )
    live = result.live
    assert live.queue_wait.max_ms > 20 and live.queue_depth_max >= 19
    assert live.dropped > 0 and live.delivered + live.dropped == live.received == 300
    assert result.run.status == "incomplete"
    manifest = json.loads((result.run.path / "manifest.json").read_text())
    assert manifest["status"] == "incomplete" and manifest["live"]["dropped"] == live.dropped
    assert open_recording(tmp_path / "rec").tick_count == 300  # the recording keeps every tick


def test_cli_live_with_a_wrong_key_exits_5_with_one_line_and_creates_nothing(
    recording: Path, tmp_path: Path
) -> None:
    with FeedThread(FeedConfig(recording, key="right")) as feed:
        out = CliRunner().invoke(
            cli,
            [
                "live",
                "--url",
                feed.url,
                "--key-env",
                "LIVE_TEST_KEY",
                "--runs-dir",
                str(tmp_path / "runs"),
                "--record",
                str(tmp_path / "rec"),
            ],
            env={"LIVE_TEST_KEY": "wrong-secret-7"},
        )
    assert out.exit_code == 5
    assert "authentication failed" in out.output and "wrong-secret-7" not in out.output
    assert len(out.output.strip().splitlines()) == 1
    assert not (tmp_path / "rec").exists() and not list((tmp_path / "runs").glob("*"))


def test_cli_live_on_an_unreachable_url_exits_5(tmp_path: Path) -> None:
    out = CliRunner().invoke(
        cli, ["live", "--url", "ws://127.0.0.1:9/stocks", "--runs-dir", str(tmp_path)]
    )
    assert out.exit_code == 5 and "cannot connect to ws://127.0.0.1:9/stocks" in out.output


def test_cli_live_shadows_records_and_prints_the_feed_figures(
    recording: Path, tmp_path: Path
) -> None:
    with FeedThread(FeedConfig(recording, speed=None)) as feed:
        out = CliRunner().invoke(
            cli,
            [
                "live",
                "--url",
                feed.url,
                "--duration",
                "60s",
                "--record",
                str(tmp_path / "rec"),
                "--runs-dir",
                str(tmp_path / "runs"),
                "--primary",
                FAKE,
                "--candidate",
                FAKE,
                "--seed",
                "3",
                "--progress",
            ],
        )
    assert out.exit_code == 0, out.output
    assert "feed: 300 ticks received, 300 shadowed, 0 dropped" in out.output
    assert "phase_1_parallel_testing" in out.output and "report: " in out.output
    run_dir = next((tmp_path / "runs").iterdir())
    assert "## Live feed" in (run_dir / "report.md").read_text()
    assert "no disconnects" in (run_dir / "report.html").read_text()
    assert open_recording(tmp_path / "rec").tick_count == 300


def test_urls_are_stored_without_credentials() -> None:
    assert (
        public_url("wss://user:pw@socket.polygon.io:443/stocks?apiKey=abc")
        == "wss://socket.polygon.io:443/stocks"
    )


def test_ctrl_c_ends_the_session_and_finalises_run_and_recording(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    rec = write_recording(tmp_path / "original", sample_ticks(50))
    with FeedThread(FeedConfig(rec, speed=20.0, loop=True)) as feed:
        cmd = [
            sys.executable,
            "-m",
            "harness",
            "live",
            "--url",
            feed.url,
            "--primary",
            FAKE,
            "--record",
            str(tmp_path / "rec"),
            "--runs-dir",
            str(tmp_path / "runs"),
            "--no-report",
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stderr is not None
            assert "live: shadowing" in proc.stderr.readline()
            time.sleep(1.5)
            proc.send_signal(signal.SIGINT)
            out, _ = proc.communicate(timeout=60)
        finally:
            proc.kill()
    assert proc.returncode == 0, out
    check_recording(tmp_path / "rec")
    manifest = json.loads(next((tmp_path / "runs").glob("*/manifest.json")).read_text())
    assert manifest["status"] == "complete" and manifest["live"]["ended_by"] == "interrupted"
    assert manifest["recording"]["tick_count"] == manifest["live"]["received"] > 0
