"""Recording commands: `info`, `validate` (and `--repair`), `synth`."""

from __future__ import annotations

import click

from harness.cli.app import cli, print_json
from harness.cli.progress import progress_bar, step, wanted


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
        print_json(s)
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
    with step(f"validate {recording}", wanted(None, as_json)):
        problems = validate_recording(recording, max_problems=max_problems)
    if as_json:
        print_json(
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

    from harness.recordings.synth import SynthSpec, synthesize_day
    from harness.recordings.writer import PartLayout

    started = time.perf_counter()
    shown = [0]

    def progress(chunks_done: int, chunks: int) -> None:
        done = ticks * chunks_done // max(chunks, 1)
        advance(done - shown[0])
        shown[0] = done

    with progress_bar(ticks, wanted(None, False), what="synth") as advance:
        manifest = synthesize_day(
            out,
            SynthSpec(day, tickers=tickers, ticks=ticks, seed=seed),
            name=name,
            layout=PartLayout(rows_per_file=rows_per_file),
            overwrite=overwrite,
            progress=progress if advance else None,
        )
    secs = time.perf_counter() - started
    click.echo(
        f"wrote {out}: {manifest['tick_count']:,} ticks, {len(manifest['tickers']):,} tickers, "
        f"{len(manifest['files'])} file(s) in {secs:.1f} s"
    )
