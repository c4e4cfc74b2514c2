"""Ticker codes read from the Parquet dictionaries equal DuckDB's view of the same observations."""

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from harness.gates.measure import create_ticker_ticks, ticker_codes


def _parts(tmp_path):
    """Three parts with different dictionaries, a null ticker, a non-ASCII one, an unused entry."""
    rows = [["MSFT", "AAPL", None, "AAPL"], ["ZZ", "ÄBC", "AAPL"], ["B", "MSFT"]]
    files = []
    for i, tickers in enumerate(rows):
        col = pa.array(tickers, pa.string()).dictionary_encode()
        if i == 2:  # a dictionary page holding a value no row uses
            col = pa.DictionaryArray.from_arrays(
                pa.array([0, 2], pa.int32()), pa.array(["B", "UNUSED", "MSFT"])
            )
        f = tmp_path / f"part-{i:05d}.parquet"
        pq.write_table(pa.table({"seq": np.arange(len(tickers)), "ticker": col}), f)
        files.append(f)
    return files


def test_ticker_codes_index_the_sorted_tickers_in_file_order(tmp_path):
    files = _parts(tmp_path)
    names, codes = ticker_codes(files)
    assert list(names) == ["AAPL", "B", "MSFT", "ZZ", "ÄBC"]
    assert codes.tolist() == [2, 0, -1, 0, 3, 4, 0, 1, 2]
    con = duckdb.connect()
    listing = ", ".join(f"'{f}'" for f in files)
    want = con.execute(
        f"SELECT ticker, count(*) AS ticks FROM read_parquet([{listing}]) "
        "WHERE ticker IS NOT NULL GROUP BY ticker ORDER BY ticker"
    ).fetchall()
    create_ticker_ticks(con, names, codes)
    assert con.execute("SELECT * FROM ticker_ticks").fetchall() == want
    assert [r[0] for r in want] == list(names)


def test_no_observation_files_give_no_tickers():
    names, codes = ticker_codes([])
    assert names.size == 0 and codes.size == 0
