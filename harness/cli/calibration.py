"""`harness calibrate`: the A/A noise floor of a recording, measured once and reused."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from harness.cli.app import cli
from harness.cli.progress import step, wanted


@cli.command()
@click.argument("recording", type=click.Path(exists=True, file_okay=False))
@click.option("--primary", default="tickstock.stacks:legacy", show_default=True)
@click.option("--runs", "n_runs", default=3, show_default=True, help="A/A runs.")
@click.option("--max-ticks", type=int, help="Replay only the first N ticks.")
@click.option("--reports", default="reports", show_default=True, help="Reports directory.")
@click.option(
    "--reuse",
    is_flag=True,
    help="Keep the stored calibration of RECORDING if there is one (measure only when missing).",
)
def calibrate(
    recording: str, primary: str, n_runs: int, max_ticks: int | None, reports: str, reuse: bool
) -> None:
    """A/A-replay RECORDING to measure the latency noise floor the gates state and use."""
    from harness.ci.regression import calibrate as run_calibration
    from harness.gates.calibration import stored_for
    from harness.recordings.reader import open_recording

    if reuse and (found := stored_for(Path(reports), open_recording(recording).sha256)):
        cal, path = found
        click.echo(
            f"reusing {path}: noise floor {cal.floor:.4f} from {len(cal.runs)} A/A run(s) on "
            f"{cal.host or '?'} ({cal.created})"
        )
        return
    with step(f"calibrate {recording}: {n_runs} A/A run(s)", wanted(None, False)):
        cal, path = run_calibration(
            Path(recording),
            primary=primary,
            runs=n_runs,
            runs_root=Path(reports) / "runs",
            reports_dir=Path(reports),
            max_ticks=max_ticks,
        )
    for rid, r, lo, hi in zip(cal.runs, cal.ratios, cal.ci_lows, cal.ci_highs, strict=True):
        click.echo(f"{rid}  ratio {r:.4f}  CI [{lo:.4f}, {hi:.4f}]")
    click.echo(
        f"noise floor {cal.floor:.4f}; A/A event differences {cal.event_differences} (must be 0)"
    )
    click.echo(f"stored: {path}")
    if cal.event_differences:
        sys.exit(3)
