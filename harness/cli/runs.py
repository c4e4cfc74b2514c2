"""Stored runs: `diff` (re-diff without replaying), `runs` (the list), `compare` (run vs run)."""

from __future__ import annotations

import sys

import click

from harness.cli.app import cli, print_json, print_summary
from harness.cli.options import runs_dir_option


@cli.command()
@click.argument("run")
@click.option("--config", "diff_config", type=click.Path(dir_okay=False), help="TOML diff config.")
@runs_dir_option("Where run ids live (the directory replay writes runs to).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def diff(run: str, diff_config: str | None, runs_dir: str, as_json: bool) -> None:
    """Re-diff a stored RUN (directory or run id) with another diff config, without replaying."""
    from harness.diff.align import DiffConfig
    from harness.pipeline.lifecycle import diff_run
    from harness.store.runs import open_run

    stored = open_run(run, runs_dir)
    summary = diff_run(stored, DiffConfig.load(diff_config))
    print_summary(summary, stored.path, as_json)


@cli.command()
@runs_dir_option("Where run ids live (the directory replay writes runs to).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show the newest N runs.")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def runs(runs_dir: str, limit: int | None, as_json: bool) -> None:
    """List stored runs: status, recording, stacks, ticks, match rate, verdict."""
    from harness.store.catalog import run_rows

    rows = run_rows(runs_dir)[:limit]
    if as_json:
        print_json(rows, indent=2)
        return
    if not rows:
        click.echo(f"no runs under {runs_dir}")
        return
    header = (
        f"{'run_id':<27} {'status':<10} {'recording':<16} {'ticks':>9} {'match':>9} "
        f"{'verdict (phase)':<40} stacks"
    )
    click.echo(header)
    for r in rows:
        match = "-" if r["match_rate"] is None else f"{100 * r['match_rate']:.2f}%"
        click.echo(
            f"{r['run_id']:<27} {r['status']:<10} {str(r['recording'] or '-'):<16} "
            f"{str(r['ticks'] if r['ticks'] is not None else '-'):>9} {match:>9} "
            f"{verdict_with_phase(r['verdict'], r['verdict_phases']):<40} "
            f"{r['primary']} vs {r['candidate']}"
        )


def verdict_with_phase(verdict: str | None, phases: str | None) -> str:
    """`fail @ phase_1_parallel_testing`, `pass @ 5 phases`, or `-` when never gated."""
    if not verdict:
        return "-"
    names = [p for p in (phases or "").split(",") if p]
    if not names:
        return verdict
    return f"{verdict} @ {names[0] if len(names) == 1 else f'{len(names)} phases'}"


@cli.command()
@click.argument("run_a")
@click.argument("run_b")
@runs_dir_option("Where run ids live (the directory replay writes runs to).")
def compare(run_a: str, run_b: str, runs_dir: str) -> None:
    """Did the candidate's events or latency change from RUN_A to RUN_B (same recording)?"""
    from harness.gates.run_vs_run import compare_runs, write_comparison
    from harness.gates.verdict import text_table
    from harness.store.runs import resolve_run

    a, b = resolve_run(run_a, runs_dir), resolve_run(run_b, runs_dir)
    result = compare_runs(a, b)
    click.echo(text_table(result))
    click.echo(f"verdict: {result.verdict.value}  ({write_comparison(b, result)})")
    sys.exit(result.exit_code)
