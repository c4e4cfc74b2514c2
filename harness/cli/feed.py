"""`harness feed`: serve a recording over the Polygon stocks WebSocket protocol on loopback."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from harness.cli.app import cli
from harness.cli.options import collect, knob
from harness.cli.types import secret_from_env


@dataclass(frozen=True)
class ServeArgs:
    """How the feed serves: where it listens, how fast, in what frames, to whom."""

    port: int
    host: str
    speed: str
    loop: bool
    key_env: str | None
    batch_ms: int
    max_batch: int
    min_clients: int


@dataclass(frozen=True)
class ChaosArgs:
    """Faults the feed injects per connection (`harness.live.feed_server.Chaos`)."""

    chaos_drop_after: int | None
    chaos_drop_limit: int
    chaos_malformed_every: int | None
    chaos_stall_after: int | None
    chaos_stall_seconds: float


@cli.command()
@click.argument("recording", type=click.Path(path_type=Path))
@knob("--port", int, 8765, "TCP port (0 picks a free one).")
@knob("--host", str, "127.0.0.1", "Interface to bind (loopback).")
@knob("--speed", str, "1", "N× real time, or 'max' (as fast as clients read).")
@click.option("--loop", is_flag=True, help="Replay the recording forever, time moving forward.")
@click.option("--key-env", help="Require the API key held in this environment variable.")
@knob("--batch-ms", int, 100, "Feed-time window batched per frame.")
@knob("--max-batch", int, 500, "Most messages per frame.")
@knob("--min-clients", int, 1, "Start once this many subscribed.")
@collect(ServeArgs, "serve")
@click.option("--once", is_flag=True, help="Exit after the recording has been served once.")
@click.option("--chaos-drop-after", type=int, help="Abort a connection after it got N messages.")
@knob("--chaos-drop-limit", int, 1, "Most aborts per server.")
@click.option(
    "--chaos-malformed-every", type=int, help="Send a malformed frame before every Nth frame."
)
@click.option("--chaos-stall-after", type=int, help="Stall a connection once after N messages.")
@knob("--chaos-stall-seconds", float, 5.0, "Length of the stall.")
@collect(ChaosArgs, "chaos")
def feed(recording: Path, serve: ServeArgs, once: bool, chaos: ChaosArgs) -> None:
    """Serve RECORDING over the Polygon stocks WebSocket protocol (ws://HOST:PORT/stocks)."""
    from harness.live.feed_run import parse_speed, run_feed
    from harness.live.feed_server import Chaos, FeedConfig
    from harness.recordings.reader import check_recording

    check_recording(recording)  # a client must never receive a broken recording's ticks

    config = FeedConfig(
        recording,
        serve.host,
        serve.port,
        parse_speed(serve.speed),
        serve.loop,
        secret_from_env(serve.key_env),
        serve.batch_ms,
        serve.max_batch,
        min_clients=serve.min_clients,
        chaos=Chaos(
            chaos.chaos_drop_after,
            chaos.chaos_drop_limit,
            chaos.chaos_malformed_every,
            chaos.chaos_stall_after,
            chaos.chaos_stall_seconds,
        ),
    )
    frames = run_feed(config, once, lambda line: click.echo(line, err=True))
    click.echo(f"feed stopped after {frames} frames", err=True)
