"""The live source: Polygon-protocol client, tick conversion, reconnect, bounded queue (real sockets)."""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import pytest
from _livedata import sample_ticks, write_recording

from harness.core.errors import ConfigError, LiveError
from harness.core.model import Tick
from harness.live.client import LiveConfig, LiveSource
from harness.live.feed_run import FeedThread
from harness.live.feed_server import Chaos, FeedConfig

pytestmark = pytest.mark.timeout(60)


def _strip(tick: Tick) -> Tick:
    return tick._replace(seq=0, recv_ts=None, source=None)


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    return write_recording(tmp_path / "rec", sample_ticks(120))


class ListSink:
    def __init__(self) -> None:
        self.ticks: list[Tick] = []

    def write(self, tick: Tick) -> None:
        self.ticks.append(tick)


def test_live_ticks_equal_the_recordings_with_arrival_seq_and_receive_time(recording: Path) -> None:
    sink = ListSink()
    with FeedThread(FeedConfig(recording, speed=None, key="k")) as feed:
        with LiveSource(LiveConfig(feed.url, key="k", duration_s=30), sink=sink) as source:
            got = list(source)
        summary = source.summary()
    original = sample_ticks(120)
    assert [_strip(t) for t in got] == [_strip(t) for t in original]
    assert [t.seq for t in got] == list(range(120))
    assert all(t.recv_ts is not None and t.source == "polygon" for t in got)
    assert sink.ticks == got
    assert (summary.received, summary.delivered, summary.dropped, summary.ended_by) == (
        120,
        120,
        0,
        "end_of_feed",
    )
    assert summary.complete and summary.gaps == ()


def test_a_dropped_connection_reconnects_and_is_recorded_as_a_gap(recording: Path) -> None:
    chaos = Chaos(drop_after=40)
    with FeedThread(
        FeedConfig(recording, speed=None, max_batch=10, client_queue=2, chaos=chaos)
    ) as feed:
        with LiveSource(
            LiveConfig(feed.url, key="k", duration_s=30, backoff_initial_s=0.05)
        ) as source:
            got = list(source)
        summary = source.summary()
    assert summary.connects == 2 and len(summary.gaps) == 1
    gap = summary.gaps[0]
    assert gap.end_ns is not None and gap.end_ns > gap.start_ns and gap.missed_exact
    assert gap.last_seq is not None and gap.last_seq >= 39 and gap.ticks_possibly_missed is not None
    assert len(got) + gap.ticks_possibly_missed == 120  # nothing unaccounted for
    original = sample_ticks(120)
    resumed = gap.last_seq + 1 + gap.ticks_possibly_missed
    assert _strip(got[gap.last_seq]) == _strip(original[gap.last_seq])
    assert _strip(got[gap.last_seq + 1]) == _strip(original[resumed])
    assert [t.seq for t in got] == list(range(len(got)))
    assert "ConnectionClosed" in gap.reason and summary.ended_by == "end_of_feed"


def test_malformed_frames_are_counted_by_kind_and_the_session_goes_on(recording: Path) -> None:
    chaos = Chaos(malformed_every=2)
    with FeedThread(FeedConfig(recording, speed=None, max_batch=10, chaos=chaos)) as feed:
        with LiveSource(LiveConfig(feed.url, duration_s=30)) as source:
            got = list(source)
        summary = source.summary()
    assert len(got) == 120
    assert set(summary.bad_messages) == {
        "malformed_json",
        "unknown_ev",
        "missing_field",
        "mistyped_field",
    }
    assert feed.server is not None and feed.server.malformed_sent > 0
    assert sum(summary.bad_messages.values()) == feed.server.malformed_sent
    assert all(1 <= len(v) <= 3 for v in summary.bad_samples.values())


def test_wrong_key_is_a_live_error_that_never_shows_the_key(recording: Path) -> None:
    with FeedThread(FeedConfig(recording, key="right-key")) as feed:
        source = LiveSource(LiveConfig(feed.url, key="wrong-key-123"))
        with pytest.raises(LiveError, match="authentication failed") as info:
            source.start()
    assert "wrong-key-123" not in str(info.value)
    assert "wrong-key-123" not in repr(source.config) and "wrong-key-123" not in str(
        source.summary().as_dict()
    )


def test_unreachable_url_is_a_live_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(LiveError, match="cannot connect"):
        LiveSource(LiveConfig(f"ws://127.0.0.1:{port}/stocks", connect_timeout_s=2)).start()


def test_a_slow_consumer_shows_lag_and_counts_overflow_instead_of_losing_silently(
    recording: Path,
) -> None:
    sink = ListSink()
    with FeedThread(FeedConfig(recording, speed=None)) as feed:
        with LiveSource(LiveConfig(feed.url, queue_size=8, duration_s=30), sink=sink) as source:
            got = []
            for tick in source:
                time.sleep(0.01)  # a slow stack
                got.append(tick)
        summary = source.summary()
    assert summary.dropped > 0 and not summary.complete
    assert summary.received == 120 == len(sink.ticks)  # the recording keeps every tick
    assert summary.delivered + summary.dropped == summary.received == len(got) + summary.dropped
    assert summary.queue_depth_max >= 7 and summary.queue_wait.max_ms > 10


def test_duration_ends_a_session_on_an_endless_feed(tmp_path: Path) -> None:
    rec = write_recording(tmp_path / "rec", sample_ticks(20))
    with FeedThread(FeedConfig(rec, speed=20.0, loop=True)) as feed:
        started = time.monotonic()
        with LiveSource(LiveConfig(feed.url, duration_s=1.0)) as source:
            got = list(source)
        assert time.monotonic() - started < 5
    assert got and source.summary().ended_by == "duration"


def test_bad_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="url"):
        LiveConfig("http://x")
    with pytest.raises(ConfigError, match="queue"):
        LiveConfig(queue_size=0)


def test_a_tick_older_than_one_already_seen_takes_that_time_and_is_counted(tmp_path: Path) -> None:
    ticks = sample_ticks(6)
    late = ticks[4]._replace(ts=ticks[1].ts, seq=4)
    source = LiveSource(LiveConfig("ws://127.0.0.1:9/stocks"))
    for tick in [*ticks[:4], late, ticks[5]]:
        source._accept(tick, None, tick.ts + 5)
    got = [source._queue.get_nowait() for _ in range(6)]
    assert [t.ts for t in got] == sorted(t.ts for t in got)
    assert got[4].ts == ticks[3].ts and got[4].price == late.price
    summary = source.summary()
    assert summary.late == 1 and summary.late_max_ms == (ticks[3].ts - ticks[1].ts) / 1e6


def test_a_url_without_a_path_means_the_stocks_feed() -> None:
    assert LiveConfig("ws://127.0.0.1:8765").url == "ws://127.0.0.1:8765/stocks"
    assert LiveConfig("ws://127.0.0.1:8765/").url == "ws://127.0.0.1:8765/stocks"
    assert LiveConfig("wss://socket.polygon.io/stocks").url == "wss://socket.polygon.io/stocks"


def test_a_stalled_feed_delays_but_loses_nothing(recording: Path) -> None:
    chaos = Chaos(stall_after=30, stall_seconds=1.0)
    with FeedThread(FeedConfig(recording, speed=None, max_batch=10, chaos=chaos)) as feed:
        started = time.monotonic()
        with LiveSource(LiveConfig(feed.url, duration_s=30)) as source:
            got = list(source)
        elapsed = time.monotonic() - started
    assert len(got) == 120 and source.summary().gaps == () and elapsed >= 1.0


def test_the_key_never_reaches_the_log(recording: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with FeedThread(
        FeedConfig(recording, speed=None, key="k-777", chaos=Chaos(malformed_every=2))
    ) as feed:
        with LiveSource(LiveConfig(feed.url, key="k-777", duration_s=30)) as source:
            list(source)
        with pytest.raises(LiveError):
            LiveSource(LiveConfig(feed.url, key="bad-888")).start()
    assert caplog.records and "k-777" not in caplog.text and "bad-888" not in caplog.text


def test_a_feed_that_never_comes_back_ends_the_session_with_an_open_gap(recording: Path) -> None:
    feed = FeedThread(
        FeedConfig(recording, speed=None, chaos=Chaos(stall_after=30, stall_seconds=30))
    )
    feed.start()
    config = LiveConfig(feed.url, duration_s=30, backoff_initial_s=0.05, reconnect_give_up_s=0.5)
    with LiveSource(config) as source:
        got = []
        for tick in source:
            got.append(tick)
            if len(got) == 30:
                feed.stop()  # the server goes away for good
    summary = source.summary()
    assert len(got) >= 30 and summary.ended_by == "error"
    assert summary.error is not None and "gave up reconnecting" in summary.error
    assert len(summary.gaps) == 1 and summary.gaps[0].end_ns is None
    assert summary.gaps[0].last_seq == len(got) - 1
