"""Validation of a recording before replay: every problem, located by file, column and row (seq).

`validate_recording(path)` returns the problems (capped); `check_recording(path)` raises a
RecordingError naming the first ones (harness/recordings/repair.py finalises crashed recordings).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from harness.core.errors import RecordingError
from harness.core.model import REQUIRED_COLUMNS
from harness.core.problem import Problem
from harness.recordings.manifest import (
    MANIFEST_NAME,
    PART_GLOB,
    file_sha256,
    manifest_problems,
    safe_relpath,
)
from harness.recordings.row_checks import Collector, RowState, check_batch
from harness.recordings.schema import (
    COLUMN_TYPES,
    expected_type_text,
    type_ok,
)

_DATE_DIR = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")
_BATCH = 256 * 1024


def validate_recording(path: str | os.PathLike[str], max_problems: int = 100) -> list[Problem]:
    """Every problem of the recording at `path` (capped at `max_problems`, then summarised)."""
    root = Path(path)
    manifest, found = manifest_problems(root)
    if not root.is_dir():
        return found
    on_disk = sorted(p.relative_to(root).as_posix() for p in root.glob(PART_GLOB))
    entries: list[dict[str, Any]]
    if manifest is not None:
        entries = list(manifest["files"])
        listed = {e["path"] for e in entries}
        for rel in on_disk:
            if rel not in listed:
                found.append(
                    Problem(
                        "unlisted_file", rel, None, None, f"part file not listed in {MANIFEST_NAME}"
                    )
                )
    else:
        entries = [{"path": rel} for rel in on_disk]
    if not entries:
        found.append(
            Problem(
                "empty_recording", str(root), None, None, "recording has no part files (no ticks)"
            )
        )
        return _cap(found, max_problems)
    state = RowState()
    total = 0
    for entry in entries:
        found.extend(_check_file(root, entry, state))
        total += state.last_rows
    if total == 0 and not any(p.kind in ("unreadable_file", "file_missing") for p in found):
        found.append(Problem("empty_recording", str(root), None, None, "recording holds no ticks"))
    if manifest is not None and state.all_read and manifest["tick_count"] != total:
        msg = f"tick_count {manifest['tick_count']} but the part files hold {total} rows"
        found.append(Problem("row_count_mismatch", MANIFEST_NAME, "tick_count", None, msg))
    return _cap(found, max_problems)


def check_recording(path: str | os.PathLike[str], max_problems: int = 20) -> None:
    """Raise RecordingError (exit code 5) if the recording has any problem; used before replay."""
    problems = validate_recording(path, max_problems=max_problems)
    if problems:
        more = (
            f" (+{len(problems) - 1} more; run `harness validate {path}`)"
            if len(problems) > 1
            else ""
        )
        raise RecordingError(f"invalid recording {path}: {problems[0]}{more}")


def _cap(problems: list[Problem], max_problems: int) -> list[Problem]:
    if len(problems) <= max_problems:
        return problems
    rest = len(problems) - max_problems
    kinds = sorted({p.kind for p in problems[max_problems:]})
    summary = Problem(
        "truncated", "-", None, None, f"{rest} more problems not shown ({', '.join(kinds)})"
    )
    return problems[:max_problems] + [summary]


def _check_file(root: Path, entry: dict[str, Any], state: RowState) -> list[Problem]:
    rel = str(entry["path"])
    state.last_rows = 0
    full = safe_relpath(root, rel)
    if full is None:
        state.all_read = False
        return []  # reported by the manifest check
    if not full.is_file():
        state.all_read = False
        return [Problem("file_missing", rel, None, None, f"listed in {MANIFEST_NAME} but missing")]
    if full.stat().st_size == 0:
        return [
            Problem(
                "empty_file", rel, None, None, "file is empty (0 bytes); expected a Parquet file"
            )
        ]
    out: list[Problem] = []
    if "sha256" in entry and file_sha256(full) != entry["sha256"]:
        out.append(
            Problem(
                "sha256_mismatch",
                rel,
                None,
                None,
                f"sha256 differs from {MANIFEST_NAME} (file changed or corrupt)",
            )
        )
    try:
        pf = pq.ParquetFile(full)
        schema = pf.schema_arrow
        rows = pf.metadata.num_rows
    except Exception as exc:  # pyarrow raises several types for torn files
        state.all_read = False
        return out + [
            Problem(
                "unreadable_file",
                rel,
                None,
                None,
                f"unreadable Parquet (truncated or corrupt): {_one_line(exc)}",
            )
        ]
    state.last_rows = rows
    if rows == 0:
        out.append(Problem("empty_file", rel, None, None, "file holds 0 rows"))
    if "rows" in entry and entry["rows"] != rows:
        out.append(
            Problem(
                "row_count_mismatch",
                rel,
                None,
                None,
                f"{MANIFEST_NAME} says {entry['rows']} rows, file has {rows}",
            )
        )
    out.extend(_schema_problems(rel, schema, state))
    if (
        any(p.kind in ("missing_column", "wrong_type", "ts_naive", "ts_not_utc") for p in out)
        or rows == 0
    ):
        return out
    day = _partition_day(rel)
    if day is None:
        out.append(
            Problem("bad_partition", rel, None, None, "path must be date=YYYY-MM-DD/part-N.parquet")
        )
    collector = Collector()
    try:
        for batch in pf.iter_batches(batch_size=_BATCH):
            check_batch(rel, batch, day, state, collector)
    except Exception as exc:
        state.all_read = False
        collector.add(
            Problem(
                "unreadable_file", rel, None, None, f"unreadable Parquet data: {_one_line(exc)}"
            )
        )
    return out + collector.problems()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


def _partition_day(rel: str) -> int | None:
    parts = rel.split("/")
    m = _DATE_DIR.match(parts[0]) if len(parts) == 2 else None
    if not m:
        return None
    return int(np.datetime64(m.group(1), "D").astype(np.int64))


def _schema_problems(rel: str, schema: pa.Schema, state: RowState) -> list[Problem]:
    out = []
    for name in REQUIRED_COLUMNS:
        if name not in schema.names:
            out.append(
                Problem("missing_column", rel, name, None, f"required column {name!r} missing")
            )
    for field in schema:
        if field.name not in COLUMN_TYPES:
            out.append(
                Problem(
                    "unknown_column", rel, field.name, None, "not a recording column (design.md §3)"
                )
            )
            continue
        problem = _type_problem(field.name, field.type)
        if problem is not None:
            out.append(Problem(problem[0], rel, field.name, None, problem[1]))
    if state.schema is None:
        state.schema, state.schema_file = schema, rel
    elif not _same_columns(schema, state.schema):
        msg = f"schema differs from {state.schema_file}: {_describe(schema)} vs {_describe(state.schema)}"
        out.append(Problem("schema_mismatch", rel, None, None, msg))
    return out


def _type_problem(name: str, typ: pa.DataType) -> tuple[str, str] | None:
    """(kind, message) when a known column's stored type is not its recording type."""
    if pa.types.is_timestamp(COLUMN_TYPES[name]) and pa.types.is_timestamp(typ):
        if typ.tz is None:
            return "ts_naive", f"timezone-naive {typ}; expected timestamp[ns, tz=UTC]"
        if not type_ok(name, typ):
            return "ts_not_utc", f"{typ}; expected timestamp[ns, tz=UTC]"
    if not type_ok(name, typ):
        return "wrong_type", f"type {typ}; expected {expected_type_text(name)}"
    return None


def _same_columns(a: pa.Schema, b: pa.Schema) -> bool:
    return [(f.name, _norm(f.type)) for f in a] == [(f.name, _norm(f.type)) for f in b]


def _norm(typ: pa.DataType) -> pa.DataType:
    return typ.value_type if pa.types.is_dictionary(typ) else typ


def _describe(schema: pa.Schema) -> str:
    return "(" + ", ".join(f"{f.name}:{_norm(f.type)}" for f in schema) + ")"
