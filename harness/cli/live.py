"""`harness live`: shadow a Polygon-protocol feed, record its ticks, gate and report the run."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from harness.cli import options as opt
from harness.cli.app import cli, print_json, print_summary
from harness.cli.progress import progress_bar, wanted
from harness.cli.types import DurationType


@dataclass(frozen=True)
class FeedArgs:
    """Which feed to shadow, and for how long."""

    url: str
    key_env: str
    subscriptions: str
    queue_size: int
    duration: float | None


@dataclass(frozen=True)
class RecordArgs:
    """Where and how often the live ticks are recorded."""

    record: Path | None
    overwrite: bool
    flush_ticks: int
    flush_seconds: float


@cli.command()
@opt.knob("--url", str, "wss://socket.polygon.io/stocks", "Feed URL.")
@opt.knob(
    "--key-env",
    str,
    "POLYGON_API_KEY",
    "Environment variable holding the API key (never logged or stored).",
)
@click.option(
    "--subscribe", "subscriptions", default="A.*,T.*", show_default=True, help="Polygon topics."
)
@opt.stack_options
@opt.runner_options
@click.option(
    "--duration",
    type=DurationType(),
    default=None,
    help="Stop after this long (30s, 5m, 1h); default: Ctrl-C.",
)
@click.option(
    "--record",
    type=click.Path(path_type=Path),
    default=None,
    help="Record the live ticks to this new recording directory.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing recording at --record.")
@opt.knob(
    "--flush-ticks",
    click.IntRange(min=1),
    20_000,
    "Flush the recording to a new part file every N ticks …",
)
@opt.knob("--flush-seconds", float, 10.0, "… or every T seconds.")
@opt.collect(RecordArgs, "recording")
@opt.knob(
    "--queue-size",
    click.IntRange(min=1),
    10_000,
    "Bounded queue between socket and stacks; overflow is counted and makes the run incomplete.",
)
@opt.collect(FeedArgs, "feed")
@opt.output_options("Progress line")
@click.option(
    "--report/--no-report",
    default=True,
    show_default=True,
    help="Gate every phase and write report.html / report.md into the run directory.",
)
def live(
    feed: FeedArgs,
    stacks: opt.StackArgs,
    runner: opt.RunnerArgs,
    recording: RecordArgs,
    output: opt.OutputArgs,
    report: bool,
) -> None:
    """Shadow primary and candidate on a live Polygon-protocol feed and record the ticks."""
    from harness.core.errors import IncompleteRunError, LiveError
    from harness.live.accounting import render_live
    from harness.live.session import public_url, run_live

    request = _request(feed, stacks, runner, recording, output)
    show = wanted(output.progress, output.as_json)
    try:
        with progress_bar(None, show) as advance:
            result = run_live(
                request,
                progress=advance,
                on_start=lambda path: click.echo(
                    f"live: shadowing {public_url(request.live.url)} into {path}", err=True
                ),
            )
    except LiveError as exc:
        if "authentication failed" in str(exc) and not os.environ.get(feed.key_env):
            raise LiveError(f"{exc}; environment variable {feed.key_env} is not set") from None
        raise
    if output.as_json:
        summary = {**result.run.summary, "live": result.live.as_dict()}
        print_json({**summary, "path": str(result.run.path)}, indent=2)
    else:
        print_summary(result.run.summary, result.run.path, False)
        click.echo(render_live(result.live.as_dict(), recording.record))
    if report:
        _report(result.run.path, runner.seed, output.as_json)
    if result.live.error is not None:
        raise LiveError(f"live session ended early: {result.live.error}")
    if result.run.status != "complete":
        raise IncompleteRunError(
            f"run {result.run.run_id} is {result.run.status}: {result.run.reason}"
        )


def _request(
    feed: FeedArgs,
    stacks: opt.StackArgs,
    runner: opt.RunnerArgs,
    rec: RecordArgs,
    output: opt.OutputArgs,
) -> Any:
    from harness.live.client import LiveConfig
    from harness.live.session import LiveRequest, RecordOptions
    from harness.replay.shadow import RunSpec

    configs = stacks.configs()
    candidate = stacks.candidate_or_none(configs)
    config = LiveConfig(
        feed.url,
        key=os.environ.get(feed.key_env, ""),
        subscriptions=feed.subscriptions,
        queue_size=feed.queue_size,
        duration_s=feed.duration,
        seed=runner.seed,
    )
    spec = RunSpec.of(
        stacks.primary,
        candidate,
        configs["primary"],
        configs["primary"] if candidate is None else configs["candidate"],
        runner.options(flush_interval_s=2.0),
        runner.inject,
    )
    record = None
    if rec.record is not None:
        record = RecordOptions(rec.record, rec.flush_ticks, rec.flush_seconds, rec.overwrite)
    return LiveRequest(config, spec, output.runs_dir, record, runner.diff())


def _report(run_path: Path, seed: int, as_json: bool) -> None:
    """Gate every phase and write the report into the run (`--report`, the default)."""
    from harness.report.build import build_report

    files = build_report(run_path, seed=seed)
    for r in files.results:
        click.echo(f"{r.phase:28s} {r.verdict.value}", err=as_json)
    click.echo(f"report: {files.html}", err=as_json)
