"""The evidence of one run as a sandboxed DuckDB connection: the views and tables gates query.

Views over the run directory's Parquet files (design.md §7): `observations`, `events_primary`,
`events_candidate`, `diff` (with `accepted_by` recomputed from the accepted-differences rules at
evaluation time), `unexplained` (diff rows that differ and no active rule accepts). Tables built
here: `run_info`, `stats(scope, metric, value, low, high, note)`, `stack_stats(stack, key, value,
text)` with view `candidate_stats`, `rollout_tickers(ticker)`, `ticker_ticks(ticker, ticks)`
(observations per ticker), `candidate_alerts(name, severity)`, `expired_rules`,
`rule_expectations` (rows each rule declares it accepts in a run with this run's key),
`rule_scope` (every rule of the file: whether its scope admits this run, and why),
`latency_findings` (known latency gaps covering this run). After setup the connection may only
read files inside the run directory and its configuration is locked, so nothing a gate file says
can write anywhere.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import duckdb
import numpy as np

from harness.core.errors import StoreError
from harness.core.identity import RunIdentity, run_identity
from harness.core.sqlfiles import statement
from harness.diff.accepted import create_accepted_diff
from harness.diff.rules import EMPTY, RuleSet, candidate_phase, run_key
from harness.gates.measure import Paired, concurrent_rows, measure, stat_rows
from harness.gates.rule_tables import create_rule_tables
from harness.gates.statistics import LatencyStats, SeedFigures
from harness.replay.outcome import CONCURRENT, INTERLEAVED
from harness.store.runs import load_manifest, null_columns, require_finished

if TYPE_CHECKING:
    from harness.diff.rulebook import RulesChoice

#: Relative latency noise floor used when no A/A calibration exists for the recording; stated
#: next to every latency check so nothing is widened silently.
DEFAULT_NOISE_FLOOR = 0.10

_EMPTY_SCHEMAS = {
    "observations": "seq BIGINT, ticker VARCHAR, ts TIMESTAMPTZ, first VARCHAR, primary_ns BIGINT, "
    "candidate_ns BIGINT, primary_cpu_ns BIGINT, candidate_cpu_ns BIGINT, primary_held_bytes BIGINT, "
    "candidate_held_bytes BIGINT, memory_probed BOOLEAN, primary_error VARCHAR, "
    "candidate_error VARCHAR, primary_timeout BOOLEAN, candidate_timeout BOOLEAN, primary_events INTEGER, "
    "candidate_events INTEGER, shard INTEGER",
    "events": "tick_seq BIGINT, emit_seq BIGINT, emit_index INTEGER, ticker VARCHAR, type VARCHAR, "
    "direction VARCHAR, price DOUBLE, event_json VARCHAR",
    "diff": "ticker VARCHAR, type VARCHAR, direction VARCHAR, tick_seq BIGINT, "
    "primary_index INTEGER, candidate_index INTEGER, class VARCHAR, "
    'fields STRUCT(path VARCHAR, "primary" VARCHAR, candidate VARCHAR)[], accepted_by VARCHAR, '
    "late BOOLEAN",
}


@dataclass(frozen=True, slots=True)
class NoiseFloor:
    """Relative latency-ratio noise of A/A runs on this recording, and where it came from."""

    floor: float
    source: str


@dataclass(frozen=True)
class Evidence:
    """An open, sandboxed connection over one run plus the statistics computed for it."""

    run_dir: Path
    manifest: Mapping[str, Any]
    con: duckdb.DuckDBPyConnection
    latency: LatencyStats
    figures: SeedFigures
    rollout_figures: SeedFigures | None
    noise: NoiseFloor
    rules: RuleSet
    today: dt.date
    identity: RunIdentity
    stack_stats: Mapping[str, Any] = field(default_factory=dict)
    #: per-tick times of ticks both stacks processed (file order and sorted), fetched once
    pairs: Paired = field(default_factory=lambda: Paired.of(np.empty(0), np.empty(0)))
    #: where the rules came from, when opened through the gate (gate.open_run_evidence)
    rules_origin: RulesChoice | None = None

    #: `failures()` and `rules_document()` once computed: verdict.json and the report both read
    #: them (`gate --report`), and failures alone is six scans of the observations (≈ 0.1 s each
    #: on a 10M-tick run), the rules document a scan of the diff
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    def failures(self) -> dict[str, dict[str, Any]]:
        """Each stack's exceptions and timeouts: counts, types, the first failed tick."""
        if "failures" not in self._memo:
            from harness.diff.summary import failures

            self._memo["failures"] = failures(self.con)
        return copy.deepcopy(self._memo["failures"])

    def rules_document(self) -> dict[str, Any]:
        """What verdict.json, JUnit and the report say about the rules: the file (path, digest,
        why it was chosen), the run's identity, every rule's scope decision and, per rule, the
        rows it accepted here against the count it declares for this run's key; the digest of
        the primary's events against the one its scope declares (`primary_events`)."""
        if "rules" not in self._memo:
            self._memo["rules"] = self._rules_document()
        return copy.deepcopy(self._memo["rules"])

    def _rules_document(self) -> dict[str, Any]:
        accepted = {
            i: (n, d)
            for i, n, d in self.con.execute("SELECT id, n, digest FROM accepted_digests").fetchall()
        }
        expected = {
            i: (n, d)
            for i, n, d in self.con.execute(
                "SELECT id, expected, digest FROM rule_expectations"
            ).fetchall()
        }
        unexplained = self.con.execute(
            "SELECT count(*) FROM diff WHERE class <> 'match' AND accepted_by IS NULL"
        ).fetchone()[0]  # type: ignore[index]
        origin = self.rules_origin
        key, scope, declared, n, digest = self.con.execute(
            "SELECT recording_key, scope, r.digest, d.n, d.digest "
            "FROM primary_reference r, primary_events_digest d"
        ).fetchone()  # type: ignore[misc]
        return {
            "file": origin.as_dict() if origin is not None else None,
            "identity": self.identity.as_dict(),
            "run_key": run_key(self.manifest),
            "unexplained_rows": int(unexplained),
            "primary_events": {
                "recording_key": key,
                "events": int(n),
                "digest": digest,
                "declared": declared,
                "scope": scope,
            },
            "rules": [
                {
                    **d.as_dict(),
                    "accepted_rows": int(accepted.get(d.id, (0, None))[0]),
                    "expected_rows": expected.get(d.id, (None, None))[0],
                    "accepted_digest": accepted.get(d.id, (0, None))[1],
                    "expected_digest": expected.get(d.id, (None, None))[1],
                }
                for d in self.rules.decisions
            ],
        }

    @property
    def paired(self) -> tuple[np.ndarray, np.ndarray]:
        """(primary_ns, candidate_ns) of ticks both stacks processed, in file order."""
        return self.pairs.primary, self.pairs.candidate

    @property
    def run_id(self) -> str:
        return str(self.manifest.get("run_id", self.run_dir.name))

    def close(self) -> None:
        self.con.close()


def _sql_path(p: Path) -> str:
    return "'" + str(p).replace("'", "''") + "'"


def _load_stack_stats(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "stack_stats.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise StoreError(f"{path}: corrupt stack stats: {exc}") from None
    return data if isinstance(data, dict) else {}


def _flatten(prefix: str, value: Any) -> Iterator[tuple[str, float | None, str | None]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _flatten(f"{prefix}.{k}" if prefix else str(k), v)
    elif isinstance(value, bool):
        yield prefix, float(value), str(value).lower()
    elif isinstance(value, int | float):
        yield prefix, float(value), None
    elif isinstance(value, str):
        yield prefix, None, value
    else:
        yield prefix, None, json.dumps(value, sort_keys=True, default=str)


def _alerts(stats: Mapping[str, Any]) -> list[tuple[str, str]]:
    raw = stats.get("alerts") or []
    if isinstance(raw, Mapping):
        raw = [
            {"name": k, **(v if isinstance(v, Mapping) else {"severity": v})}
            for k, v in raw.items()
        ]
    out = []
    for a in raw if isinstance(raw, list) else []:
        if isinstance(a, Mapping):
            out.append((str(a.get("name", a.get("rule", "?"))), str(a.get("severity", "unknown"))))
        else:
            out.append((str(a), "unknown"))
    return out


def _rollout_tickers(stats: Mapping[str, Any]) -> list[str]:
    raw = stats.get("rollout_tickers")
    if raw is None and isinstance(stats.get("rollout"), Mapping):
        raw = stats["rollout"].get("tickers")
    return sorted({str(t) for t in raw}) if isinstance(raw, list) else []


def _view(con: duckdb.DuckDBPyConnection, name: str, files: list[Path], schema: str) -> None:
    if not files:
        con.execute(f"CREATE TABLE {name} ({schema})")
        return
    listing = "[" + ", ".join(_sql_path(f) for f in files) + "]"
    source = f"read_parquet({listing}, union_by_name = true)"
    # a run written before a column existed reads it as NULL (its checks then say NODATA)
    con.execute(f"CREATE TEMP TABLE _want ({schema})")
    extra = null_columns(con, source, "_want")
    con.execute("DROP TABLE _want")
    con.execute(f"CREATE VIEW {name} AS SELECT *{extra} FROM {source}")


class EvidenceView(TypedDict, total=False):
    """How evidence is looked at, whoever opens it: the day rules expire against, the seed of
    its samples, and a hook run once its views exist (`open_evidence`)."""

    today: dt.date | None
    seed: int
    on_views: Callable[[duckdb.DuckDBPyConnection], None] | None


def open_evidence(
    run_dir: str | Path,
    *,
    rules: RuleSet = EMPTY,
    noise: NoiseFloor | None = None,
    today: dt.date | None = None,
    seed: int = 0,
    on_views: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> Evidence:
    """Open a run directory as gate evidence (raises StoreError when it is not a run).

    `on_views(con)` is called (from another thread) as soon as the views, `diff` and
    `unexplained` exist, while the per-tick fetch and statistics run: a caller may start its own
    queries on `con.cursor()` there.
    """
    rd = Path(run_dir).resolve()
    manifest = load_manifest(rd)
    require_finished(rd, manifest)  # a killed or running replay's parts are no evidence
    stack_stats = _load_stack_stats(rd)
    identity = run_identity(manifest, stack_stats)
    rules = rules.for_run(identity)
    today = today or dt.date.today()
    noise = noise or NoiseFloor(DEFAULT_NOISE_FLOOR, "default (no A/A calibration found)")
    con = duckdb.connect(":memory:")
    con.execute("LOAD icu")
    # The report scans the same Parquet parts several times; parse each footer once.
    con.execute("SET parquet_metadata_cache = true")
    obs_files = sorted((rd / "observations").glob("*.parquet"))
    _view(con, "observations", obs_files, _EMPTY_SCHEMAS["observations"])
    for side in ("primary", "candidate"):
        # The store writes events_<side>/part-*.parquet; a single events_<side>.parquet also works.
        f = rd / f"events_{side}.parquet"
        parts = [f] if f.is_file() else sorted((rd / f"events_{side}").glob("*.parquet"))
        _view(con, f"events_{side}", parts, _EMPTY_SCHEMAS["events"])
    diff_file = rd / "diff.parquet"
    _view(con, "diff_raw", [diff_file] if diff_file.is_file() else [], _EMPTY_SCHEMAS["diff"])
    # The rules are applied to the diff (775k rows on a 10M-tick day) on a second cursor while
    # this thread fetches and measures the observations: the two share no table.
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        diff_ready = pool.submit(_accepted_views, con, rules, today, on_views)
        create_rule_tables(con, manifest, rules, today, identity)
        lat, fig, rollout_fig, paired = _tables_and_stats(
            con, manifest, rd, stack_stats, noise, obs_files, seed
        )
        diff_ready.result()
    finally:
        pool.shutdown(wait=True)
    con.execute(f"SET allowed_directories=[{_sql_path(rd)}]")
    con.execute("SET enable_external_access=false")
    con.execute("SET lock_configuration=true")
    return Evidence(
        rd, manifest, con, lat, fig, rollout_fig, noise, rules, today, identity, stack_stats, paired
    )


def _accepted_views(
    con: duckdb.DuckDBPyConnection,
    rules: RuleSet,
    today: dt.date,
    on_views: Callable[[duckdb.DuckDBPyConnection], None] | None,
) -> None:
    """`diff` (accepted_by from the rules), `unexplained`, `accepted_digests` (each rule's
    accepted rows: count and digest of their contents), `primary_events_digest` and `event_ids`,
    on a cursor of their own."""
    cur = con.cursor()
    try:
        create_accepted_diff(cur, rules, today)
        cur.execute(
            "CREATE VIEW unexplained AS SELECT * FROM diff WHERE class <> 'match' AND accepted_by IS NULL"
        )
        cur.execute(statement("harness.diff", "classify", "accepted_digests"))
    finally:
        cur.close()
    if on_views is not None:
        on_views(con)
    cur = con.cursor()  # after the report's queries have started: only the checks read it
    try:
        cur.execute(statement("harness.diff", "classify", "primary_events_digest"))
        cur.execute(statement("harness.diff", "classify", "event_ids"))
    finally:
        cur.close()


def _tables_and_stats(
    con: duckdb.DuckDBPyConnection,
    manifest: Mapping[str, Any],
    rd: Path,
    stack_stats: Mapping[str, Any],
    noise: NoiseFloor,
    obs_files: list[Path],
    seed: int,
) -> tuple[LatencyStats, SeedFigures, SeedFigures | None, Paired]:
    """The run, stack and per-tick statistics tables gates read (all but `diff` and the rules')."""
    raw_audit = manifest.get("audit")
    audit: Mapping[str, Any] = raw_audit if isinstance(raw_audit, Mapping) else {}
    observed = con.execute("SELECT count(*) FROM observations").fetchone()[0]  # type: ignore[index]
    # the stacks' own threads (replay/threads.py); a run written before they were measured: NULL
    raw_threads = manifest.get("stack_threads")
    threads: Mapping[str, Any] = raw_threads if isinstance(raw_threads, Mapping) else {}
    con.execute(
        "CREATE TABLE run_info AS SELECT ?::VARCHAR AS run_id, ?::VARCHAR AS status, "
        "?::BOOLEAN AS audit_ok, ?::BIGINT AS ticks_read, ?::BIGINT AS ticks_observed, "
        "?::VARCHAR AS run_key, ?::VARCHAR AS candidate_phase, ?::VARCHAR AS sides, "
        "?::BIGINT AS stack_thread_cpu_ns, ?::VARCHAR AS stack_threads",
        [
            str(manifest.get("run_id", rd.name)),
            str(manifest.get("status", "unknown")),
            bool(audit.get("ok", False)),
            audit.get("read"),
            observed,
            run_key(manifest),
            candidate_phase(manifest),
            str((manifest.get("options") or {}).get("sides") or INTERLEAVED),
            threads.get("cpu_ns"),
            ", ".join(str(n) for n in threads.get("threads") or ()) or None,
        ],
    )
    raw_cand = stack_stats.get("candidate")
    cand: Mapping[str, Any] = raw_cand if isinstance(raw_cand, Mapping) else {}
    con.execute("CREATE TABLE stack_stats (stack VARCHAR, key VARCHAR, value DOUBLE, text VARCHAR)")
    flat = [
        (stack, k, v, t)
        for stack, s in stack_stats.items()
        if isinstance(s, Mapping)
        for k, v, t in _flatten("", s)
    ]
    if flat:
        con.executemany("INSERT INTO stack_stats VALUES (?, ?, ?, ?)", flat)
    con.execute(
        "CREATE VIEW candidate_stats AS SELECT key, value, text FROM stack_stats WHERE stack = 'candidate'"
    )
    con.execute("CREATE TABLE candidate_alerts (name VARCHAR, severity VARCHAR)")
    alerts = _alerts(cand)
    if alerts:
        con.executemany("INSERT INTO candidate_alerts VALUES (?, ?)", alerts)
    con.execute("CREATE TABLE rollout_tickers (ticker VARCHAR)")
    rollout = _rollout_tickers(cand)
    if rollout:
        con.executemany("INSERT INTO rollout_tickers VALUES (?)", [(t,) for t in rollout])

    # a concurrent run's pairs share their swap cycle's core noise: its CIs resample whole cycles
    concurrent = (manifest.get("options") or {}).get("sides") == CONCURRENT
    lat, fig, rollout_fig, paired = measure(con, obs_files, seed, rollout, concurrent)
    con.execute(
        "CREATE TABLE stats (scope VARCHAR, metric VARCHAR, value DOUBLE, low DOUBLE, high DOUBLE, note VARCHAR)"
    )
    rows = stat_rows("all", lat, fig)
    if rollout_fig is not None:
        rows += stat_rows("rollout", None, rollout_fig)
    rows.append(("all", "noise_floor", noise.floor, None, None, noise.source))
    if concurrent:
        rows += concurrent_rows(lat)
    con.executemany("INSERT INTO stats VALUES (?, ?, ?, ?, ?, ?)", rows)
    return lat, fig, rollout_fig, paired
