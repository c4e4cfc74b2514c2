"""`harness import`: CSV, Parquet, Polygon flat files, LOBSTER and Databento DBN into a validated recording."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click

from harness.cli.app import cli
from harness.cli.options import collect
from harness.cli.progress import progress_bar, wanted


@dataclass(frozen=True)
class ImportArgs:
    """How SRC is read and what the recording records about it."""

    fmt: str
    mapping: str | None
    ts_unit: str
    tz: str
    ticker: str | None
    orderbook: str | None
    day: str | None
    on_bad_row: str
    name: str | None
    note: str | None
    licence: str | None
    rows_per_file: int
    overwrite: bool


@cli.command("import")
@click.argument("src", type=click.Path())
@click.argument("out", type=click.Path())
@click.option(
    "--format",
    "fmt",
    required=True,
    type=click.Choice(
        ["csv", "parquet", "polygon-trades", "polygon-minute", "lobster", "lobster-csv", "dbn"]
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
@collect(ImportArgs, "args")
def import_cmd(src: str, out: str, args: ImportArgs) -> None:
    """Import SRC (CSV, Parquet, Polygon flat file, LOBSTER, Databento DBN) into a validated recording OUT.

    Formats: csv / parquet with --map; polygon-trades and polygon-minute (flat-file CSV, .gz
    ok); lobster (the sample-data trades Parquet); lobster-csv (raw LOBSTER message file, its
    orderbook file found by name); dbn (Databento trades, MBP-1 or TBBO; .dbn or .dbn.zst).
    """
    from harness.recordings.importers.importer import ImportSpec, import_file, parse_mapping

    notes = {k: v for k, v in (("note", args.note), ("licence", args.licence)) if v}
    with progress_bar(None, wanted(None, False), what="import", unit="rows") as advance:
        result = import_file(
            src,
            out,
            ImportSpec(
                args.fmt,
                mapping=parse_mapping(args.mapping),
                ts_unit=args.ts_unit,
                tz=args.tz,
                ticker=args.ticker,
                orderbook=args.orderbook,
                day=args.day,
                on_bad_row=args.on_bad_row,
                name=args.name,
                notes=notes or None,
                rows_per_file=args.rows_per_file,
                overwrite=args.overwrite,
            ),
            progress=_deltas(advance),
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


def _deltas(advance: Any) -> Any:
    """import_file reports rows written so far; the progress display wants increments."""
    if advance is None:
        return None
    shown = [0]

    def progress(written: int) -> None:
        advance(written - shown[0])
        shown[0] = written

    return progress
