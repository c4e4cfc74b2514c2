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

from harness.diff.align import DiffConfig

NUMERIC = "('UBIGINT', 'BIGINT', 'DOUBLE', 'HUGEINT')"
#: Keys json_tree writes unquoted in its fullkey; any other key sends the pair to json_tree.
SIMPLE_KEY = "[A-Za-z][A-Za-z0-9_]*"
MAX_DEPTH = 64
_CONTAINER = "coalesce(left({v}, 1) in ('{{', '['), false)"


def _side(v: str, s: str) -> str:
    """SQL: keys (objects; indices as text for arrays) and JSON values of container `v`."""
    return (
        f"case when left({v}, 1) = '{{' then json_keys({v}) "
        f"when left({v}, 1) = '[' then list_transform(range(json_array_length({v})::bigint), "
        f"lambda i: i::varchar) end as {s}k, "
        f"case left({v}, 1) when '{{' then json_extract({v}, '$.*') "
        f"when '[' then json_extract({v}, '$[*]') end as {s}v, "
        f"coalesce(left({v}, 1) = '[', false) as {s}a"
    )


def _expand(con: duckdb.DuckDBPyConnection, level: str) -> None:
    """One level: children of the containers in `level` whose JSON differs → `_leaves` / `_lv`.

    Only the differing entries of aligned containers are kept (not every key and value), so
    the level's table stays small; the rare unaligned ones keep their lists for a join.
    """
    aligned = "coalesce(pk is not null and ck is not null and pk = ck and pa = ca, false)"
    con.execute(
        f"""create or replace temp table _x as
        select pair_id, prefix, pa, ca,
               -- duplicate keys: json_tree pairs every copy with every copy; left to json_tree
               bad or len(list_distinct(pk)) <> len(pk) or len(list_distinct(ck)) <> len(ck)
                 as dup,
               {aligned} as aligned,
               case when {aligned}
                    then list_filter(list_zip(pk, pv, cv), lambda e: e[2] <> e[3]) end as d,
               case when not {aligned} then pk end as pk, case when not {aligned} then pv end as pv,
               case when not {aligned} then ck end as ck, case when not {aligned} then cv end as cv
        from (select pair_id, prefix, bad, {_side("pv", "p")}, {_side("cv", "c")}
              from {level})"""
    )
    con.execute("insert into _slow select pair_id from _x where dup")
    con.execute(
        """create or replace temp table _kids as
        select pair_id, prefix, e[1] as k, pa as arr, e[2] as pv, e[3] as cv
        from (select pair_id, prefix, pa, unnest(d) as e from _x where aligned)"""
    )
    con.execute(
        """insert into _kids
        with odd as (select * from _x where not aligned),
             p as (select pair_id, prefix, pa, unnest(pk) as k, unnest(pv) as v from odd),
             c as (select pair_id, prefix, ca, unnest(ck) as k, unnest(cv) as v from odd)
        select coalesce(p.pair_id, c.pair_id), coalesce(p.prefix, c.prefix), coalesce(p.k, c.k),
               coalesce(p.pa, c.ca), p.v, c.v
        from p full outer join c on p.pair_id = c.pair_id and p.prefix = c.prefix and p.k = c.k
                       and p.pa = c.ca
        where p.v is distinct from c.v"""
    )
    con.execute(
        f"""insert into _slow select pair_id from _kids
        where not arr and not regexp_full_match(k, '{SIMPLE_KEY}')"""
    )
    path = (
        "case when arr then prefix || '[' || k || ']' when prefix = '' then k "
        "else prefix || '.' || k end"
    )
    pc, cc = _CONTAINER.format(v="pv"), _CONTAINER.format(v="cv")
    con.execute(
        f"""insert into _leaves
        select pair_id, {path}, case when not {pc} then pv end, case when not {cc} then cv end
        from _kids where (pv is not null and not {pc}) or (cv is not null and not {cc})"""
    )
    con.execute(
        f"""create or replace temp table _lv as
        select pair_id, {path} as prefix, case when {pc} then pv end as pv,
               case when {cc} then cv end as cv
        from _kids where {pc} or {cc}"""
    )


def _num_type(v: str) -> str:
    """SQL: json_type of leaf `v`, skipped for strings, booleans and null (only numbers matter)."""
    return f"case when left({v}, 1) in ('\"', 't', 'f', 'n') then 'OTHER' else json_type({v}) end"


def _tree_leaves(con: duckdb.DuckDBPyConnection) -> None:
    """The reference definition, for the pairs in `_slow`: json_tree leaves joined on the path."""
    con.execute(
        """insert into _leaves
        with todo as (select t.* from _todo t semi join _slow s on s.pair_id = t.pair_id),
             pl as (select pair_id, fullkey as path, value
                    from todo, json_tree(todo.p_s) where json_tree.type not in ('OBJECT', 'ARRAY')),
             cl as (select pair_id, fullkey as path, value
                    from todo, json_tree(todo.c_s) where json_tree.type not in ('OBJECT', 'ARRAY'))
        select coalesce(pl.pair_id, cl.pair_id),
               regexp_replace(coalesce(pl.path, cl.path), '^\\$\\.', ''), pl.value, cl.value
        from pl full outer join cl on pl.pair_id = cl.pair_id and pl.path = cl.path
        where pl.value is distinct from cl.value"""
    )


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
    level = f"""(select pair_id, '' as prefix, p_s as pv, c_s as cv,
                        not coalesce({walk}, true) as bad from _todo)"""
    for _ in range(MAX_DEPTH):
        _expand(con, level)
        level = "(select *, false as bad from _lv)"
        if con.execute("select count(*) from _lv").fetchone() == (0,):
            break
    con.execute("insert into _slow select pair_id from _lv")  # deeper than MAX_DEPTH
    con.execute("create or replace temp table _slow as select distinct pair_id from _slow")
    if con.execute("select count(*) from _slow").fetchone() != (0,):
        con.execute("delete from _leaves where pair_id in (select pair_id from _slow)")
        _tree_leaves(con)
    tol_rows = [("", cfg.default_tolerance.abs, cfg.default_tolerance.rel, 1)] + [
        (k, t.abs, t.rel, 0) for k, t in cfg.tolerances.items()
    ]
    con.execute(
        "create or replace temp table _tol (path varchar, abs double, rel double, is_default int)"
    )
    con.executemany("insert into _tol values (?, ?, ?, ?)", tol_rows)
    con.execute(
        f"""create or replace temp table _fields as
        with typed as (select pair_id, path, pv, cv, {_num_type("pv")} as pt,
                              {_num_type("cv")} as ct from _leaves),
             judged as (
               select b.*,
                 case
                   when b.pt in {NUMERIC} and b.ct in {NUMERIC} then
                     abs(b.pv::double - b.cv::double) <= coalesce(t.abs, d.abs)
                     or abs(b.pv::double - b.cv::double)
                        <= coalesce(t.rel, d.rel) * greatest(abs(b.pv::double), abs(b.cv::double))
                   else b.pv is not distinct from b.cv
                 end as same
               from typed b left join _tol t on t.path = b.path and t.is_default = 0
               cross join (select abs, rel from _tol where is_default = 1) d)
        select pair_id,
               list({{'path': path, 'primary': pv, 'candidate': cv}} order by path) as fields
        from judged where not same group by pair_id"""
    )
