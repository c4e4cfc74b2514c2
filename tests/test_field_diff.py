"""The level-by-level field comparison gives exactly what json_tree leaves joined on the path give."""

import json

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.diff.align import DiffConfig, Tolerance
from harness.diff.fields import field_differences

PAIRS = [
    ({"a": 1, "b": "x"}, {"a": 2, "b": "x"}),
    ({"a": 1.0, "n": None}, {"a": 1, "n": 0}),
    ({"o": {"x": [1, 2, {"y": 3}], "z": {}}}, {"o": {"x": [1, 5, {"y": 4}, 7], "z": []}}),
    ({"o": {"x": 1}}, {"o": 3}),
    ({"gone": {"deep": {"er": True}}, "k": 1}, {"k": 1, "new": [1, [2]]}),
    ({"_x": 1, "a b": {"é": 2}}, {"_x": 2, "a b": {"é": 3}}),
    ({"a": "↓\u0000\\"}, {"a": "↑"}),
    ({"p": 100.0}, {"p": 100.0000001}),
    ([1, 2], [1, 3]),
    ({"a": {"x": {"y": 0}}}, {"b": {"x": {"y": 0}}}),
]


def _con(pairs):
    con = duckdb.connect()
    con.execute("create temp table _todo (pair_id bigint, p_s varchar, c_s varchar)")
    con.executemany(
        "insert into _todo values (?, ?, ?)",
        [
            (
                i,
                p if isinstance(p, str) else json.dumps(p),
                c if isinstance(c, str) else json.dumps(c),
            )
            for i, (p, c) in enumerate(pairs)
        ],
    )
    return con


DEFAULT = DiffConfig()


def _fields(pairs, cfg=DEFAULT, reference=False):
    con = _con(pairs)
    field_differences(con, cfg, reference=reference)
    rows = con.execute("select pair_id, fields from _fields order by pair_id").fetchall()
    return {i: [(f["path"], f["primary"], f["candidate"]) for f in fs] for i, fs in rows}


def test_walk_and_json_tree_reference_agree_on_nested_odd_and_quoted_keys():
    cfg = DiffConfig(tolerances={"p": Tolerance(rel=1e-6)})
    assert _fields(PAIRS, cfg) == _fields(PAIRS, cfg, reference=True)


def test_differences_name_each_leaf_path_with_both_json_values():
    got = _fields(PAIRS)
    assert got[0] == [("a", "1", "2")]
    assert got[1] == [("n", "null", "0")]  # 1.0 vs 1 is equal within tolerance
    assert got[2] == [
        ("o.x[1]", "2", "5"),
        ("o.x[2].y", "3", "4"),
        ("o.x[3]", None, "7"),
    ]
    assert got[3] == [("o", None, "3"), ("o.x", "1", None)]
    assert got[4] == [
        ("gone.deep.er", "true", None),
        ("new[0]", None, "1"),
        ("new[1][0]", None, "2"),
    ]
    assert got[5] == [('"_x"', "1", "2"), ('"a b"."é"', "2", "3")]
    assert got[8] == [("$[1]", "2", "3")]
    # same keys below different parents are different paths, not a pair
    assert got[9] == [("a.x.y", "0", None), ("b.x.y", None, "0")]


def test_duplicate_keys_fall_back_to_json_tree():
    pairs = [('{"a":1,"a":2}', '{"a":1,"a":3}')]
    assert _fields(pairs) == _fields(pairs, reference=True)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.sampled_from([0.5, 1.0, 2.25])
    | st.text("ab", max_size=2),
    lambda kids: (
        st.lists(kids, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "_c", "d e"]), kids, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.dictionaries(st.sampled_from(["a", "b", "c"]), json_values, max_size=3),
            st.dictionaries(st.sampled_from(["a", "b", "c"]), json_values, max_size=3),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_walk_equals_json_tree_on_random_documents(pairs):
    assert _fields(pairs) == _fields(pairs, reference=True)
