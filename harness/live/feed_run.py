"""Running a feed server: until Ctrl-C or one broadcast (`harness feed`), or on its own event
loop in a daemon thread (tests, notebooks, benchmarks)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from harness.core.errors import ConfigError
from harness.live.feed_server import FeedConfig, FeedServer


def parse_speed(text: str) -> float | None:
    """`--speed`: a positive factor of real time, or `max` (as fast as the client reads)."""
    if text.strip().lower() == "max":
        return None
    try:
        speed = float(text)
    except ValueError:
        raise ConfigError(f"--speed must be a number or 'max', got {text!r}") from None
    if not speed > 0:
        raise ConfigError(f"--speed must be > 0 or 'max', got {text!r}")
    return speed


def run_feed(config: FeedConfig, once: bool, announce: Callable[[str], None]) -> int:
    """Serve until Ctrl-C (or, with `once`, until the recording has been broadcast); frames sent."""

    async def main() -> int:
        async with FeedServer(config) as server:
            speed = "max" if config.speed is None else f"{config.speed:g}x"
            announce(
                f"serving {config.recording} on {server.url} at {speed}{' (looping)' if config.loop else ''}"
            )
            forever = asyncio.Event()  # set by nobody: serve until Ctrl-C
            await (server.finished if once else forever).wait()
            await asyncio.sleep(0.2)  # let writers send the end-of-recording status
            return server.frames_sent

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return 0


class FeedThread:
    """A FeedServer on its own event loop in a daemon thread (tests, notebooks, the CLI)."""

    def __init__(self, config: FeedConfig) -> None:
        self.config = config
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self.server: FeedServer | None = None
        self._thread = threading.Thread(target=self._run, name="harness-feed", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # surfaced to the starting thread by start()
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with FeedServer(self.config) as server:
            self.server = server
            self._ready.set()
            await self._stop.wait()

    def start(self) -> FeedThread:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def wait_finished(self, timeout: float) -> bool:
        """Block until the whole recording was broadcast (or `timeout` seconds passed)."""
        assert self.server is not None and self._loop is not None
        fut = asyncio.run_coroutine_threadsafe(self.server.finished.wait(), self._loop)
        try:
            fut.result(timeout)
            return True
        except TimeoutError:
            fut.cancel()
            return False

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def __enter__(self) -> FeedThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
