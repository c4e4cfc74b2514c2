"""The local feed server: serves a recording over the Polygon stocks WebSocket protocol on loopback.

Why a broadcast timeline: the real feed is one stream that clients join and leave; a client that
reconnects resumes at "now" and misses what was sent meanwhile. So the server replays the
recording once (optionally looping) and fans each frame out to every subscribed connection. At
`speed=None` ("max") the timeline advances as fast as the slowest subscribed client reads and
waits while no client is subscribed, so a dropped connection loses exactly the frames that were
queued for it — a measurable gap, never a silent one.

    server = FeedServer(FeedConfig(Path("recordings/sample-day"), speed=None))
    async with server:            # binds 127.0.0.1, port 0 → server.port
        await server.finished.wait()
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from harness.core.errors import ConfigError
from harness.core.model import Tick
from harness.live.protocol import EXT_HEADER, is_aggregate, tick_to_message, wire_logger
from harness.recordings.reader import open_recording

PATH = "/stocks"
LOOPBACK = ("127.0.0.1", "::1", "localhost")
END_STATUS = "end_of_recording"
_MALFORMED: tuple[str, ...] = (
    "{not json",
    json.dumps([{"ev": "Z", "sym": "AAPL"}]),
    json.dumps([{"ev": "T", "sym": "AAPL", "s": 100, "t": 1}]),
    json.dumps([{"ev": "T", "sym": "AAPL", "p": "12.5", "s": 100, "t": 1}]),
)


@dataclass(frozen=True, slots=True)
class Chaos:
    """Faults the feed injects per connection, to prove the live client survives them."""

    drop_after: int | None = None  # abort a connection after it was sent N messages
    drop_limit: int = 1  # … at most this many times per server
    malformed_every: int | None = None  # before every Nth frame, send one malformed frame
    stall_after: int | None = None  # after N messages, stop sending for stall_seconds (once)
    stall_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """What to serve and how; `speed=None` means as fast as the client reads."""

    recording: Path
    host: str = "127.0.0.1"
    port: int = 0
    speed: float | None = 1.0
    loop: bool = False
    key: str | None = None
    batch_ms: int = 100
    max_batch: int = 500
    client_queue: int = 64
    min_clients: int = 1  # the timeline starts once this many clients have subscribed
    chaos: Chaos = field(default_factory=Chaos)

    def __post_init__(self) -> None:
        if self.speed is not None and not self.speed > 0:
            raise ConfigError(f"--speed must be > 0 or 'max', got {self.speed}")
        if self.host not in LOOPBACK:
            raise ConfigError(
                f"--host {self.host!r}: the feed serves loopback only ({', '.join(LOOPBACK)})"
            )
        if self.max_batch < 1 or self.batch_ms < 1:
            raise ConfigError("batch size and batch window must be >= 1")


_END = object()


@dataclass(frozen=True, slots=True)
class Frame:
    """One WebSocket frame's worth of ticks (a JSON array on the wire), with their event kinds."""

    ticks: tuple[Tick, ...]
    evs: tuple[str, ...]

    @property
    def ts(self) -> int:
        return self.ticks[0].ts

    @property
    def last_ts(self) -> int:
        return self.ticks[-1].ts


def read_ticks(recording: Path, limit: int | None = None) -> Iterator[Tick]:
    """The recording's ticks in (ts, seq) order, streamed (the reader verifies the order)."""
    ticks = open_recording(recording).ticks(batch_size=4096)
    return ticks if limit is None else itertools.islice(ticks, limit)


def frames_of(
    ticks: Iterator[Tick], batch_ms: int, max_batch: int, shift_ns: int = 0
) -> Iterator[Frame]:
    """Group ticks the way Polygon batches: consecutive ticks in the same `batch_ms` window."""
    window = batch_ms * 1_000_000
    batch: list[Tick] = []
    bucket = None
    for tick in ticks:
        if shift_ns:
            tick = tick._replace(ts=tick.ts + shift_ns)
        key = tick.ts // window
        if batch and (key != bucket or len(batch) >= max_batch):
            yield Frame(tuple(batch), tuple("A" if is_aggregate(t) else "T" for t in batch))
            batch = []
        bucket = key
        batch.append(tick)
    if batch:
        yield Frame(tuple(batch), tuple("A" if is_aggregate(t) else "T" for t in batch))


@dataclass(slots=True, eq=False)
class _Client:
    ws: ServerConnection
    ext: bool
    subs: set[str] = field(default_factory=set)
    queue: asyncio.Queue[Any] = field(default_factory=lambda: asyncio.Queue(64))
    messages: int = 0
    frames: int = 0
    stalled: bool = False

    def wants(self, ev: str, sym: str) -> bool:
        return f"{ev}.*" in self.subs or f"{ev}.{sym}" in self.subs


class FeedServer:
    """Async WebSocket server speaking Polygon's stocks protocol over one recording."""

    def __init__(self, config: FeedConfig) -> None:
        self.config = config
        self.port: int = config.port
        self.finished = asyncio.Event()  # the whole recording has been broadcast
        self.drops = 0
        self.frames_sent = 0
        self.malformed_sent = 0
        self._clients: set[_Client] = set()
        self._subscribed = asyncio.Event()
        self._server: Server | None = None
        self._producer: asyncio.Task[None] | None = None
        self._writers: set[asyncio.Task[None]] = set()
        next(
            read_ticks(config.recording, limit=1), None
        )  # fail fast on a bad recording, before binding

    async def __aenter__(self) -> FeedServer:
        self._server = await serve(
            self._handle,
            self.config.host,
            self.config.port,
            process_request=self._check_path,
            max_queue=64,
            logger=wire_logger("harness.live.feed_server.wire"),
        )
        self.port = self._server.sockets[0].getsockname()[1] if self._server.sockets else 0
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._producer is not None:
            self._producer.cancel()
        for task in list(self._writers):
            task.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"ws://{self.config.host}:{self.port}{PATH}"

    def _check_path(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path.split("?")[0] != PATH:
            return connection.respond(
                404, f"unknown path {request.path}; the stocks feed is {PATH}\n"
            )
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        ext = ws.request is not None and ws.request.headers.get(EXT_HEADER) == "1"
        client = _Client(ws, ext, queue=asyncio.Queue(self.config.client_queue))
        authed = self.config.key is None
        writer: asyncio.Task[None] | None = None
        await _status(ws, "connected", "Connected Successfully")
        try:
            async for raw in ws:
                try:
                    request = json.loads(raw)
                    action, params = request["action"], str(request.get("params", ""))
                except (ValueError, KeyError, TypeError):
                    await _status(ws, "error", "invalid request")
                    continue
                if action == "auth":
                    if self.config.key is None or hmac.compare_digest(params, self.config.key):
                        authed = True
                        await _status(ws, "auth_success", "authenticated")
                    else:
                        await _status(ws, "auth_failed", "authentication failed")
                        await ws.close(1008, "authentication failed")
                        return
                elif not authed:
                    await _status(ws, "error", "not authorized")
                elif action in ("subscribe", "unsubscribe"):
                    topics = [t.strip() for t in params.split(",") if t.strip()]
                    if action == "subscribe":
                        client.subs.update(topics)
                    else:
                        client.subs.difference_update(topics)
                    verb = "subscribed to" if action == "subscribe" else "unsubscribed to"
                    for topic in topics:
                        await _status(ws, "success", f"{verb}: {topic}")
                    if client.subs and writer is None:
                        writer = asyncio.create_task(self._write(client))
                        self._writers.add(writer)
                        self._join(client)
                else:
                    await _status(ws, "error", f"unknown action {action!r}")
        except ConnectionClosed:
            pass
        finally:
            self._leave(client)
            if writer is not None:
                writer.cancel()
                self._writers.discard(writer)

    def _join(self, client: _Client) -> None:
        """Add a subscribed client to the broadcast (or tell it the recording is over)."""
        if self.finished.is_set():
            client.queue.put_nowait(_END)
            return
        self._clients.add(client)
        self._subscribed.set()
        if self._producer is None and len(self._clients) >= self.config.min_clients:
            self._producer = asyncio.create_task(self._produce())

    async def _produce(self) -> None:
        """Broadcast the recording's frames on one timeline, paced by `speed` or by the readers."""
        cfg = self.config
        loop = asyncio.get_running_loop()
        start = loop.time()
        first_ts: int | None = None
        shift = 0
        for _ in itertools.count() if cfg.loop else range(1):
            last_ts = 0
            for frame in frames_of(read_ticks(cfg.recording), cfg.batch_ms, cfg.max_batch, shift):
                first_ts = frame.ts if first_ts is None else first_ts
                last_ts = frame.last_ts
                if cfg.speed is None:
                    await self._subscribed.wait()
                else:
                    delay = start + (frame.ts - first_ts) / 1e9 / cfg.speed - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                for client in list(self._clients):
                    await client.queue.put(frame)
                self.frames_sent += 1
            shift = last_ts - (first_ts or 0) + 1_000_000_000 + shift if cfg.loop else shift
        self.finished.set()
        for client in list(self._clients):
            await client.queue.put(_END)

    async def _write(self, client: _Client) -> None:
        """Send one client's queued frames, applying its subscriptions and the chaos options."""
        chaos = self.config.chaos
        malformed = itertools.cycle(_MALFORMED)
        ws = client.ws
        try:
            while True:
                frame = await client.queue.get()
                if frame is _END:
                    await _status(ws, END_STATUS, "end of recording")
                    await ws.close(1000, "end of recording")
                    return
                messages = [
                    tick_to_message(t, client.ext)
                    for t, ev in zip(frame.ticks, frame.evs, strict=True)
                    if client.wants(ev, t.ticker)
                ]
                if not messages:
                    continue
                client.frames += 1
                if chaos.malformed_every and client.frames % chaos.malformed_every == 0:
                    await ws.send(next(malformed))
                    self.malformed_sent += 1
                await ws.send(json.dumps(messages, separators=(",", ":")))
                client.messages += len(messages)
                if (
                    chaos.drop_after
                    and client.messages >= chaos.drop_after
                    and self.drops < chaos.drop_limit
                ):
                    self.drops += 1
                    self._leave(client)
                    ws.transport.abort()
                    return
                if (
                    chaos.stall_after
                    and not client.stalled
                    and client.messages >= chaos.stall_after
                ):
                    client.stalled = True
                    await asyncio.sleep(chaos.stall_seconds)
        except ConnectionClosed:
            self._leave(client)

    def _leave(self, client: _Client) -> None:
        """Forget a client and empty its queue, so a producer blocked on it moves on."""
        self._clients.discard(client)
        if not self._clients:
            self._subscribed.clear()
        while not client.queue.empty():
            client.queue.get_nowait()


async def _status(ws: ServerConnection, status: str, message: str) -> None:
    await ws.send(json.dumps([{"ev": "status", "status": status, "message": message}]))
