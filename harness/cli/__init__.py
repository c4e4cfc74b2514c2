"""The `harness` command line; the only module that imports click.

Subcommands are registered in this file, one function each; HarnessError subclasses become a
one-line message and their exit code (design.md §10), never a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from harness import __version__
from harness.core.errors import ConfigError, HarnessError


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


def _print_json(obj: Any) -> None:
    import json

    click.echo(json.dumps(obj, indent=1, default=str))


@cli.command("info")
@click.argument("recording", type=click.Path())
@click.option("--top", default=10, show_default=True, help="How many top tickers to list.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def info_cmd(recording: str, top: int, as_json: bool) -> None:
    """Describe a recording: tickers, ticks, time span, sessions, top tickers, size.

    The recording is validated first (exit 5 with the first problem): a description of a
    recording that cannot be trusted would read as if it could."""
    from harness.recordings.describe import summarize_recording
    from harness.recordings.reader import check_recording

    check_recording(recording)
    s = summarize_recording(recording, top=top)
    if as_json:
        _print_json(s)
        return
    click.echo(f"recording  {s['name']}  ({s['path']})")
    click.echo(f"source     {s['source']}")
    click.echo(f"sha256     {s['sha256']}")
    click.echo(
        f"ticks      {s['ticks']:,}   tickers {s['tickers']:,}   files {s['files']}   size {s['size_bytes'] / 1e6:.1f} MB"
    )
    click.echo(f"span       {s['first_time']} .. {s['last_time']}  (dates {', '.join(s['dates'])})")
    click.echo("sessions   " + "   ".join(f"{k} {v:,}" for k, v in s["sessions"].items()))
    click.echo("top        " + ", ".join(f"{t['ticker']} {t['ticks']:,}" for t in s["top_tickers"]))


@cli.command("validate")
@click.argument("recording", type=click.Path())
@click.option(
    "--repair", is_flag=True, help="Finalise a crashed recording, keeping every complete part file."
)
@click.option(
    "--max-problems", default=50, show_default=True, help="Show at most this many problems."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def validate_cmd(recording: str, repair: bool, max_problems: int, as_json: bool) -> None:
    """Check a recording (manifest, hashes, schema, every row); exit 5 if anything is wrong."""
    from harness.core.errors import RecordingError
    from harness.recordings.repair import repair_recording
    from harness.recordings.validation import validate_recording

    if repair:
        manifest, removed = repair_recording(recording)
        click.echo(
            f"repaired {recording}: kept {len(manifest['files'])} part file(s), "
            f"{manifest['tick_count']:,} ticks; set aside {len(removed)}: {', '.join(removed) or '-'}"
        )
    problems = validate_recording(recording, max_problems=max_problems)
    if as_json:
        _print_json(
            [
                {
                    "kind": p.kind,
                    "file": p.file,
                    "column": p.column,
                    "row": p.row,
                    "message": p.message,
                }
                for p in problems
            ]
        )
    else:
        for p in problems:
            click.echo(str(p))
    if problems:
        shown = [p for p in problems if p.kind != "truncated"]
        raise RecordingError(
            f"{recording}: {len(shown)}{'+' if len(shown) < len(problems) else ''} problem(s); first: {shown[0] if shown else problems[0]}"
        )
    if not as_json:
        click.echo(f"ok: {recording} is a valid recording")


@cli.command("synth")
@click.argument("out", type=click.Path())
@click.option(
    "--date",
    "day",
    default="2026-03-10",
    show_default=True,
    help="Trading day (YYYY-MM-DD, a weekday).",
)
@click.option("--tickers", default=4000, show_default=True, help="Number of tickers.")
@click.option("--ticks", default=10_000_000, show_default=True, help="Total ticks in the day.")
@click.option("--seed", default=0, show_default=True, help="Random seed (same seed, same day).")
@click.option("--name", default=None, help="Recording name (default: directory name).")
@click.option(
    "--rows-per-file", default=2_000_000, show_default=True, help="Rows per Parquet part file."
)
@click.option("--overwrite", is_flag=True, help="Replace an existing recording at OUT.")
def synth_cmd(
    out: str,
    day: str,
    tickers: int,
    ticks: int,
    seed: int,
    name: str | None,
    rows_per_file: int,
    overwrite: bool,
) -> None:
    """Generate a seeded synthetic market day (pre-market, regular, after-hours) as a recording."""
    import time

    from rich.progress import Progress

    from harness.recordings.synth import synthesize_day

    started = time.perf_counter()
    with Progress(transient=True) as bar:
        task = bar.add_task("synth", total=1)
        manifest = synthesize_day(
            out,
            day,
            tickers=tickers,
            ticks=ticks,
            seed=seed,
            name=name,
            rows_per_file=rows_per_file,
            overwrite=overwrite,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    secs = time.perf_counter() - started
    click.echo(
        f"wrote {out}: {manifest['tick_count']:,} ticks, {len(manifest['tickers']):,} tickers, "
        f"{len(manifest['files'])} file(s) in {secs:.1f} s"
    )


@cli.command("import")
@click.argument("src", type=click.Path())
@click.argument("out", type=click.Path())
@click.option(
    "--format",
    "fmt",
    required=True,
    type=click.Choice(
        ["csv", "parquet", "polygon-trades", "polygon-minute", "lobster", "lobster-csv"]
    ),
    help="Input format (csv/parquet need --map).",
)
@click.option(
    "--map",
    "mapping",
    default=None,
    help="Column mapping for csv/parquet: recording_column=source_column,… e.g. ts=t,price=p,volume=size,ticker=sym",
)
@click.option(
    "--ts-unit",
    default="ns",
    show_default=True,
    type=click.Choice(["s", "ms", "us", "ns", "iso"]),
    help="Unit of integer timestamps, or iso for timestamp text.",
)
@click.option(
    "--tz", default="UTC", show_default=True, help="Timezone of iso timestamps without an offset."
)
@click.option(
    "--ticker", default=None, help="Ticker for every row (files without a ticker column)."
)
@click.option(
    "--orderbook", default=None, help="lobster-csv: the orderbook file (default: by name)."
)
@click.option(
    "--date", "day", default=None, help="lobster-csv: trading day (default: from the name)."
)
@click.option(
    "--on-bad-row",
    default="fail",
    show_default=True,
    type=click.Choice(["fail", "skip"]),
    help="Refuse the import on any bad row, or drop bad rows and report them.",
)
@click.option("--name", default=None, help="Recording name (default: directory name).")
@click.option(
    "--note", "note", default=None, help="Free-text provenance note stored in the manifest."
)
@click.option(
    "--licence", default=None, help="Licence note of the input data, stored in the manifest."
)
@click.option(
    "--rows-per-file", default=2_000_000, show_default=True, help="Rows per Parquet part file."
)
@click.option("--overwrite", is_flag=True, help="Replace an existing recording at OUT.")
def import_cmd(
    src: str,
    out: str,
    fmt: str,
    mapping: str | None,
    ts_unit: str,
    tz: str,
    ticker: str | None,
    orderbook: str | None,
    day: str | None,
    on_bad_row: str,
    name: str | None,
    note: str | None,
    licence: str | None,
    rows_per_file: int,
    overwrite: bool,
) -> None:
    """Import SRC (CSV, Parquet, Polygon flat file, LOBSTER) into a validated recording OUT.

    Formats: csv / parquet with --map; polygon-trades and polygon-minute (flat-file CSV, .gz
    ok); lobster (the sample-data trades Parquet); lobster-csv (raw LOBSTER message file, its
    orderbook file found by name).
    """
    from harness.recordings.importers.mapping import import_file, parse_mapping

    result = import_file(
        src,
        out,
        fmt,
        mapping=parse_mapping(mapping),
        ts_unit=ts_unit,
        tz=tz,
        ticker=ticker,
        orderbook=orderbook,
        day=day,
        on_bad_row=on_bad_row,
        name=name,
        notes={k: v for k, v in (("note", note), ("licence", licence)) if v} or None,
        rows_per_file=rows_per_file,
        overwrite=overwrite,
    )
    click.echo(
        f"imported {src} -> {out}: {result.rows_written:,} ticks written, "
        f"{result.rows_rejected:,} bad row(s) skipped of {result.rows_read:,}"
    )
    for example in result.examples:
        click.echo(f"  skipped {example}")
    if result.rows_reordered:
        click.echo(
            f"  repaired order: {result.rows_reordered:,} row(s) came after a later time in the "
            "input; written in time order"
        )


# --- replay core: replay, diff, runs ---


def _progress_bar(total: int | None, enabled: bool) -> Any:
    """A rich progress bar with ticks/s on stderr, or a no-op context when disabled."""
    import contextlib

    if not enabled:
        return contextlib.nullcontext(None)
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.text import Text

    class _Rate(ProgressColumn):
        def render(self, task: Any) -> Text:
            return Text(f"{task.speed or 0:>10,.0f} ticks/s")

    class _Bar:
        def __enter__(self) -> Any:
            self.progress = Progress(
                TextColumn("replay"),
                BarColumn(),
                MofNCompleteColumn(),
                _Rate(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.progress.__enter__()
            task = self.progress.add_task("replay", total=total)
            return lambda n: self.progress.advance(task, n)

        def __exit__(self, *exc: Any) -> None:
            self.progress.__exit__(*exc)

    return _Bar()


F = TypeVar("F", bound=Callable[..., Any])


def _compose(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Apply click decorators in the order they are listed (top to bottom, as if stacked)."""

    def apply(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


#: Stack selection shared by `replay` and `live` (same stacks, same config syntax).
_stack_options = _compose(
    click.option(
        "--primary",
        default="tickstock.stacks:legacy",
        show_default=True,
        help="Primary stack factory, package.module:function.",
    ),
    click.option(
        "--candidate", default=None, help="Candidate stack factory (default: the primary, A/A)."
    ),
    click.option(
        "--aa", is_flag=True, help="A/A run: the candidate is the primary with its config."
    ),
    click.option(
        "--set",
        "sets",
        multiple=True,
        metavar="SIDE.KEY=VALUE",
        help="Stack config, e.g. candidate.phase=phase_1_parallel_testing (typed; repeatable).",
    ),
    click.option(
        "--stack-config", type=click.Path(dir_okay=False), help="TOML with [primary]/[candidate]."
    ),
)

#: Where `gate`, `report` and `compare` look up run ids (one name with replay's `--runs-dir`).
_runs_root_option = click.option(
    "--runs-dir",
    "--runs-root",  # the old name, kept for a release
    "runs_root",
    default="reports/runs",
    show_default=True,
    help="Where run ids live (the directory replay writes runs to).",
)

#: Runner knobs shared by `replay` and `live`.
_runner_options = _compose(
    click.option(
        "--seed", type=int, default=0, show_default=True, help="Seeds call order and faults."
    ),
    click.option(
        "--tick-timeout",
        type=float,
        default=5.0,
        show_default=True,
        help="Seconds one stack call may take before it is a timeout observation (0: off).",
    ),
    click.option(
        "--max-hangs",
        type=click.IntRange(min=1),
        default=3,
        show_default=True,
        help="Consecutive timeouts on one ticker that abort the run as incomplete.",
    ),
    click.option(
        "--inject",
        default=None,
        help="Candidate faults: error_rate=,delay_ms=,drop_rate=,hang_ticker=",
    ),
    click.option("--diff-config", type=click.Path(dir_okay=False), help="TOML diff config."),
)


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
@_stack_options
@click.option("--mode", default="afap", show_default=True, help="afap, realtime or speed=N.")
@click.option("--tickers", default=None, help="Comma-separated tickers to replay.")
@click.option("--from", "from_", default=None, help="Start time (ISO, UTC if naive; or ns).")
@click.option("--to", "to", default=None, help="End time, exclusive (ISO or ns).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Replay at most N ticks.")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=65_536,
    show_default=True,
    help="Ticks per stored part: the unit a killed replay resumes from.",
)
@_runner_options
@click.option(
    "--runs-dir", default="reports/runs", show_default=True, help="Where run directories go."
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--progress/--no-progress", default=None, help="Progress bar (default: when a terminal)."
)
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
def replay(
    recording: str | None,
    resume: str | None,
    primary: str,
    candidate: str | None,
    aa: bool,
    sets: tuple[str, ...],
    stack_config: str | None,
    mode: str,
    tickers: str | None,
    from_: str | None,
    to: str | None,
    limit: int | None,
    batch_size: int,
    seed: int,
    tick_timeout: float,
    max_hangs: int,
    inject: str | None,
    diff_config: str | None,
    runs_dir: str,
    as_json: bool,
    progress: bool | None,
    workers: int | None,
    scheduler: str | None,
    shards: int | None,
    shard_timeout: float | None,
) -> None:
    """Shadow-replay RECORDING through primary and candidate, diff their events, store the run.

    Inputs with several shards (several days, or a large day) replay sharded on Dask by default.
    `--resume RUN` finishes a replay that was killed, to the result an uninterrupted one gives.
    """
    from harness.core.errors import ConfigError
    from harness.diff.align import DiffConfig
    from harness.pipeline.replay import expected_ticks
    from harness.pipeline.replay import replay as replay_request
    from harness.pipeline.request import ReplayRequest
    from harness.pipeline.sharded import sharded_plan
    from harness.replay.faults import FaultSpec
    from harness.replay.runner import RunOptions
    from harness.replay.shadow import StackSpec
    from harness.replay.sources import Pace, parse_time
    from harness.replay.stack_config import stack_configs

    if resume is not None:
        from harness.pipeline.resume import resume_run
        from harness.store.runs import resolve_run

        if recording is not None:
            raise ConfigError("--resume RUN takes its recording from the run: give no RECORDING")
        run_dir = resolve_run(resume, runs_dir)
        show = progress if progress is not None else (sys.stderr.isatty() and not as_json)
        with _progress_bar(None, bool(show)) as advance:
            _replay_done(resume_run(run_dir, advance), as_json)
        return
    if recording is None:
        raise ConfigError("give a RECORDING to replay (or --resume RUN)")

    configs = stack_configs(sets, stack_config)
    Pace.parse(mode)  # a bad --mode is an error before anything starts
    names = [t.strip() for t in tickers.split(",") if t.strip()] if tickers else None
    if aa or candidate is None or (candidate == primary and configs["candidate"] == {}):
        candidate = None
    request = ReplayRequest(
        Path(recording),
        StackSpec(primary, configs["primary"]),
        None if candidate is None else StackSpec(candidate, configs["candidate"]),
        RunOptions(
            seed=seed,
            tick_timeout_s=tick_timeout or None,
            max_hangs=max_hangs,
            batch_size=batch_size,
        ),
        FaultSpec.parse(inject),
        names,
        parse_time(from_, "--from"),
        parse_time(to, "--to"),
        limit,
        mode,
        Path(runs_dir),
        DiffConfig.load(diff_config),
        workers,
        scheduler,
        shards,
        shard_timeout,
        filters={"tickers": names, "from": from_, "to": to, "limit": limit},
    )
    show = progress if progress is not None else (sys.stderr.isatty() and not as_json)
    plan = sharded_plan(request)
    total = expected_ticks(request, plan) if show else None
    with _progress_bar(total, bool(show)) as advance:
        _replay_done(replay_request(request, advance, plan), as_json)


def _replay_done(result: Any, as_json: bool) -> None:
    """Print a finished replay's summary; an incomplete run is exit code 5."""
    import json

    from harness.core.errors import IncompleteRunError
    from harness.diff.summary import render

    if as_json:
        click.echo(json.dumps({**result.summary, "path": str(result.path)}, indent=2, default=str))
    else:
        click.echo(render(result.summary, str(result.path)))
    if result.status != "complete":
        raise IncompleteRunError(f"run {result.run_id} is {result.status}: {result.reason}")


@cli.command()
@click.argument("run")
@click.option("--config", "diff_config", type=click.Path(dir_okay=False), help="TOML diff config.")
@click.option("--runs-dir", default="reports/runs", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def diff(run: str, diff_config: str | None, runs_dir: str, as_json: bool) -> None:
    """Re-diff a stored RUN (directory or run id) with another diff config, without replaying."""
    import json

    from harness.diff.align import DiffConfig
    from harness.diff.summary import render
    from harness.pipeline.lifecycle import diff_run
    from harness.store.runs import open_run

    stored = open_run(run, runs_dir)
    summary = diff_run(stored, DiffConfig.load(diff_config))
    if as_json:
        click.echo(json.dumps({**summary, "path": str(stored.path)}, indent=2, default=str))
    else:
        click.echo(render(summary, str(stored.path)))


@cli.command()
@click.option("--runs-dir", default="reports/runs", show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show the newest N runs.")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def runs(runs_dir: str, limit: int | None, as_json: bool) -> None:
    """List stored runs: status, recording, stacks, ticks, match rate, verdict."""
    import json

    from harness.store.catalog import run_rows

    rows = run_rows(runs_dir)[:limit]
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        click.echo(f"no runs under {runs_dir}")
        return
    header = f"{'run_id':<27} {'status':<10} {'recording':<16} {'ticks':>9} {'match':>9} {'verdict':<12} stacks"
    click.echo(header)
    for r in rows:
        match = "-" if r["match_rate"] is None else f"{100 * r['match_rate']:.2f}%"
        click.echo(
            f"{r['run_id']:<27} {r['status']:<10} {str(r['recording'] or '-'):<16} "
            f"{str(r['ticks'] if r['ticks'] is not None else '-'):>9} {match:>9} "
            f"{str(r['verdict'] or '-'):<12} {r['primary']} vs {r['candidate']}"
        )


# --- readiness: gate, report, compare, calibrate ---


@cli.command()
@click.argument("run")
@click.option("--phase", "phases", multiple=True, help="Rollout phase to gate (repeatable).")
@click.option("--all", "all_phases", is_flag=True, help="Gate every rollout phase.")
@click.option(
    "--accept",
    type=click.Path(dir_okay=False),
    help="Accepted-differences TOML (default: the copy recorded with the run at replay).",
)
@click.option("--no-accept", is_flag=True, help="Judge the run with no accepted differences.")
@click.option(
    "--junit", type=click.Path(dir_okay=False), help="JUnit XML path (default RUN/junit.xml)."
)
@_runs_root_option
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), help="Date for rule expiry.")
@click.option("--json", "as_json", is_flag=True, help="Print verdict.json instead of tables.")
def gate(
    run: str,
    phases: tuple[str, ...],
    all_phases: bool,
    accept: str | None,
    no_accept: bool,
    junit: str | None,
    runs_root: str,
    today: Any,
    as_json: bool,
) -> None:
    """Gate RUN for rollout phases: table, verdict.json, junit.xml; exit 0 pass / 3 fail / 4 inconclusive."""
    import json

    from harness.core.errors import ConfigError
    from harness.core.files import remove
    from harness.diff.summary import failure_lines
    from harness.gates.engine import PHASES, gate_inputs, gate_run, overall
    from harness.gates.verdict import (
        rules_lines,
        text_table,
        verdict_document,
        write_junit,
        write_verdict,
    )
    from harness.store.runs import resolve_run

    if all_phases == bool(phases):
        raise ConfigError("give --phase PHASE (repeatable) or --all")
    selected = PHASES if all_phases else tuple(phases)
    run_dir = resolve_run(run, runs_root)
    junit_target = Path(junit) if junit else run_dir / "junit.xml"
    # an earlier verdict must not survive a gate that fails: nobody may read it as this one's
    remove(run_dir / "verdict.json", junit_target)
    evidence, results = gate_run(
        run_dir,
        selected,
        accept=Path(accept) if accept else None,
        no_accept=no_accept,
        today=today.date() if today else None,
    )
    try:
        rules_doc = evidence.rules_document()
        inputs = gate_inputs(evidence, selected)
        failed = evidence.failures()
    finally:
        evidence.close()
    extra = {"accepted_differences": rules_doc, "inputs": inputs, "failures": failed}
    verdict_path = write_verdict(run_dir / "verdict.json", results, extra)
    junit_path = write_junit(junit_target, results, rules_doc, failed)
    if as_json:
        click.echo(
            json.dumps(verdict_document(results, extra), indent=2, sort_keys=True, default=str)
        )
    else:
        for line in rules_lines(rules_doc):
            click.echo(line)
        for line in failure_lines(failed):
            click.echo(line)
        click.echo("")
        for r in results:
            click.echo(text_table(r))
            click.echo("")
        for rule in evidence.rules.expired(evidence.today):
            click.echo(
                f"expired rule {rule.id} (owner {rule.owner}, expired {rule.expires}) no longer applies"
            )
        verdict = overall(results)
        click.echo(f"verdict: {verdict.value}  ({verdict_path}, {junit_path})")
    sys.exit(overall(results).exit_code)


@cli.command()
@click.argument("run")
@click.option(
    "--accept",
    type=click.Path(dir_okay=False),
    help="Accepted-differences TOML (default: the copy recorded with the run at replay).",
)
@click.option("--no-accept", is_flag=True, help="Report with no accepted differences.")
@_runs_root_option
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), help="Date for rule expiry.")
def report(run: str, accept: str | None, no_accept: bool, runs_root: str, today: Any) -> None:
    """Write RUN/report.html (self-contained) and RUN/report.md with every phase's verdict."""
    from harness.report.plot_worker import PlotWorker

    # The figures' process starts before this one imports DuckDB, pandas and SciPy: matplotlib's
    # import runs on the other core meanwhile (harness/report/plot_worker.py).
    found = Path(run).is_dir() or (Path(runs_root) / run).is_dir()
    plots = PlotWorker.process() if found else None
    try:
        from harness.report.build import build_report
        from harness.store.runs import resolve_run

        run_dir = resolve_run(run, runs_root)
        files = build_report(
            run_dir,
            accept=Path(accept) if accept else None,
            no_accept=no_accept,
            today=today.date() if today else None,
            plots=plots,
        )
    finally:
        if plots is not None:
            plots.close()
    for r in files.results:
        click.echo(f"{r.phase:28s} {r.verdict.value}")
    click.echo(f"report: {files.html} ({files.seconds:.2f} s); markdown: {files.markdown}")


@cli.command()
@click.argument("run_a")
@click.argument("run_b")
@_runs_root_option
def compare(run_a: str, run_b: str, runs_root: str) -> None:
    """Did the candidate's events or latency change from RUN_A to RUN_B (same recording)?"""
    from harness.gates.run_vs_run import compare_runs, write_comparison
    from harness.gates.verdict import text_table
    from harness.store.runs import resolve_run

    a, b = resolve_run(run_a, runs_root), resolve_run(run_b, runs_root)
    result = compare_runs(a, b)
    click.echo(text_table(result))
    click.echo(f"verdict: {result.verdict.value}  ({write_comparison(b, result)})")
    sys.exit(result.exit_code)


@cli.command()
@click.argument("recording", type=click.Path(exists=True, file_okay=False))
@click.option("--primary", default="tickstock.stacks:legacy", show_default=True)
@click.option("--runs", "n_runs", default=3, show_default=True, help="A/A runs.")
@click.option("--max-ticks", type=int, help="Replay only the first N ticks.")
@click.option("--reports", default="reports", show_default=True, help="Reports directory.")
def calibrate(
    recording: str, primary: str, n_runs: int, max_ticks: int | None, reports: str
) -> None:
    """A/A-replay RECORDING to measure the latency noise floor the gates state and use."""
    from harness.ci.regression import calibrate as run_calibration

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


# --- live: feed, live ---


def _secret_from_env(var: str | None) -> str | None:
    """The value of the environment variable named by --key-env (never echoed)."""
    if var is None:
        return None
    value = os.environ.get(var)
    if not value:
        raise ConfigError(f"--key-env {var}: environment variable {var} is not set or empty")
    return value


@cli.command()
@click.argument("recording", type=click.Path(path_type=Path))
@click.option(
    "--port", type=int, default=8765, show_default=True, help="TCP port (0 picks a free one)."
)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Interface to bind (loopback)."
)
@click.option(
    "--speed",
    default="1",
    show_default=True,
    help="N× real time, or 'max' (as fast as clients read).",
)
@click.option("--loop", is_flag=True, help="Replay the recording forever, time moving forward.")
@click.option("--key-env", help="Require the API key held in this environment variable.")
@click.option(
    "--batch-ms",
    type=int,
    default=100,
    show_default=True,
    help="Feed-time window batched per frame.",
)
@click.option(
    "--max-batch", type=int, default=500, show_default=True, help="Most messages per frame."
)
@click.option(
    "--min-clients", type=int, default=1, show_default=True, help="Start once this many subscribed."
)
@click.option("--once", is_flag=True, help="Exit after the recording has been served once.")
@click.option("--chaos-drop-after", type=int, help="Abort a connection after it got N messages.")
@click.option(
    "--chaos-drop-limit", type=int, default=1, show_default=True, help="Most aborts per server."
)
@click.option(
    "--chaos-malformed-every", type=int, help="Send a malformed frame before every Nth frame."
)
@click.option("--chaos-stall-after", type=int, help="Stall a connection once after N messages.")
@click.option(
    "--chaos-stall-seconds", type=float, default=5.0, show_default=True, help="Length of the stall."
)
def feed(
    recording: Path,
    port: int,
    host: str,
    speed: str,
    loop: bool,
    key_env: str | None,
    batch_ms: int,
    max_batch: int,
    min_clients: int,
    once: bool,
    chaos_drop_after: int | None,
    chaos_drop_limit: int,
    chaos_malformed_every: int | None,
    chaos_stall_after: int | None,
    chaos_stall_seconds: float,
) -> None:
    """Serve RECORDING over the Polygon stocks WebSocket protocol (ws://HOST:PORT/stocks)."""
    from harness.live.feed_server import Chaos, FeedConfig, parse_speed, run_feed
    from harness.recordings.reader import check_recording

    check_recording(recording)  # a client must never receive a broken recording's ticks

    chaos = Chaos(
        chaos_drop_after,
        chaos_drop_limit,
        chaos_malformed_every,
        chaos_stall_after,
        chaos_stall_seconds,
    )
    config = FeedConfig(
        recording,
        host,
        port,
        parse_speed(speed),
        loop,
        _secret_from_env(key_env),
        batch_ms,
        max_batch,
        min_clients=min_clients,
        chaos=chaos,
    )
    frames = run_feed(config, once, lambda line: click.echo(line, err=True))
    click.echo(f"feed stopped after {frames} frames", err=True)


def _parse_duration(text: str | None) -> float | None:
    """`--duration`: seconds, or a number with s/m/h (30s, 5m, 1h)."""
    if text is None:
        return None
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    raw = text.strip().lower()
    factor = units.get(raw[-1:])
    try:
        value = float(raw[:-1] if factor else raw) * (factor or 1.0)
    except ValueError:
        raise ConfigError(f"--duration must look like 30s, 5m, 1h or 90, got {text!r}") from None
    if not value > 0:
        raise ConfigError(f"--duration must be > 0, got {text!r}")
    return value


@cli.command()
@click.option(
    "--url", default="wss://socket.polygon.io/stocks", show_default=True, help="Feed URL."
)
@click.option(
    "--key-env",
    default="POLYGON_API_KEY",
    show_default=True,
    help="Environment variable holding the API key (never logged or stored).",
)
@click.option(
    "--subscribe", "subscriptions", default="A.*,T.*", show_default=True, help="Polygon topics."
)
@_stack_options
@_runner_options
@click.option(
    "--duration", default=None, help="Stop after this long (30s, 5m, 1h); default: Ctrl-C."
)
@click.option(
    "--record",
    type=click.Path(path_type=Path),
    default=None,
    help="Record the live ticks to this new recording directory.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing recording at --record.")
@click.option(
    "--flush-ticks",
    type=click.IntRange(min=1),
    default=20_000,
    show_default=True,
    help="Flush the recording to a new part file every N ticks …",
)
@click.option(
    "--flush-seconds", type=float, default=10.0, show_default=True, help="… or every T seconds."
)
@click.option(
    "--queue-size",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Bounded queue between socket and stacks; overflow is counted and makes the run incomplete.",
)
@click.option(
    "--runs-dir", default="reports/runs", show_default=True, help="Where run directories go."
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--progress/--no-progress", default=None, help="Progress line (default: when a terminal)."
)
@click.option(
    "--report/--no-report",
    default=True,
    show_default=True,
    help="Gate every phase and write report.html / report.md into the run directory.",
)
def live(
    url: str,
    key_env: str,
    subscriptions: str,
    primary: str,
    candidate: str | None,
    aa: bool,
    sets: tuple[str, ...],
    stack_config: str | None,
    seed: int,
    tick_timeout: float,
    max_hangs: int,
    inject: str | None,
    diff_config: str | None,
    duration: str | None,
    record: Path | None,
    overwrite: bool,
    flush_ticks: int,
    flush_seconds: float,
    queue_size: int,
    runs_dir: str,
    as_json: bool,
    report: bool,
    progress: bool | None,
) -> None:
    """Shadow primary and candidate on a live Polygon-protocol feed and record the ticks."""
    import json

    from harness.core.errors import IncompleteRunError, LiveError
    from harness.diff.align import DiffConfig
    from harness.diff.summary import render
    from harness.live.client import LiveConfig
    from harness.live.session import LiveRequest, RecordOptions, public_url, run_live
    from harness.replay.faults import FaultSpec
    from harness.replay.runner import RunOptions
    from harness.replay.shadow import RunSpec
    from harness.replay.stack_config import stack_configs

    configs = stack_configs(sets, stack_config)
    if aa or candidate is None or (candidate == primary and configs["candidate"] == {}):
        candidate, configs["candidate"] = None, configs["primary"]
    config = LiveConfig(
        url,
        key=os.environ.get(key_env, ""),
        subscriptions=subscriptions,
        queue_size=queue_size,
        duration_s=_parse_duration(duration),
        seed=seed,
    )
    options = RunOptions(
        seed=seed, tick_timeout_s=tick_timeout or None, max_hangs=max_hangs, flush_interval_s=2.0
    )
    rec = (
        RecordOptions(record, flush_ticks, flush_seconds, overwrite) if record is not None else None
    )
    show = progress if progress is not None else (sys.stderr.isatty() and not as_json)
    try:
        with _progress_bar(None, bool(show)) as advance:
            spec = RunSpec.of(
                primary,
                candidate,
                configs["primary"],
                configs["candidate"],
                options,
                FaultSpec.parse(inject),
            )
            result = run_live(
                LiveRequest(config, spec, runs_dir, rec, DiffConfig.load(diff_config)),
                progress=advance,
                on_start=lambda path: click.echo(
                    f"live: shadowing {public_url(config.url)} into {path}", err=True
                ),
            )
    except LiveError as exc:
        if "authentication failed" in str(exc) and not os.environ.get(key_env):
            raise LiveError(f"{exc}; environment variable {key_env} is not set") from None
        raise
    summary = {**result.run.summary, "live": result.live.as_dict()}
    if as_json:
        click.echo(json.dumps({**summary, "path": str(result.run.path)}, indent=2, default=str))
    else:
        click.echo(render(result.run.summary, str(result.run.path)))
        click.echo(_live_lines(result.live.as_dict(), rec.path if rec else None))
    if report:
        from harness.report.build import build_report

        files = build_report(result.run.path, seed=seed)
        for r in files.results:
            click.echo(f"{r.phase:28s} {r.verdict.value}", err=as_json)
        click.echo(f"report: {files.html}", err=as_json)
    if result.live.error is not None:
        raise LiveError(f"live session ended early: {result.live.error}")
    if result.run.status != "complete":
        raise IncompleteRunError(
            f"run {result.run.run_id} is {result.run.status}: {result.run.reason}"
        )


def _live_lines(live: dict[str, Any], record: Path | None) -> str:
    """A few human lines about the feed side of a live session."""
    lines = [
        f"feed: {live['received']} ticks received, {live['delivered']} shadowed, {live['dropped']} dropped "
        f"(queue max {live['queue_depth_max']}/{live['queue_size']}), {live['connects']} connection(s), "
        f"ended by {live['ended_by']}",
        f"lag: queue wait p50 {live['queue_wait']['p50_ms']:.2f} ms, p99 {live['queue_wait']['p99_ms']:.2f} ms, "
        f"max {live['queue_wait']['max_ms']:.2f} ms",
    ]
    for gap in live["gaps"]:
        lines.append(
            f"gap: {gap['seconds']} s after seq {gap['last_seq']}, ticks possibly missed "
            f"{gap['ticks_possibly_missed']} ({gap['reason']})"
        )
    if live["bad_messages"]:
        lines.append(
            "bad messages: " + ", ".join(f"{k} {v}" for k, v in live["bad_messages"].items())
        )
    if record is not None:
        lines.append(f"recording: {record}")
    return "\n".join(lines)


# --- end of subcommands ---


def main() -> None:
    cli(prog_name="harness")


if __name__ == "__main__":
    main()
