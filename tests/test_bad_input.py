"""Bad input, one contract: every kind of corrupt recording, config, fault spec or feed frame gets
one line `harness: error: …` naming the file/column/row (or key), exit 5, and no traceback.

Each kind (docs/bad-input.md lists them) is a corruption; hypothesis picks where and how (row,
value, cut point). Commands run in-process through click with exceptions *not* caught, so any
Python exception that is not the harness's own error fails the test.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cli import cli
from harness.live.protocol import MessageError, message_to_tick
from harness.recordings.manifest import file_sha256
from harness.recordings.reader import open_recording
from harness.recordings.writer import RecordingWriter

ROOT = Path(__file__).resolve().parent.parent
ROWS = 400
FAKE = ["--primary", "harness.replay.stack:fake"]
SETTINGS = settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small valid recording: the first 400 ticks of sample-day."""
    out = tmp_path_factory.mktemp("base") / "rec"
    batch = next(open_recording(ROOT / "recordings" / "sample-day").batches(batch_size=ROWS))
    with RecordingWriter(out, name="small", source="test") as w:
        w.write_batch(batch)
        w.finalise()
    return out


def run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return r.exit_code, r.output


def assert_bad_input(args: list[str], *needles: str) -> None:
    code, out = run(*args)
    lines = out.strip().splitlines()
    assert code == 5, (args, code, out)
    assert lines[-1].startswith("harness: error: "), out
    assert "Traceback" not in out
    for n in needles:
        assert n in lines[-1], (n, lines[-1])


# --- corrupt recordings -----------------------------------------------------------------------


def _copy(base: Path, tmp: Path) -> Path:
    dst = tmp / "rec"
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(base, dst)
    return dst


def _manifest(rec: Path) -> dict[str, Any]:
    return json.loads((rec / "recording.json").read_text())


def _save_manifest(rec: Path, m: dict[str, Any]) -> None:
    (rec / "recording.json").write_text(json.dumps(m))


def _part(rec: Path) -> Path:
    return rec / _manifest(rec)["files"][0]["path"]


def _rewrite(rec: Path, table: pa.Table) -> None:
    """Write `table` as the part and update the manifest's hash and row count, so the only
    problem left is the one the table carries."""
    part = _part(rec)
    pq.write_table(table, part)
    m = _manifest(rec)
    m["files"][0].update(sha256=file_sha256(part), rows=table.num_rows, bytes=part.stat().st_size)
    m["tick_count"] = table.num_rows
    _save_manifest(rec, m)


def _set(table: pa.Table, col: str, row: int, value: Any, typ: pa.DataType | None = None):
    values = table.column(col).to_pylist()
    values[row] = value
    i = table.schema.get_field_index(col)
    typ = typ or table.schema.field(i).type
    return table.set_column(i, pa.field(col, typ, nullable=True), pa.array(values, typ))


def _table(rec: Path) -> pa.Table:
    return pq.read_table(_part(rec))


Corrupt = Callable[[Path, Any], None]
# kind → (corruption taking (recording, hypothesis-drawn value), strategy, text the error names)
RECORDING_KINDS: dict[str, tuple[Corrupt, st.SearchStrategy, str]] = {}


def kind(name: str, strategy: st.SearchStrategy, needle: str):
    def add(f: Corrupt) -> Corrupt:
        RECORDING_KINDS[name] = (f, strategy, needle)
        return f

    return add


ROW = st.integers(1, ROWS - 2)


@kind("manifest_missing", st.just(0), "recording.json")
def _(rec, _v):
    (rec / "recording.json").unlink()


@kind(
    "manifest_not_json",
    st.text(min_size=1, max_size=20).filter(
        lambda s: (
            not s.strip().startswith(("{", "[", '"'))
            and not s.strip().lstrip("-").replace(".", "").isdigit()
            and s.strip() not in ("true", "false", "null")
        )
    ),
    "recording.json",
)
def _(rec, text):
    (rec / "recording.json").write_text(text)


@kind(
    "manifest_key_missing",
    st.sampled_from(["files", "tick_count", "name", "schema_version"]),
    "recording.json",
)
def _(rec, key):
    m = _manifest(rec)
    del m[key]
    _save_manifest(rec, m)


@kind("manifest_bad_files", st.sampled_from(["x", 3, None, {"a": 1}]), "recording.json")
def _(rec, value):
    m = _manifest(rec)
    m["files"] = value
    _save_manifest(rec, m)


@kind(
    "manifest_path_outside",
    st.sampled_from(["../x.parquet", "/etc/passwd", "date=2026-03-10/../../x.parquet"]),
    "recording.json",
)
def _(rec, path):
    m = _manifest(rec)
    m["files"][0]["path"] = path
    _save_manifest(rec, m)


@kind("unknown_schema_version", st.integers(2, 99), "schema")
def _(rec, v):
    m = _manifest(rec)
    m["schema_version"] = v
    _save_manifest(rec, m)


@kind("file_missing", st.just(0), "part-00000.parquet")
def _(rec, _v):
    _part(rec).unlink()


@kind("unlisted_file", st.just(0), "part-00099.parquet")
def _(rec, _v):
    shutil.copy(_part(rec), _part(rec).with_name("part-00099.parquet"))


@kind("truncated_file", st.floats(0.05, 0.95), "part-00000.parquet")
def _(rec, frac):
    part = _part(rec)
    data = part.read_bytes()
    part.write_bytes(data[: int(len(data) * frac)])


@kind("changed_file", ROW, "sha256")
def _(rec, row):
    t = _table(rec)
    pq.write_table(_set(t, "price", row, t.column("price")[row].as_py() + 0.01), _part(rec))


@kind("row_count_mismatch", st.integers(1, 50), "part-00000.parquet")
def _(rec, extra):
    m = _manifest(rec)
    m["files"][0]["rows"] += extra
    _save_manifest(rec, m)


@kind("tick_count_mismatch", st.integers(1, 50), "tick_count")
def _(rec, extra):
    m = _manifest(rec)
    m["tick_count"] += extra
    _save_manifest(rec, m)


@kind("empty_file", st.just(0), "part-00000.parquet")
def _(rec, _v):
    _rewrite(rec, _table(rec).slice(0, 0))


def _row_kind(name: str, col: str, values: st.SearchStrategy, needle: str, typ=None) -> None:
    def corrupt(rec: Path, drawn: tuple[int, Any]) -> None:
        row, value = drawn
        _rewrite(rec, _set(_table(rec), col, row, value, typ))

    RECORDING_KINDS[name] = (corrupt, st.tuples(ROW, values), needle)


_row_kind("price_not_positive", "price", st.sampled_from([0.0, -1.0, -0.01]), "column price")
_row_kind(
    "price_not_finite", "price", st.sampled_from([math.nan, math.inf, -math.inf]), "column price"
)
_row_kind("price_null", "price", st.just(None), "column price")
_row_kind("volume_negative", "volume", st.integers(-(10**6), -1), "column volume")
_row_kind("volume_null", "volume", st.just(None), "column volume")
_row_kind("ticker_null", "ticker", st.just(None), "column ticker")
_row_kind("ticker_empty", "ticker", st.just(""), "column ticker")
_row_kind("ts_null", "ts", st.just(None), "column ts")
_row_kind("seq_null", "seq", st.just(None), "column seq")
_row_kind("tick_volume_negative", "tick_volume", st.integers(-1000, -1), "column tick_volume")
_row_kind(
    "accumulated_volume_negative",
    "accumulated_volume",
    st.integers(-1000, -1),
    "column accumulated_volume",
)


@kind("bid_above_ask", ROW, "column bid")
def _(rec, row):
    t = _table(rec)
    ask = t.column("ask")[row].as_py() or 100.0
    t = _set(_set(t, "ask", row, ask), "bid", row, ask + 0.5)
    _rewrite(rec, t)


@kind("duplicate_seq", ROW, "column seq")
def _(rec, row):
    t = _table(rec)
    _rewrite(rec, _set(t, "seq", row, t.column("seq")[row - 1].as_py()))


@kind("seq_out_of_order", ROW, "column seq")
def _(rec, row):
    t = _table(rec)
    a, b = t.column("seq")[row - 1].as_py(), t.column("seq")[row].as_py()
    _rewrite(rec, _set(_set(t, "seq", row, a), "seq", row - 1, b))


@kind("ts_out_of_order", ROW, "column ts")
def _(rec, row):
    t = _table(rec)
    earlier = t.column("ts")[row - 1].cast(pa.int64()).as_py() - 10**9
    _rewrite(
        rec,
        _set(t, "ts", row, pa.scalar(earlier, pa.int64()).cast(t.schema.field("ts").type).as_py()),
    )


@kind("ts_outside_partition", ROW, "column ts")
def _(rec, row):
    t = _table(rec)
    # two days later, at the very end (order kept): not the day its partition names
    last = t.column("ts")[t.num_rows - 1].cast(pa.int64()).as_py() + 2 * 86_400 * 10**9
    _rewrite(
        rec,
        _set(
            t,
            "ts",
            t.num_rows - 1,
            pa.scalar(last, pa.int64()).cast(t.schema.field("ts").type).as_py(),
        ),
    )


@kind("wrong_type", st.sampled_from(["price", "volume"]), "column")
def _(rec, col):
    t = _table(rec)
    i = t.schema.get_field_index(col)
    _rewrite(rec, t.set_column(i, col, pa.array([str(v) for v in t.column(col).to_pylist()])))


@kind("missing_column", st.sampled_from(["price", "volume", "ticker", "ts", "seq"]), "column")
def _(rec, col):
    _rewrite(rec, _table(rec).drop([col]))


@kind("unknown_column", st.sampled_from(["foo", "Price", "exchange"]), "column")
def _(rec, col):
    t = _table(rec)
    _rewrite(rec, t.append_column(col, pa.array([1] * t.num_rows)))


@kind("ts_naive", st.just(0), "column ts")
def _(rec, _v):
    t = _table(rec)
    i = t.schema.get_field_index("ts")
    _rewrite(rec, t.set_column(i, "ts", t.column("ts").cast(pa.timestamp("ns"))))


@kind("ts_not_utc", st.sampled_from(["America/New_York", "Europe/Berlin"]), "column ts")
def _(rec, zone):
    t = _table(rec)
    i = t.schema.get_field_index("ts")
    _rewrite(rec, t.set_column(i, "ts", t.column("ts").cast(pa.timestamp("ns", tz=zone))))


@pytest.mark.parametrize("name", sorted(RECORDING_KINDS))
def test_every_command_reading_a_corrupt_recording_gives_one_line_and_exit_5(
    name: str, base: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    corrupt, strategy, needle = RECORDING_KINDS[name]

    @SETTINGS
    @given(value=strategy)
    def check(value: Any) -> None:
        rec = _copy(base, tmp_path_factory.mktemp(name))
        corrupt(rec, value)
        for args in (
            ["validate", str(rec)],
            ["info", str(rec)],
            ["feed", str(rec), "--port", "0"],  # refused before it would serve
            ["replay", str(rec), *FAKE, "--limit", "50", "--runs-dir", str(rec.parent / "runs"), "--no-progress"],
        ):  # fmt: skip
            assert_bad_input(args, needle)
        assert not (rec.parent / "runs").exists() or not any((rec.parent / "runs").iterdir())

    check()


# --- bad configs, options and fault specs -----------------------------------------------------

CONFIG_KINDS: dict[str, tuple[str, str, list[str], str]] = {
    # kind: (file name, file text, command args with {f} for the file, text the error names)
    "stack_config_invalid_toml": (
        "s.toml",
        "[primary\nphase=1",
        ["--stack-config", "{f}"],
        "s.toml",
    ),
    "stack_config_unknown_table": (
        "s.toml",
        "[tertiary]\nx = 1\n",
        ["--stack-config", "{f}"],
        "tertiary",
    ),
    "stack_config_missing_file": ("", "", ["--stack-config", "{dir}/nope.toml"], "nope.toml"),
    "diff_config_invalid_toml": ("d.toml", "[key\n", ["--diff-config", "{f}"], "d.toml"),
    "diff_config_unknown_key": (
        "d.toml",
        "[key]\nfeilds = ['ticker']\n",
        ["--diff-config", "{f}"],
        "feilds",
    ),
    "diff_config_bad_tolerance": (
        "d.toml",
        "[tolerance.default]\nabs = 'x'\n",
        ["--diff-config", "{f}"],
        "tolerance abs = 'x'",
    ),
    "diff_config_unknown_table": ("d.toml", "[keys]\n", ["--diff-config", "{f}"], "keys"),
    "set_not_side_key": ("", "", ["--set", "phase=1"], "--set"),
    "set_unknown_side": ("", "", ["--set", "tertiary.phase=1"], "tertiary"),
    "set_bad_json": ("", "", ["--set", "candidate.x=[1,"], "not valid JSON"),
    "inject_unknown_key": ("", "", ["--inject", "explode=1"], "explode"),
    "inject_rate_out_of_range": ("", "", ["--inject", "error_rate=2"], "error_rate"),
    "inject_not_a_number": ("", "", ["--inject", "delay_ms=soon"], "delay_ms"),
    "unknown_stack_factory": ("", "", ["--candidate", "no.such.module:stack"], "no.such.module"),
    "stack_factory_not_callable": ("", "", ["--candidate", "harness.replay.stack:NOPE"], "NOPE"),
    "bad_from_time": ("", "", ["--from", "yesterday"], "--from"),
    "bad_mode": ("", "", ["--mode", "warp"], "warp"),
}


@pytest.mark.parametrize("name", sorted(CONFIG_KINDS))
def test_a_bad_config_or_option_gives_one_line_and_exit_5(name: str, base: Path, tmp_path: Path):
    fname, text, args, needle = CONFIG_KINDS[name]
    f = tmp_path / (fname or "unused")
    if fname:
        f.write_text(text)
    args = [a.format(f=f, dir=tmp_path) for a in args]
    runs = tmp_path / "runs"
    assert_bad_input(["replay", str(base), *FAKE, "--limit", "20", "--runs-dir", str(runs),
                      "--no-progress", *args], needle)  # fmt: skip
    assert not runs.exists() or not any(runs.iterdir())  # nothing half-made


ACCEPT_KINDS = {
    "accept_invalid_toml": ("[[rule]\nid='x'", "a.toml"),
    "accept_rule_without_scope": (
        "[[rule]]\nid = 'x'\nreason = 'r'\nowner = 'o'\nexpires = 2099-01-01\nclass = 'missing'\n",
        "scope",
    ),
    "accept_unknown_key": ("[[rule]]\nid = 'x'\nscope = 's'\nreson = 'typo'\n", "reson"),
    "accept_scope_unknown": (
        "[[rule]]\nid = 'x'\nreason = 'r'\nowner = 'o'\nexpires = 2099-01-01\nclass = 'missing'\nscope = 'nowhere'\n",
        "nowhere",
    ),
}


@pytest.mark.parametrize("name", sorted(ACCEPT_KINDS))
def test_a_bad_accepted_differences_file_gives_one_line_and_exit_5(name, base, tmp_path):
    text, needle = ACCEPT_KINDS[name]
    runs = tmp_path / "runs"
    code, out = run(
        "replay", str(base), *FAKE, "--limit", "30", "--runs-dir", str(runs), "--no-progress"
    )
    assert code == 0, out
    (run_dir,) = runs.iterdir()
    f = tmp_path / "a.toml"
    f.write_text(text)
    assert_bad_input(
        ["gate", str(run_dir), "--phase", "phase_1_parallel_testing", "--accept", str(f)], needle
    )
    assert not (run_dir / "verdict.json").exists()


# --- malformed feed frames --------------------------------------------------------------------

FEED_KINDS: dict[str, st.SearchStrategy] = {
    "unknown_ev": st.fixed_dictionaries(
        {"ev": st.sampled_from(["Q", "XX", ""]), "sym": st.just("AAPL")}
    ),
    "missing_field": st.sampled_from(
        [{"ev": "T", "sym": "AAPL", "s": 1, "t": 1}, {"ev": "T", "p": 1.0, "s": 1, "t": 1}]
    ),
    "mistyped_field": st.fixed_dictionaries(
        {
            "ev": st.just("T"),
            "sym": st.just("AAPL"),
            "p": st.sampled_from(["1.0", [1], True]),
            "s": st.just(1),
            "t": st.just(1),
        }
    ),
    "bad_value": st.fixed_dictionaries(
        {
            "ev": st.just("T"),
            "sym": st.just("AAPL"),
            "p": st.sampled_from([math.nan, math.inf]),
            "s": st.just(1),
            "t": st.just(1),
        }
    ),
    "not_object": st.sampled_from([1, "T", None, [1, 2]]),
}


@pytest.mark.parametrize("name", sorted(FEED_KINDS))
def test_a_malformed_feed_message_is_a_named_message_error(name: str) -> None:
    """Each malformed message is a MessageError of its kind (the live source counts it, names it
    in the run's reason and makes the run incomplete: tests/test_session.py)."""

    @SETTINGS
    @given(msg=FEED_KINDS[name])
    def check(msg: Any) -> None:
        with pytest.raises(MessageError) as err:
            message_to_tick(msg, seq=0, recv_ts=None)
        assert err.value.kind == name

    check()


def test_the_catalogue_covers_at_least_forty_kinds_and_the_docs_list_each() -> None:
    kinds = [
        *RECORDING_KINDS,
        *CONFIG_KINDS,
        *ACCEPT_KINDS,
        *FEED_KINDS,
        "malformed_json",
        "not_array",
    ]
    assert len(set(kinds)) >= 40, len(set(kinds))
    doc = (ROOT / "docs" / "bad-input.md").read_text()
    missing = [k for k in kinds if f"`{k}`" not in doc]
    assert not missing, missing
