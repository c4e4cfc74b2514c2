"""The local feed server: a faithful Polygon stocks stand-in on 127.0.0.1 (real sockets)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from _livedata import sample_ticks, write_recording
from polygon import WebSocketClient
from polygon.exceptions import AuthError
from polygon.websocket.models import EquityAgg, EquityTrade
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from harness.core.errors import ConfigError, RecordingError
from harness.live.feed_run import FeedThread
from harness.live.feed_server import FeedConfig, read_ticks

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    return write_recording(tmp_path / "rec", sample_ticks(120))


def _polygon_client(feed: FeedThread, key: str, subs: list[str]) -> list[object]:
    assert feed.server is not None
    client = WebSocketClient(
        api_key=key,
        feed=f"127.0.0.1:{feed.server.port}",
        market="stocks",
        secure=False,
        subscriptions=subs,
        max_reconnects=0,
    )
    got: list[object] = []

    async def collect(msgs: list[object]) -> None:
        got.extend(msgs)

    asyncio.run(asyncio.wait_for(client.connect(collect), 30))
    return got


def test_polygons_own_client_receives_typed_aggregates_and_trades(recording: Path) -> None:
    with FeedThread(FeedConfig(recording, speed=None, key="sekret")) as feed:
        got = _polygon_client(feed, "sekret", ["A.*", "T.*"])
    ticks = list(read_ticks(recording))
    assert len(got) == len(ticks) == 120
    aggs = [m for m in got if isinstance(m, EquityAgg)]
    trades = [m for m in got if isinstance(m, EquityTrade)]
    assert len(aggs) == 60 and len(trades) == 60
    first = aggs[0]
    assert (
        first.symbol == "AAPL"
        and first.close == ticks[0].price
        and first.open == ticks[0].tick_open
    )
    assert first.end_timestamp == ticks[0].ts // 1_000_000
    assert (
        trades[0].symbol == "MSFT"
        and trades[0].price == ticks[1].price
        and trades[0].size == ticks[1].volume
    )


def test_polygons_client_is_refused_with_the_wrong_key(recording: Path) -> None:
    with (
        FeedThread(FeedConfig(recording, speed=None, key="sekret")) as feed,
        pytest.raises(AuthError),
    ):
        _polygon_client(feed, "wrong", ["T.*"])


def test_a_symbol_subscription_only_gets_that_symbol(recording: Path) -> None:
    with FeedThread(FeedConfig(recording, speed=None)) as feed:
        got = _polygon_client(feed, "any", ["T.AAPL"])
    assert got and all(isinstance(m, EquityTrade) and m.symbol == "AAPL" for m in got)
    assert len(got) == sum(
        1 for t in read_ticks(recording) if t.ticker == "AAPL" and t.tick_open is None
    )


async def _raw_session(url: str, subscribe: str, until_end: bool = True) -> list[list[dict]]:
    frames: list[list[dict]] = []
    async with connect(url) as ws:
        frames.append(json.loads(await ws.recv()))
        await ws.send(json.dumps({"action": "subscribe", "params": subscribe}))
        frames.append(json.loads(await ws.recv()))
        await ws.send(json.dumps({"action": "auth", "params": "k"}))
        frames.append(json.loads(await ws.recv()))
        await ws.send(json.dumps({"action": "subscribe", "params": subscribe}))
        async for raw in ws:
            frames.append(json.loads(raw))
            if not until_end:
                break
    return frames


def test_protocol_statuses_and_batched_arrays(recording: Path) -> None:
    with FeedThread(FeedConfig(recording, speed=None, key="k", batch_ms=100)) as feed:
        frames = asyncio.run(asyncio.wait_for(_raw_session(feed.url, "A.*,T.*"), 30))
    assert frames[0] == [
        {"ev": "status", "status": "connected", "message": "Connected Successfully"}
    ]
    assert frames[1][0]["status"] == "error"  # subscribe before auth
    assert frames[2][0]["status"] == "auth_success"
    assert [f[0]["message"] for f in frames[3:5]] == ["subscribed to: A.*", "subscribed to: T.*"]
    data = [f for f in frames[5:] if f[0]["ev"] != "status"]
    assert sum(len(f) for f in data) == 120
    assert max(len(f) for f in data) > 1  # several messages per frame, like the real feed
    assert frames[-1][0]["status"] == "end_of_recording"


def test_many_clients_each_receive_the_whole_broadcast(recording: Path) -> None:
    async def three(url: str) -> list[list[list[dict]]]:
        return list(await asyncio.gather(*(_raw_session(url, "A.*,T.*") for _ in range(3))))

    with FeedThread(FeedConfig(recording, speed=None, min_clients=3)) as feed:
        sessions = asyncio.run(asyncio.wait_for(three(feed.url), 30))
    counts = [sum(len(f) for f in s if f[0]["ev"] != "status") for s in sessions]
    assert counts == [120, 120, 120]


def test_speed_paces_the_feed_against_recording_time(tmp_path: Path) -> None:
    rec = write_recording(tmp_path / "rec", sample_ticks(30))  # spans 29 * 37 ms = 1.07 s
    with FeedThread(FeedConfig(rec, speed=2.0)) as feed:
        started = time.monotonic()
        asyncio.run(asyncio.wait_for(_raw_session(feed.url, "T.*"), 30))
        elapsed = time.monotonic() - started
    assert 0.45 < elapsed < 5.0  # 1.07 s of recording at 2× ≈ 0.54 s


def test_loop_replays_the_recording_with_time_moving_forward(tmp_path: Path) -> None:
    rec = write_recording(tmp_path / "rec", sample_ticks(10))

    async def first_n(url: str, n: int) -> list[dict]:
        got: list[dict] = []
        # leaving mid-stream: the feed keeps sending, so do not wait 10 s for its close frame
        async with connect(url, close_timeout=0.5) as ws:
            await ws.recv()
            await ws.send(json.dumps({"action": "auth", "params": "k"}))
            await ws.recv()
            await ws.send(json.dumps({"action": "subscribe", "params": "T.*,A.*"}))
            while len(got) < n:
                got.extend(m for m in json.loads(await ws.recv()) if m["ev"] in ("A", "T"))
        return got

    with FeedThread(FeedConfig(rec, speed=None, loop=True)) as feed:
        got = asyncio.run(asyncio.wait_for(first_n(feed.url, 25), 30))
    times = [m.get("t", m.get("e")) for m in got]
    assert times == sorted(times) and len(got) >= 25


def test_unknown_path_is_rejected_with_404(recording: Path) -> None:
    async def wrong(url: str) -> None:
        async with connect(url.replace("/stocks", "/crypto")):
            pass

    with FeedThread(FeedConfig(recording)) as feed, pytest.raises(InvalidStatus, match="404"):
        asyncio.run(wrong(feed.url))


def test_bad_recording_and_bad_speed_fail_before_binding(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="does not exist"):
        FeedThread(FeedConfig(tmp_path / "missing")).start()
    with pytest.raises(ConfigError, match="speed"):
        FeedConfig(tmp_path, speed=0)


def test_cli_feed_serves_once_on_a_free_port_and_requires_the_key_variable(recording: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "FEED_KEY": "k1"}
    cmd = [
        sys.executable,
        "-m",
        "harness",
        "feed",
        str(recording),
        "--port",
        "0",
        "--speed",
        "max",
        "--once",
    ]
    proc = subprocess.Popen(
        [*cmd, "--key-env", "FEED_KEY"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "on ws://127.0.0.1:" in line and line.rstrip().endswith("at max")
        url = line.split(" on ")[1].split(" ")[0]
        frames = asyncio.run(asyncio.wait_for(_raw_session_with_key(url, "k1"), 30))
        assert sum(len(f) for f in frames if f[0]["ev"] in ("A", "T")) == 120
        assert proc.wait(30) == 0
    finally:
        proc.kill()
    missing = subprocess.run(
        [*cmd, "--key-env", "NO_SUCH_VAR_X"], capture_output=True, text=True, timeout=30
    )
    assert missing.returncode == 5 and "NO_SUCH_VAR_X is not set" in missing.stderr


async def _raw_session_with_key(url: str, key: str) -> list[list[dict]]:
    frames: list[list[dict]] = []
    async with connect(url) as ws:
        await ws.recv()
        await ws.send(json.dumps({"action": "auth", "params": key}))
        assert json.loads(await ws.recv())[0]["status"] == "auth_success"
        await ws.send(json.dumps({"action": "subscribe", "params": "A.*,T.*"}))
        async for raw in ws:
            frames.append(json.loads(raw))
    return frames


def test_the_feed_refuses_to_bind_anything_but_loopback(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="loopback only"):
        FeedConfig(tmp_path, host="0.0.0.0")
