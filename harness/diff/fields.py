"""Field differences of aligned event pairs whose JSON differs: leaf paths, both values, tolerances.

The result is defined leaf by leaf — DuckDB's `json_tree` leaves of both events, joined on the
path, compared with the per-field tolerances — but computed top-down, one container level at a
time: entries whose JSON text is equal on both sides are dropped at once (equal text ⇒ every
leaf below is equal) and only differing subtrees descend. Pairs with the same keys in the same
order (the usual case) are zipped with list functions; other pairs are joined on the key. All of
it is set-wise and parallel. Why not `json_tree` itself: a lateral `json_tree` over many pairs is
decorrelated by DuckDB into a hash join on the whole JSON strings (200 CPU-s and GBs of memory on
the 10M-tick day). Pairs the walk cannot spell the way `json_tree` does (keys outside
[A-Za-z][A-Za-z0-9_]*, which json_tree quotes; duplicate keys; a root that is not an object) go
through the `json_tree` query itself, so the output is the same for every input::

    field_differences(con, cfg)   # reads temp table _todo(pair_id, p_s, c_s) → temp table _fields
"""

from __future__ import annotations

import duckdb

from harness.core.sqlfiles import statement
from harness.diff.align import DiffConfig

NUMERIC = "('UBIGINT', 'BIGINT', 'DOUBLE', 'HUGEINT')"
#: Keys json_tree writes unquoted in its fullkey; any other key sends the pair to json_tree.
SIMPLE_KEY = "[A-Za-z][A-Za-z0-9_]*"
MAX_DEPTH = 64


def _sql(name: str, **params: object) -> str:
    return statement("harness.diff", "fields", name, **params)


def _expand(con: duckdb.DuckDBPyConnection, level: str) -> None:
    """One level: children of the containers in `level` whose JSON differs → `_leaves` / `_lv`."""
    con.execute(_sql("level", level=level))
    con.execute(_sql("duplicates"))
    con.execute(_sql("aligned_kids"))
    con.execute(_sql("unaligned_kids"))
    con.execute(_sql("odd_keys", simple_key=SIMPLE_KEY))
    con.execute(_sql("leaves"))
    con.execute(_sql("next_level"))


def field_differences(
    con: duckdb.DuckDBPyConnection, cfg: DiffConfig, reference: bool = False
) -> None:
    """Temp table `_fields(pair_id, fields)` for the pairs of `_todo(pair_id, p_s, c_s)`.

    `reference=True` sends every pair through `json_tree` (the definition; for tests).
    """
    con.execute("create or replace temp table _slow (pair_id bigint)")
    con.execute(
        "create or replace temp table _leaves (pair_id bigint, path varchar, pv json, cv json)"
    )
    walk = "false" if reference else "left(p_s, 1) = '{' and left(c_s, 1) = '{'"
    # `_todo` is read once, here (compare.py makes it a view over the stripped events)
    level = _sql("first_level", walk=walk)
    for _ in range(MAX_DEPTH):
        _expand(con, level)
        level = "(select *, false as bad from _lv)"
        if con.execute("select count(*) from _lv").fetchone() == (0,):
            break
    con.execute("insert into _slow select pair_id from _lv")  # deeper than MAX_DEPTH
    con.execute("create or replace temp table _slow as select distinct pair_id from _slow")
    if con.execute("select count(*) from _slow").fetchone() != (0,):
        con.execute("delete from _leaves where pair_id in (select pair_id from _slow)")
        con.execute(_sql("tree_leaves"))
    tol_rows = [("", cfg.default_tolerance.abs, cfg.default_tolerance.rel, 1)] + [
        (k, t.abs, t.rel, 0) for k, t in cfg.tolerances.items()
    ]
    con.execute(
        "create or replace temp table _tol (path varchar, abs double, rel double, is_default int)"
    )
    con.executemany("insert into _tol values (?, ?, ?, ?)", tol_rows)
    con.execute(_sql("judged", numeric=NUMERIC))
