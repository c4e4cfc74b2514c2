"""`harness replay`: options → a `ReplayRequest` → the pipeline (or `--resume RUN`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from harness.cli.app import cli, print_summary, require_complete
from harness.cli.options import (
    OutputArgs,
    RunnerArgs,
    StackArgs,
    collect,
    knob,
    output_options,
    runner_options,
    stack_options,
)
from harness.cli.progress import progress_bar, wanted
from harness.cli.types import PaceType, TickerListType
from harness.core.errors import ConfigError


@dataclass(frozen=True)
class SelectArgs:
    """Which ticks of the recording, and how fast."""

    mode: str
    tickers: list[str] | None
    from_: str | None
    to: str | None
    limit: int | None


@dataclass(frozen=True)
class ExecutionArgs:
    """How the replay runs: stored part size, the sides' processes, the shards and where."""

    batch_size: int
    sides: str
    workers: int | None
    scheduler: str | None
    shards: int | None
    shard_timeout: float | None


@cli.command()
@click.argument("recording", type=click.Path(exists=True, file_okay=False), required=False)
@click.option(
    "--resume",
    "resume",
    default=None,
    metavar="RUN",
    help="Finish a killed replay (run directory or id) from its last durable point; every "
    "other input comes from the run's manifest.",
)
@stack_options
@knob("--mode", PaceType(), "afap", "afap, realtime or speed=N.")
@click.option(
    "--tickers", type=TickerListType(), default=None, help="Comma-separated tickers to replay."
)
@click.option("--from", "from_", default=None, help="Start time (ISO, UTC if naive; or ns).")
@click.option("--to", "to", default=None, help="End time, exclusive (ISO or ns).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Replay at most N ticks.")
@collect(SelectArgs, "select")
@knob(
    "--batch-size",
    click.IntRange(min=1),
    65_536,
    "Ticks per stored part: the unit a killed replay resumes from.",
)
@knob(
    "--sides",
    click.Choice(["interleaved", "concurrent"]),
    "interleaved",
    "interleaved: both stacks in one process, per tick in a seeded order; concurrent: "
    "each stack in a process of its own, the two trading cores every 500 ticks (one-process "
    "replays; same events; latency is gated over 1,000-tick swap cycles, from 20,000 ticks on).",
)
@runner_options
@output_options()
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    help="Sharded replay on a local Dask cluster of N worker processes (0: shards in "
    "this process). Default: one per core when the input has several shards.",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="tcp://HOST:PORT",
    help="Run the shards on an existing Dask cluster ('local': a private LocalCluster).",
)
@click.option(
    "--shards",
    type=click.IntRange(min=1),
    default=None,
    help="Ticker buckets per day (default: 1 for small days, 16 for large ones).",
)
@click.option(
    "--shard-timeout",
    type=float,
    default=None,
    help="Seconds the sharded run may take before unfinished shards make it incomplete.",
)
@collect(ExecutionArgs, "execution")
def replay(
    recording: str | None,
    resume: str | None,
    stacks: StackArgs,
    select: SelectArgs,
    runner: RunnerArgs,
    output: OutputArgs,
    execution: ExecutionArgs,
) -> None:
    """Shadow-replay RECORDING through primary and candidate, diff their events, store the run.

    Inputs with several shards (several days, or a large day) replay sharded on Dask by default.
    `--resume RUN` finishes a replay that was killed, to the result an uninterrupted one gives.
    """
    show = wanted(output.progress, output.as_json)
    if resume is not None:
        from harness.pipeline.resume import resume_run
        from harness.store.runs import resolve_run

        if recording is not None:
            raise ConfigError("--resume RUN takes its recording from the run: give no RECORDING")
        run_dir = resolve_run(resume, output.runs_dir)
        with progress_bar(None, show) as advance:
            _done(resume_run(run_dir, advance), output.as_json)
        return
    if recording is None:
        raise ConfigError("give a RECORDING to replay (or --resume RUN)")
    from harness.pipeline.replay import expected_ticks
    from harness.pipeline.replay import replay as replay_request
    from harness.pipeline.request import ReplayRequest
    from harness.pipeline.sharded import sharded_plan
    from harness.replay.shadow import StackSpec
    from harness.replay.sources import parse_time

    configs = stacks.configs()
    candidate = stacks.candidate_or_none(configs)
    names = select.tickers or None
    request = ReplayRequest(
        Path(recording),
        StackSpec(stacks.primary, configs["primary"]),
        None if candidate is None else StackSpec(candidate, configs["candidate"]),
        runner.options(batch_size=execution.batch_size, sides=execution.sides),
        runner.inject,
        names,
        parse_time(select.from_, "--from"),
        parse_time(select.to, "--to"),
        select.limit,
        select.mode,
        Path(output.runs_dir),
        runner.diff(),
        execution.workers,
        execution.scheduler,
        execution.shards,
        execution.shard_timeout,
        filters={"tickers": names, "from": select.from_, "to": select.to, "limit": select.limit},
    )
    plan = sharded_plan(request)
    total = expected_ticks(request, plan) if show else None
    with progress_bar(total, show) as advance:
        _done(replay_request(request, advance, plan), output.as_json)


def _done(result: Any, as_json: bool) -> None:
    """Print a finished replay's summary; an incomplete run is exit code 5.

    A complete A/A run also adds its latency ratio to the recording's stored noise floor (the
    file the gates read), and says so: `--aa` measures the noise floor of this machine."""
    print_summary(result.summary, result.path, as_json)
    require_complete(result)
    from harness.store.runs import load_manifest

    run_dir = Path(result.path)
    if load_manifest(run_dir).get("aa"):
        from harness.core.errors import StoreError
        from harness.gates.calibration import measure_aa, store_runs

        try:
            measured = measure_aa(run_dir)
        except StoreError as exc:  # e.g. run with --sides concurrent
            click.echo(f"A/A run not added to the noise floor: {exc}", err=as_json)
            return
        cal, path = store_runs(run_dir.resolve().parent.parent, [measured], merge=True)
        click.echo(
            f"A/A noise floor: {cal.floor:.4f} over {len(cal.runs)} run(s), stored in {path} "
            "(the latency gates of this recording cite and use it)",
            err=as_json,
        )
