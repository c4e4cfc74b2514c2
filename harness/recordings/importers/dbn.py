"""Databento DBN files (trades, MBP-1, TBBO; `.dbn` or `.dbn.zst`) as an import source.

The official `databento-dbn` package does the decoding: its Transcoder streams the binary records
to CSV (raw fixed-point prices, integer nanosecond times, symbols from the file's own symbology
mappings) in a scratch directory, and the importer's DuckDB mapping does the rest, so a DBN import
goes through the same bad-row checks, ordering and validation as every other format.

A tick is a trade: in MBP-1 data only the records with action `T` are ticks (book updates are
counted in the recording's notes); their `bid`/`ask` are the record's top of book (after the event
for MBP-1, before the trade for TBBO, as Databento defines them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.core.errors import RecordingError

#: DBN schemas whose records are trades (possibly with the top of book).
SCHEMAS = ("trades", "mbp-1", "tbbo")
_CHUNK = 4 << 20
#: Databento's "no price" sentinel (i64 max): a missing price, not a number.
UNDEF_PRICE = 9_223_372_036_854_775_807
_SCALE = 1_000_000_000  # DBN prices are fixed-point integers, 1e-9 units


def _open(path: Path) -> Any:
    import pyarrow as pa

    zstd = path.name.endswith((".zst", ".zstd"))
    return pa.input_stream(str(path), compression="zstd" if zstd else None)


def transcode_to_csv(path: Path, scratch: Path) -> tuple[Path, dict[str, Any]]:
    """Decode a DBN file into `scratch/records.csv`; return it with what the file says of itself."""
    import databento_dbn as dbn

    def bad(why: str) -> RecordingError:
        return RecordingError(f"{path}: not a readable DBN file ({why})")

    out = scratch / "records.csv"
    try:
        with _open(path) as src, out.open("wb") as sink:
            head = src.read(_CHUNK)
            decoder = dbn.DBNDecoder()
            decoder.write(head)
            try:
                metadata = decoder.decode()[0]
            except (dbn.DBNError, IndexError) as exc:
                raise bad(str(exc) or "no metadata header") from None
            if not isinstance(metadata, dbn.Metadata):
                raise bad("no metadata header")
            schema = str(metadata.schema) if metadata.schema is not None else None
            if schema not in SCHEMAS:
                raise RecordingError(
                    f"{path}: DBN schema {schema or 'mixed'} holds no trades; "
                    f"--format dbn imports {', '.join(SCHEMAS)}"
                )
            transcoder = dbn.Transcoder(
                sink,
                dbn.Encoding.CSV,  # type: ignore[arg-type]
                dbn.Compression.NONE,  # type: ignore[arg-type]
                pretty_px=False,
                pretty_ts=False,
                map_symbols=True,
            )
            chunk = head
            while chunk:
                transcoder.write(chunk)
                chunk = src.read(_CHUNK)
            transcoder.flush()
            left = len(transcoder.buffer())
    except dbn.DBNError as exc:
        raise bad(str(exc)) from None
    except OSError as exc:
        raise bad(exc.strerror or str(exc)) from None
    if left:
        raise RecordingError(
            f"{path}: truncated DBN file: the last record is cut off ({left} byte(s) left over)"
        )
    about = {
        "dbn_dataset": metadata.dataset,
        "dbn_schema": schema,
        "dbn_version": metadata.version,
        "dbn_stype_in": str(metadata.stype_in) if metadata.stype_in is not None else None,
    }
    return out, about


def dbn_reader_sql(csv: Path) -> str:
    """The transcoded records, trades only: the rows an importer maps to ticks."""
    p = str(csv).replace("'", "''")
    return f"(SELECT * FROM read_csv('{p}', header=true, all_varchar=true) WHERE action = 'T')"


def dbn_counts_sql(csv: Path) -> str:
    p = str(csv).replace("'", "''")
    return (
        f"SELECT count(*), count(*) FILTER (WHERE action <> 'T') "
        f"FROM read_csv('{p}', header=true, all_varchar=true)"
    )


def _price(col: str) -> str:
    raw = f"TRY_CAST({col} AS BIGINT)"
    return f"(CASE WHEN {raw} = {UNDEF_PRICE} THEN NULL ELSE {raw} / {_SCALE}.0 END)"


def dbn_exprs(columns: list[str]) -> dict[str, str]:
    """Recording column → SQL over the transcoded CSV (prices from fixed point, times in ns)."""
    exprs = {
        "ts": "TRY_CAST(ts_event AS BIGINT)",
        "ticker": "nullif(CAST(symbol AS VARCHAR), '')",
        "price": _price("price"),
        "volume": "TRY_CAST(size AS BIGINT)",
        "recv_ts": "TRY_CAST(ts_recv AS BIGINT)",
    }
    if {"bid_px_00", "ask_px_00"} <= set(columns):
        exprs["bid"] = _price("bid_px_00")
        exprs["ask"] = _price("ask_px_00")
    return exprs
