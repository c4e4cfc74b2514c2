"""`harness shrink RUN`: a minimal recording that reproduces a run's first divergence."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from harness.cli.app import cli
from harness.cli.options import knob, runs_dir_option


@cli.command()
@click.argument("run")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Where to write the shrunk recording (default: recordings/shrunk/<run id>).",
)
@knob(
    "--budget",
    click.FloatRange(min=1),
    110.0,
    "Seconds of delta debugging before settling for the smallest cut found.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing recording at --out.")
@runs_dir_option("Where run ids live (the directory replay writes runs to).")
def shrink(run: str, out: str | None, budget: float, overwrite: bool, runs_dir: str) -> None:
    """Cut RUN's input down to a small recording with the same first divergence.

    Same stacks, configs, seed and faults as the run; the divergence is the same when its
    ticker, class, event type and field paths are. Ticks keep their seq and time.
    """
    from harness.pipeline.shrink import repro_command, shrink_run
    from harness.store.runs import load_manifest, resolve_run

    run_dir = resolve_run(run, runs_dir)
    target = Path(out) if out else Path("recordings") / "shrunk" / run_dir.name
    result = shrink_run(
        run_dir,
        target,
        budget_s=budget,
        overwrite=overwrite,
        on_step=lambda line: click.echo(f"  {line}", err=True),
    )
    click.echo(
        f"shrunk {run_dir.name}: {result.target} at seq {result.seq} reproduced with "
        f"{result.ticks:,} of {result.original_ticks:,} ticks ({100 * result.fraction:.3f} %), "
        f"{len(result.tickers)} ticker(s), {result.trials} trial replays in {result.seconds:.1f} s"
        + ("" if result.complete else " (budget spent: not minimal)")
    )
    click.echo(f"recording: {result.recording}")
    click.echo("reproduce: " + shlex.join(repro_command(result, load_manifest(run_dir))))
