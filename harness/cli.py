"""The `harness` command line; the only module that imports click.

Subcommands are registered in this file, one function each; HarnessError subclasses become a
one-line message and their exit code (design.md §10), never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from harness import __version__
from harness.errors import HarnessError


class HarnessGroup(click.Group):
    """Click group that turns HarnessError into `harness: error: …` and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HarnessError as exc:
            click.echo(f"harness: error: {exc}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=HarnessGroup)
@click.version_option(__version__, prog_name="harness")
def cli() -> None:
    """Shadow-replay TickStock's legacy and multi-channel stacks, diff them, gate rollout phases."""


# --- recordings: info, validate, synth, import ---


# --- replay core: replay, diff, runs ---


# --- readiness: gate, report, compare, calibrate ---


def _default_accept(accept: str | None) -> Path | None:
    """--accept FILE, else ./accepted-differences.toml when present (stated in the output)."""
    if accept:
        return Path(accept)
    default = Path("accepted-differences.toml")
    return default if default.is_file() else None


@cli.command()
@click.argument("run")
@click.option("--phase", "phases", multiple=True, help="Rollout phase to gate (repeatable).")
@click.option("--all", "all_phases", is_flag=True, help="Gate every rollout phase.")
@click.option("--accept", type=click.Path(dir_okay=False), help="Accepted-differences TOML.")
@click.option("--junit", type=click.Path(dir_okay=False), help="JUnit XML path (default RUN/junit.xml).")
@click.option("--runs-root", default="reports/runs", show_default=True, help="Where run ids live.")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), help="Date for rule expiry.")
@click.option("--json", "as_json", is_flag=True, help="Print verdict.json instead of tables.")
def gate(
    run: str,
    phases: tuple[str, ...],
    all_phases: bool,
    accept: str | None,
    junit: str | None,
    runs_root: str,
    today: Any,
    as_json: bool,
) -> None:
    """Gate RUN for rollout phases: table, verdict.json, junit.xml; exit 0 pass / 3 fail / 4 inconclusive."""
    import json

    from harness.errors import ConfigError
    from harness.evidence import resolve_run
    from harness.gate import PHASES, gate_run, overall
    from harness.verdict import text_table, verdict_document, write_junit, write_verdict

    if all_phases == bool(phases):
        raise ConfigError("give --phase PHASE (repeatable) or --all")
    selected = PHASES if all_phases else tuple(phases)
    run_dir = resolve_run(run, runs_root)
    accept_path = _default_accept(accept)
    evidence, results = gate_run(
        run_dir, selected, accept=accept_path, today=today.date() if today else None
    )
    extra = {"accepted_differences": str(accept_path) if accept_path else None}
    verdict_path = write_verdict(run_dir / "verdict.json", results, extra)
    junit_path = write_junit(Path(junit) if junit else run_dir / "junit.xml", results)
    evidence.close()
    if as_json:
        click.echo(json.dumps(verdict_document(results, extra), indent=2, sort_keys=True, default=str))
    else:
        for r in results:
            click.echo(text_table(r))
            click.echo("")
        for rule in evidence.rules.expired(evidence.today):
            click.echo(f"expired rule {rule.id} (owner {rule.owner}, expired {rule.expires}) no longer applies")
        verdict = overall(results)
        click.echo(f"verdict: {verdict.value}  ({verdict_path}, {junit_path})")
    sys.exit(overall(results).exit_code)


# --- live: feed, live ---


# --- end of subcommands ---


def main() -> None:
    cli(prog_name="harness")


if __name__ == "__main__":
    main()
