"""The run store: the only owner of run directories (design.md §7), their manifests and part files.

A run is written through a `RunWriter` (manifest + heartbeat + Parquet parts, every file written
atomically as temp file + rename) and read back through `open_run`, whose DuckDB connection has
views `observations`, `events_primary`, `events_candidate` and `diff`::

    run = open_run("reports/runs/20260101T120000Z-ab12cd")
    run.sql("select class, count(*) from diff group by 1").fetchall()

The cross-run DuckDB catalog lives in harness/store/catalog.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import socket
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from harness.core import files
from harness.core.errors import IncompleteRunError, StoreError
from harness.core.model import DEFAULT_RUNS_DIR
from harness.core.wallclock import utc_now
from harness.store.batches import EVENT_SCHEMA, OBSERVATION_SCHEMA
from harness.store.listing import (  # noqa: F401 - the run directory API, re-exported
    RUN_ID_RE,
    STALE_AFTER_S,
    effective_status,
    list_runs,
    load_manifest,
    read_json,
    resolve_run,
    validate_run_id,
)
from harness.store.parts import EVENT_DIRS, PartSink

DEFAULT_ROOT = DEFAULT_RUNS_DIR
HEARTBEAT_S = 5.0
STATUSES = ("running", "complete", "incomplete", "error")


def new_run_id(material: Mapping[str, Any]) -> str:
    """UTC timestamp + short hash of what the run is (plus a nonce, so reruns differ)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    blob = json.dumps(material, sort_keys=True, default=str) + secrets.token_hex(4)
    return f"{stamp}-{hashlib.sha256(blob.encode()).hexdigest()[:8]}"


def atomic_write_json(path: Path, obj: Any) -> None:
    files.atomic_write_json(path, obj)


class RunWriter:
    """Creates a run directory, owns its manifest and keeps its heartbeat fresh until finish()."""

    def __init__(
        self, root: str | Path, manifest: Mapping[str, Any], run_id: str | None = None
    ) -> None:
        self.run_id = validate_run_id(run_id or new_run_id(manifest))
        self.root = Path(root)
        self.path = self.root / self.run_id
        try:
            self.path.mkdir(parents=True, exist_ok=False)
        except FileExistsError as exc:
            raise StoreError(f"run directory {self.path} already exists") from exc
        except OSError as exc:
            raise files.write_error(self.path, exc) from exc
        self.manifest: dict[str, Any] = {
            **dict(manifest),
            "run_id": self.run_id,
            "status": "running",
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": utc_now(),
            "heartbeat": utc_now(),
        }
        self._own()

    def _own(self) -> None:
        """Write the manifest and keep its heartbeat fresh from this process on."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.write_manifest()
        self._beat = threading.Thread(
            target=self._heartbeat, name=f"heartbeat-{self.run_id}", daemon=True
        )
        self._beat.start()

    @classmethod
    def resume(cls, run_dir: str | Path) -> RunWriter:
        """Take over a run whose replay was killed: this process now owns it (status running)."""
        path = Path(run_dir)
        manifest = read_json(path / "manifest.json")
        status = effective_status(manifest)
        if status == "complete":
            raise StoreError(f"run {path.name} is complete: nothing to resume")
        if status == "running":
            raise StoreError(
                f"run {path.name} is still running (pid {manifest.get('pid')} on "
                f"{manifest.get('host')}, heartbeat {manifest.get('heartbeat')})"
            )
        if manifest.get("status") not in ("running", "incomplete") or (
            manifest.get("status") == "incomplete" and manifest.get("reason") != "interrupted"
        ):
            raise StoreError(
                f"run {path.name} ended {manifest.get('status')} ({manifest.get('reason')}): "
                "only a replay that was killed or interrupted can be resumed"
            )
        self = cls.__new__(cls)
        self.run_id, self.root, self.path = path.name, path.parent, path
        resumed = [*manifest.get("resumed", []), {"at": utc_now(), "pid": os.getpid()}]
        self.manifest = {
            **manifest,
            "status": "running",
            "reason": None,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "heartbeat": utc_now(),
            "resumed": resumed,
        }
        self._own()
        return self

    def note_resume(self, **fields: Any) -> None:
        """Add what this resume kept (ticks, shards) to the manifest's latest `resumed` entry."""
        resumed = list(self.manifest["resumed"])
        self.update(resumed=[*resumed[:-1], {**resumed[-1], **fields}])

    def sink(self, shard: int = 0) -> PartSink:
        return PartSink(self.path, shard)

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            # a full disk must not kill the beat with a traceback: the run's own writes report it
            with contextlib.suppress(StoreError):
                self.update(heartbeat=utc_now())

    def write_manifest(self) -> None:
        with self._lock:
            atomic_write_json(self.path / "manifest.json", self.manifest)

    def update(self, **fields: Any) -> None:
        with self._lock:
            if self.manifest["status"] != "running" and "heartbeat" in fields and len(fields) == 1:
                return
            self.manifest.update(fields)
            atomic_write_json(self.path / "manifest.json", self.manifest)

    def write_json(self, name: str, obj: Any) -> None:
        atomic_write_json(self.path / name, obj)

    def finish(self, status: str, **fields: Any) -> None:
        """Stop the heartbeat and record the final status (complete | incomplete | error)."""
        if status not in STATUSES or status == "running":
            raise StoreError(f"invalid final status {status!r}")
        self._stop.set()
        self._beat.join(timeout=2 * HEARTBEAT_S)
        self.update(status=status, finished=utc_now(), heartbeat=utc_now(), **fields)


def require_finished(run_dir: Path, manifest: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """The run's manifest, if its replay finished; else IncompleteRunError (exit 5), one line.

    Unfinished: still running, killed (a `running` manifest whose process is gone or whose
    heartbeat is stale), interrupted, or ended in error. Their parts are a fragment: no command
    may diff, gate or report them as if they were a run. A run the harness itself ended
    `incomplete` (a hang abort, a lost shard) is finished: its gate says why it cannot pass.
    """
    m = manifest if manifest is not None else load_manifest(Path(run_dir))
    run_id = m.get("run_id", Path(run_dir).name)
    status = effective_status(m)
    if status == "running":
        raise IncompleteRunError(
            f"run {run_id} is still running (pid {m.get('pid')} on {m.get('host')}); "
            "wait for it to finish"
        )
    resumable = (
        "; finish it with `harness replay --resume " + str(run_id) + "`"
        if (m.get("replay_request"))
        else ""
    )
    if m.get("status") == "running":
        raise IncompleteRunError(
            f"run {run_id} is incomplete: its replay stopped without finishing (process "
            f"{m.get('pid')} gone or heartbeat stale since {m.get('heartbeat')}){resumable}"
        )
    if status == "incomplete" and m.get("reason") == "interrupted":
        raise IncompleteRunError(f"run {run_id} is incomplete: interrupted{resumable}")
    if status == "error":
        raise IncompleteRunError(f"run {run_id} ended in error: {m.get('reason')}")
    return m


def null_columns(con: duckdb.DuckDBPyConnection, source: str, wanted: str) -> str:
    """`, NULL::type AS "col"` for each column of relation `wanted` that `source` lacks: a run
    written before a column existed reads it as NULL, so today's queries run on it."""
    have = {r[0] for r in con.execute(f"describe select * from {source}").fetchall()}
    want = con.execute(f"describe {wanted}").fetchall()
    return "".join(f', NULL::{typ} AS "{col}"' for col, typ, *_ in want if col not in have)


def parts_view(
    con: duckdb.DuckDBPyConnection, name: str, paths: list[Path], schema: pa.Schema | None
) -> None:
    """View `name` over the part files, or over an empty table of `schema` when there are none.

    A run written before a column of `schema` existed reads that column as NULL (so queries of
    today's columns run on it), e.g. `memory_probed` of older observations."""
    if paths:
        listed = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
        source = f"read_parquet([{listed}], union_by_name = true)"
        extra = ""
        if schema is not None:
            con.register(f"_{name}_types", schema.empty_table())
            extra = null_columns(con, source, f"_{name}_types")
            con.unregister(f"_{name}_types")
        con.execute(f"create or replace view {name} as select *{extra} from {source}")
    elif schema is not None:
        con.register(f"_{name}_empty", schema.empty_table())
        con.execute(f"create or replace view {name} as select * from _{name}_empty")


class Run:
    """A stored run: manifest, JSON side files and a DuckDB connection with views over its Parquet."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.manifest: dict[str, Any] = read_json(path / "manifest.json")
        self.run_id = validate_run_id(str(self.manifest.get("run_id", path.name)))
        self.status = effective_status(self.manifest)
        self._con: duckdb.DuckDBPyConnection | None = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """A cached connection with views observations, events_primary/_candidate, diff."""
        if self._con is None:
            self._con = self.connect()
        return self._con

    def connect(self, with_diff: bool = True) -> duckdb.DuckDBPyConnection:
        """A new DuckDB connection with this run's views (without `diff` for a re-diff)."""
        con = duckdb.connect()
        parts_view(
            con,
            "observations",
            sorted((self.path / "observations").glob("*.parquet")),
            OBSERVATION_SCHEMA,
        )
        for side, sub in EVENT_DIRS.items():
            parts_view(
                con, f"events_{side}", sorted((self.path / sub).glob("*.parquet")), EVENT_SCHEMA
            )
        if with_diff and (self.path / "diff.parquet").exists():
            parts_view(con, "diff", [self.path / "diff.parquet"], None)
        return con

    def refresh(self) -> None:
        """Re-read views (after diff.parquet was rewritten)."""
        if self._con is not None:
            self._con.close()
        self._con = None

    def sql(self, query: str, params: Any = None) -> duckdb.DuckDBPyConnection:
        """Run `query` on this run's views; fetch with .fetchall(), .fetchone(), .df(), .arrow()."""
        return self.con.execute(query, params) if params is not None else self.con.execute(query)

    def observations(self) -> Any:
        return self.con.execute("select * from observations order by shard, seq").df()

    def events(self, side: str) -> Any:
        if side not in EVENT_DIRS:
            raise StoreError(f"unknown stack side {side!r}; use primary or candidate")
        return self.con.execute(f"select * from events_{side} order by shard, emit_pos").df()

    def diff(self) -> Any:
        if not (self.path / "diff.parquet").exists():
            raise StoreError(
                f"run {self.run_id} has no diff.parquet (run `harness diff {self.path}`)"
            )
        return self.con.execute("select * from diff").df()

    def json(self, name: str) -> Any:
        """A JSON side file (summary.json, stack_stats.json, first_divergence.json, verdict.json)."""
        return read_json(self.path / name)

    def write_json(self, name: str, obj: Any) -> None:
        atomic_write_json(self.path / name, obj)

    def write_query_parquet(
        self, query: str, name: str, con: duckdb.DuckDBPyConnection | None = None
    ) -> None:
        """Atomically write the result of `query` (on `con`, default this run's) as `name`."""
        target = self.path / name
        tmp = target.with_name(f".{target.name}.tmp")
        (con or self.con).execute(f"copy ({query}) to '{tmp}' (format parquet)")
        os.replace(tmp, target)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


def open_run(ref: str | Path, root: str | Path = DEFAULT_ROOT) -> Run:
    """Open a stored run by directory or run id, for notebooks and the CLI."""
    return Run(resolve_run(ref, root))
