"""Rollout readiness: `gate` (verdict.json, junit.xml, exit code), `report` (and its browser check)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from harness.cli.app import cli, print_json
from harness.cli.options import collect, compose, runs_dir_option
from harness.cli.progress import step, wanted


@dataclass(frozen=True)
class JudgeArgs:
    """Which accepted differences judge a run, and on which day (rule expiry)."""

    accept: str | None
    no_accept: bool
    today: Any

    @property
    def accept_path(self) -> Path | None:
        return Path(self.accept) if self.accept else None

    @property
    def day(self) -> Any:
        return self.today.date() if self.today else None


def judge_options(no_accept_help: str) -> Callable[[Any], Any]:
    return compose(
        click.option(
            "--accept",
            type=click.Path(dir_okay=False),
            help="Accepted-differences TOML (default: the copy recorded with the run at replay).",
        ),
        click.option("--no-accept", is_flag=True, help=no_accept_help),
        click.option("--today", type=click.DateTime(["%Y-%m-%d"]), help="Date for rule expiry."),
        collect(JudgeArgs, "judge"),
    )


RUNS_HELP = "Where run ids live (the directory replay writes runs to)."


@cli.command()
@click.argument("run")
@click.option("--phase", "phases", multiple=True, help="Rollout phase to gate (repeatable).")
@click.option("--all", "all_phases", is_flag=True, help="Gate every rollout phase.")
@judge_options("Judge the run with no accepted differences.")
@click.option(
    "--junit", type=click.Path(dir_okay=False), help="JUnit XML path (default RUN/junit.xml)."
)
@runs_dir_option(RUNS_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print verdict.json instead of tables.")
@click.option(
    "--report",
    "with_report",
    is_flag=True,
    help="Also write the report, from the same measurement.",
)
def gate(
    run: str,
    phases: tuple[str, ...],
    all_phases: bool,
    judge: JudgeArgs,
    junit: str | None,
    runs_dir: str,
    as_json: bool,
    with_report: bool,
) -> None:
    """Gate RUN for rollout phases: table, verdict.json, junit.xml; exit 0 pass / 3 fail / 4 inconclusive."""
    from harness.core.errors import ConfigError
    from harness.gates.engine import PHASES, gate_sql, overall
    from harness.gates.verdict import VerdictJudge, judge_run
    from harness.store.runs import resolve_run

    if all_phases == bool(phases):
        raise ConfigError("give --phase PHASE (repeatable) or --all")
    selected = PHASES if all_phases else tuple(phases)
    for phase in selected:
        gate_sql(phase)  # an unknown phase is a usage error before any work
    run_dir = resolve_run(run, runs_dir)
    junit_path = Path(junit) if junit else None
    if with_report:  # one measurement of the run for both: the report gates every phase anyway
        verdict = VerdictJudge(run_dir, selected, junit_path)
        files = _report(run, runs_dir, judge, verdict)
        click.echo(f"report: {files.html} ({files.seconds:.2f} s)", err=as_json)
        assert verdict.judgement is not None  # build_report calls it before the evidence closes
        judged = verdict.judgement
    else:
        with step(f"gate {run_dir.name}", wanted(None, as_json)):
            judged = judge_run(
                run_dir,
                selected,
                accept=judge.accept_path,
                no_accept=judge.no_accept,
                today=judge.day,
                junit=junit_path,
            )
    results = judged.results
    if as_json:
        print_json(judged.document, indent=2, sort_keys=True)
    else:
        _print_gate(
            judged.evidence, results, judged.document, (judged.verdict_path, judged.junit_path)
        )
    sys.exit(overall(results).exit_code)


def _print_gate(evidence: object, results: list, extra: dict, paths: tuple) -> None:
    """The gate's text output: rules, failures, one table per phase, expired rules, verdict."""
    from harness.diff.summary import failure_lines
    from harness.gates.engine import overall
    from harness.gates.verdict import rules_lines, text_table

    for line in rules_lines(extra["accepted_differences"]):
        click.echo(line)
    for line in failure_lines(extra["failures"]):
        click.echo(line)
    click.echo("")
    for r in results:
        click.echo(text_table(r))
        click.echo("")
    for rule in evidence.rules.expired(evidence.today):  # type: ignore[attr-defined]
        click.echo(
            f"expired rule {rule.id} (owner {rule.owner}, expired {rule.expires}) no longer applies"
        )
    verdict = overall(results)
    click.echo(f"verdict: {verdict.value}  ({paths[0]}, {paths[1]})")


@cli.command()
@click.argument("run")
@judge_options("Report with no accepted differences.")
@runs_dir_option(RUNS_HELP)
@click.option(
    "--browser-check",
    is_flag=True,
    help="Open report.html in headless Chromium: no console errors, every image drawn; "
    "screenshot to RUN/report.png.",
)
def report(run: str, judge: JudgeArgs, runs_dir: str, browser_check: bool) -> None:
    """Write RUN/report.html (self-contained) and RUN/report.md with every phase's verdict."""
    files = _report(run, runs_dir, judge)
    for r in files.results:
        click.echo(f"{r.phase:28s} {r.verdict.value}")
    click.echo(f"report: {files.html} ({files.seconds:.2f} s); markdown: {files.markdown}")
    if browser_check:
        _browser_check(files.html)


def _report(run: str, runs_dir: str, judge: JudgeArgs, on_results: Any = None) -> Any:
    """Build RUN's report (`report`, `gate --report`); `on_results` as `build_report`'s `judge`."""
    from harness.report.plot_worker import PlotWorker

    # The figures' process starts before this one imports DuckDB, pandas and SciPy: matplotlib's
    # import runs on the other core meanwhile (harness/report/plot_worker.py).
    found = Path(run).is_dir() or (Path(runs_dir) / run).is_dir()
    plots = PlotWorker.process() if found else None
    try:
        from harness.report.build import build_report
        from harness.store.runs import resolve_run

        run_dir = resolve_run(run, runs_dir)
        with step(f"report {run_dir.name}", wanted(None, False)):
            return build_report(
                run_dir,
                accept=judge.accept_path,
                no_accept=judge.no_accept,
                today=judge.day,
                plots=plots,
                judge=on_results,
            )
    finally:
        if plots is not None:
            plots.close()


def _browser_check(html: Path) -> None:
    from harness.core.errors import StoreError
    from harness.report.browser import check_in_browser

    check = check_in_browser(html, screenshot=html.with_name("report.png"))
    click.echo(
        f"browser: {check.images} image(s), {len(check.broken_images)} broken, "
        f"{len(check.console_errors)} console error(s); screenshot {check.screenshot}"
    )
    for problem in [*check.console_errors, *(f"image not drawn: {b}" for b in check.broken_images)]:
        click.echo(f"  {problem}")
    if not check.ok:
        raise StoreError(f"{html}: the report does not render cleanly in Chromium")
