"""Live tick source: a Polygon-protocol WebSocket client that yields ticks through a bounded queue.

A receiver thread runs the asyncio client (connect, auth, subscribe, reconnect with backoff and
jitter), converts each message to a Tick (assigning seq in arrival order, keeping feed time `ts`
and receive time `recv_ts`), hands every tick to the recording sink, then offers it to a bounded
queue. The consuming thread (the shadow runner) iterates the source. Why this shape: the socket
must keep being read while a slow stack works, and a full queue must be *counted* (drop) rather
than silently stall or grow memory. Every disconnect becomes a Gap; bad messages are counted by
kind with a few samples kept. The API key is held in memory only, never logged or returned.

    with LiveSource(LiveConfig(url, key=os.environ["POLYGON_API_KEY"]), sink=writer) as source:
        for tick in source: ...
        summary = source.summary()
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from harness.core.errors import ConfigError, LiveError
from harness.core.model import Tick
from harness.live.accounting import Gap, LiveSummary
from harness.live.lag import LagMeter
from harness.live.protocol import EXT_HEADER, MessageError, decode_message, wire_logger

log = logging.getLogger("harness.live.client")

POLYGON_STOCKS_URL = "wss://socket.polygon.io/stocks"
END_STATUS = "end_of_recording"
SAMPLES_PER_KIND = 3


class TickSink(Protocol):
    """Where received ticks go as they arrive (the recording writer)."""

    def write(self, tick: Tick) -> None: ...


@dataclass(frozen=True, slots=True)
class LiveConfig:
    """How to reach and read the feed; `key` is the secret and is excluded from repr()."""

    url: str = POLYGON_STOCKS_URL
    key: str = field(default="", repr=False)
    subscriptions: str = "A.*,T.*"
    queue_size: int = 10_000
    duration_s: float | None = None
    connect_timeout_s: float = 10.0
    backoff_initial_s: float = 0.25
    backoff_max_s: float = 30.0
    reconnect_give_up_s: float = 300.0
    ext: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if self.url.startswith(("ws://", "wss://")) and urlsplit(self.url).path in ("", "/"):
            # `--url ws://127.0.0.1:8765` means the stocks feed there, as Polygon's client assumes
            object.__setattr__(self, "url", self.url.rstrip("/") + "/stocks")
        if self.queue_size < 1:
            raise ConfigError(f"--queue-size must be >= 1, got {self.queue_size}")
        if not self.url.startswith(("ws://", "wss://")):
            raise ConfigError(f"--url must be ws:// or wss://, got {self.url!r}")
        if self.duration_s is not None and self.duration_s <= 0:
            raise ConfigError(f"--duration must be > 0, got {self.duration_s}")


class _Fatal(Exception):
    """Ends the session: the feed cannot be used (auth failed, unreachable on first connect)."""


class _EndOfFeed(Exception):
    """The feed said it has nothing more to send."""


class LiveSource:
    """Iterable of live ticks; start() connects in a thread, iteration ends on stop/duration/end."""

    def __init__(self, config: LiveConfig, sink: TickSink | None = None) -> None:
        self.config = config
        self._sink = sink
        self._queue: queue.Queue[Tick] = queue.Queue(config.queue_size)
        self._rng = random.Random(config.seed)
        self._done = threading.Event()
        self._connected = threading.Event()
        self._stop_requested = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._run, name="harness-live", daemon=True)
        self._seq = 0
        self._last_fseq: int | None = None
        self._pending_gap: Gap | None = None
        self._gaps: list[Gap] = []
        self._received = 0
        self._delivered = 0
        self._dropped = 0
        self._frames = 0
        self._connects = 0
        self._bad: dict[str, int] = {}
        self._samples: dict[str, list[str]] = {}
        self._wait = LagMeter(seed=config.seed)
        self._delay = LagMeter(seed=config.seed + 1)
        self._depth_max = 0
        self._ended_by = "running"
        self._error: str | None = None
        self._first_recv_ns: int | None = None
        self._max_ts = 0
        self._late = 0
        self._late_max_ns = 0

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> LiveSource:
        """Connect (raising LiveError if the first connection or auth fails), then stream."""
        self._thread.start()
        while not (self._connected.wait(0.05) or self._done.is_set()):
            pass
        if self._error is not None and not self._connected.is_set():
            raise LiveError(self._error)
        return self

    def stop(self, reason: str = "stopped") -> None:
        """Ask the receiver to finish (thread-safe; used by Ctrl-C and --duration)."""
        if self._stop_requested:
            return
        self._stop_requested = True
        if self._ended_by == "running":
            self._ended_by = reason
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            loop.call_soon_threadsafe(task.cancel)

    def join(self, timeout: float = 10.0) -> None:
        self._thread.join(timeout)

    def __enter__(self) -> LiveSource:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.join()

    def __iter__(self) -> Iterator[Tick]:
        deadline = (
            None if self.config.duration_s is None else time.monotonic() + self.config.duration_s
        )
        get = self._queue.get
        while True:
            if deadline is not None and time.monotonic() >= deadline:
                self.stop("duration")
            try:
                tick = get(timeout=0.05)
            except queue.Empty:
                if self._done.is_set() and self._queue.empty():
                    return
                continue
            now = time.time_ns()
            depth = self._queue.qsize()
            if depth > self._depth_max:
                self._depth_max = depth
            if tick.recv_ts is not None:
                self._wait.add(max(0, now - tick.recv_ts))
            self._delivered += 1
            yield tick

    def summary(self) -> LiveSummary:
        gaps = list(self._gaps) + ([self._pending_gap] if self._pending_gap is not None else [])
        return LiveSummary(
            received=self._received,
            delivered=self._delivered,
            dropped=self._dropped,
            frames=self._frames,
            connects=self._connects,
            gaps=tuple(gaps),
            bad_messages=dict(self._bad),
            bad_samples={k: list(v) for k, v in self._samples.items()},
            queue_wait=self._wait.summary(),
            feed_delay=self._delay.summary(),
            queue_depth_max=self._depth_max,
            queue_size=self.config.queue_size,
            late=self._late,
            late_max_ms=self._late_max_ns / 1e6,
            ended_by=self._ended_by,
            error=self._error,
        )

    # ---- receiver thread -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        finally:
            self._done.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        if self._stop_requested:
            return
        try:
            await self._session()
        except asyncio.CancelledError:
            pass
        except _Fatal as exc:
            self._error = str(exc)
            self._ended_by = "error"
        except _EndOfFeed:
            self._ended_by = "end_of_feed"
        finally:
            self._close_gap(open_ended=True)

    async def _session(self) -> None:
        cfg = self.config
        attempt = 0
        down_since: float | None = None
        headers = {EXT_HEADER: "1"} if cfg.ext else None
        while True:
            try:
                async with connect(
                    cfg.url,
                    additional_headers=headers,
                    open_timeout=cfg.connect_timeout_s,
                    max_queue=256,
                    compression=None,
                    logger=wire_logger("harness.live.client.wire"),
                ) as ws:
                    await self._handshake(ws)
                    self._connects += 1
                    self._connected.set()
                    attempt, down_since = 0, None
                    async for raw in ws:
                        self._on_frame(raw)
                    reason = f"server closed the connection ({ws.close_code})"
            except (_Fatal, _EndOfFeed):
                raise
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI, ConnectionClosed) as exc:
                if not self._connected.is_set():
                    raise _Fatal(f"cannot connect to {cfg.url}: {_describe(exc)}") from None
                reason = _describe(exc)
            self._open_gap(reason)
            now = time.monotonic()
            down_since = now if down_since is None else down_since
            if now - down_since > cfg.reconnect_give_up_s:
                raise _Fatal(
                    f"feed {cfg.url} unreachable for {now - down_since:.0f} s; gave up reconnecting"
                )
            delay = min(cfg.backoff_max_s, cfg.backoff_initial_s * 2**attempt)
            attempt += 1
            await asyncio.sleep(delay * (0.5 + self._rng.random() / 2))

    async def _handshake(self, ws: ClientConnection) -> None:
        timeout = self.config.connect_timeout_s
        first = await asyncio.wait_for(ws.recv(), timeout)
        if _status_of(first) != "connected":
            raise _Fatal(
                f"{self.config.url} is not a Polygon feed (first message {str(first)[:80]!r})"
            )
        await ws.send(json.dumps({"action": "auth", "params": self.config.key}))
        auth = await asyncio.wait_for(ws.recv(), timeout)
        status = _status_of(auth)
        if status == "auth_failed":
            raise _Fatal(
                f"authentication failed at {self.config.url} (check the key's environment variable)"
            )
        if status != "auth_success":
            raise _Fatal(f"unexpected answer to auth from {self.config.url}: {status!r}")
        await ws.send(json.dumps({"action": "subscribe", "params": self.config.subscriptions}))

    def _on_frame(self, raw: str | bytes) -> None:
        recv_ns = time.time_ns()
        self._frames += 1
        try:
            messages = json.loads(raw)
        except ValueError:
            self._count_bad(MessageError("malformed_json", "frame is not JSON"), raw)
            return
        if not isinstance(messages, list):
            self._count_bad(MessageError("not_array", f"frame is a {type(messages).__name__}"), raw)
            return
        for msg in messages:
            if isinstance(msg, dict) and msg.get("ev") == "status":
                if msg.get("status") == END_STATUS:
                    raise _EndOfFeed()
                continue
            try:
                tick, fseq = decode_message(msg, self._seq, recv_ns)
            except MessageError as exc:
                self._count_bad(
                    exc, json.dumps(msg)[:200] if isinstance(msg, dict) else repr(msg)[:200]
                )
                continue
            self._seq += 1
            self._accept(tick, fseq, recv_ns)

    def _accept(self, tick: Tick, fseq: int | None, recv_ns: int) -> None:
        if tick.ts < self._max_ts:
            # Arrival order is processing order; a recording must also be in (ts, seq) order, so a
            # tick older than one already seen takes that time (counted, lateness kept).
            self._late += 1
            self._late_max_ns = max(self._late_max_ns, self._max_ts - tick.ts)
            tick = tick._replace(ts=self._max_ts)
        self._max_ts = tick.ts
        if self._pending_gap is not None:
            self._close_gap(open_ended=False, fseq=fseq, now=recv_ns)
        if fseq is not None:
            self._last_fseq = fseq
        if self._first_recv_ns is None:
            self._first_recv_ns = recv_ns
        self._received += 1
        self._delay.add(max(0, recv_ns - tick.ts))
        if self._sink is not None:
            self._sink.write(tick)
        try:
            self._queue.put_nowait(tick)
        except queue.Full:
            self._dropped += 1
            if self._dropped == 1:
                log.warning(
                    "live queue full (%d): dropping ticks; the run will be incomplete",
                    self.config.queue_size,
                )

    def _count_bad(self, exc: MessageError, raw: Any) -> None:
        count = self._bad.get(exc.kind, 0) + 1
        self._bad[exc.kind] = count
        samples = self._samples.setdefault(exc.kind, [])
        if len(samples) < SAMPLES_PER_KIND:
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            samples.append(f"{exc.detail} | {text[:200]}")
        if count == 1:
            log.warning("bad feed message (%s): %s", exc.kind, exc.detail)

    def _open_gap(self, reason: str) -> None:
        if self._pending_gap is None:
            last = self._seq - 1 if self._seq else None
            self._pending_gap = Gap(time.time_ns(), None, last, None, False, reason)
            log.warning("feed disconnected (%s); reconnecting", reason)

    def _close_gap(self, open_ended: bool, fseq: int | None = None, now: int | None = None) -> None:
        gap = self._pending_gap
        if gap is None:
            return
        self._pending_gap = None
        if open_ended:
            self._gaps.append(gap)
            return
        end = now if now is not None else time.time_ns()
        if fseq is not None and self._last_fseq is not None:
            missed, exact = max(0, fseq - self._last_fseq - 1), True
        else:
            span = (gap.start_ns - self._first_recv_ns) if self._first_recv_ns else 0
            rate = self._received / (span / 1e9) if span > 0 else 0.0
            missed, exact = round(rate * (end - gap.start_ns) / 1e9), False
        self._gaps.append(Gap(gap.start_ns, end, gap.last_seq, missed, exact, gap.reason))


def _status_of(raw: str | bytes) -> str | None:
    try:
        messages = json.loads(raw)
        return (
            str(messages[0]["status"]) if messages and messages[0].get("ev") == "status" else None
        )
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:200]
