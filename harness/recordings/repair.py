"""Repair of a recording whose writer never finalised it (crash): keep every complete part file.

`harness validate --repair` calls it; torn or empty parts are moved to `_broken/`, never deleted.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from harness.core.errors import RecordingError
from harness.recordings.manifest import (
    MANIFEST_NAME,
    PART_GLOB,
    WRITING_MARKER,
    build_manifest,
    file_sha256,
    manifest_problems,
    write_json_atomic,
)

_BATCH = 256 * 1024


def repair_recording(path: str | os.PathLike[str]) -> tuple[dict[str, Any], list[str]]:
    """Finalise a crashed recording: keep complete part files, move torn ones to `_broken/`.

    Returns the new manifest and the part files set aside. Refuses a recording that already has
    a valid manifest (repair never rewrites a finalised recording).
    """
    root = Path(path)
    if not root.is_dir():
        raise RecordingError(f"{root}: no such recording directory")
    if not (root / WRITING_MARKER).is_file() and not any(root.glob(PART_GLOB)):
        raise RecordingError(f"{root}: no part files and no writer marker; nothing to repair")
    if (root / MANIFEST_NAME).is_file():
        manifest, problems = manifest_problems(root)
        if manifest is not None:
            raise RecordingError(f"{root}: recording is finalised; nothing to repair")
    marker: dict[str, Any] = {}
    if (root / WRITING_MARKER).is_file():
        try:
            marker = json.loads((root / WRITING_MARKER).read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            marker = {}
    files: list[dict[str, Any]] = []
    removed: list[str] = []
    tickers: set[str] = set()
    columns: list[str] | None = None
    for part in sorted(root.glob(PART_GLOB)):
        rel = part.relative_to(root).as_posix()
        try:
            info = _scan_part(part)
        except Exception:
            target = root / "_broken" / rel.replace("/", "__")
            target.parent.mkdir(exist_ok=True)
            part.rename(target)
            removed.append(rel)
            continue
        columns = columns or list(info["columns"])
        tickers.update(info["tickers"])
        files.append(
            {
                "path": rel,
                "rows": info["rows"],
                "sha256": file_sha256(part),
                "bytes": part.stat().st_size,
                **{k: info[k] for k in _BOUNDS},
            }
        )
    notes = marker.get("notes")
    repair = {"repaired": True, "kept_files": len(files), "set_aside": removed}
    notes = (
        {**notes, "repair": repair}
        if isinstance(notes, dict)
        else {"original_notes": notes, "repair": repair}
    )
    manifest = build_manifest(
        name=str(marker.get("name") or root.name),
        source=str(marker.get("source") or "unknown"),
        notes=notes,
        created=str(marker.get("created") or ""),
        columns=list(columns or []),
        tickers=sorted(tickers),
        files=files,
    )
    write_json_atomic(root / MANIFEST_NAME, manifest)
    (root / WRITING_MARKER).unlink(missing_ok=True)
    return manifest, removed


_BOUNDS = ("first_ts", "last_ts", "first_seq", "last_seq")


def _scan_part(part: Path) -> dict[str, Any]:
    """Read a part file batch by batch (bounded memory); raise if it is torn or empty."""
    pf = pq.ParquetFile(part)
    info: dict[str, Any] = {"rows": 0, "columns": pf.schema_arrow.names, "tickers": set()}
    for batch in pf.iter_batches(batch_size=_BATCH, columns=["seq", "ts", "ticker"]):
        if batch.num_rows == 0:
            continue
        ts = batch.column("ts").cast(pa.int64())
        tick = batch.column("ticker")
        if pa.types.is_dictionary(tick.type):
            tick = tick.cast(pa.string())
        info["tickers"].update(t for t in pc.unique(tick).to_pylist() if t is not None)
        if info["rows"] == 0:
            info["first_ts"], info["first_seq"] = ts[0].as_py(), batch.column("seq")[0].as_py()
        info["last_ts"], info["last_seq"] = ts[-1].as_py(), batch.column("seq")[-1].as_py()
        info["rows"] += batch.num_rows
    if info["rows"] == 0:
        raise ValueError("part file holds no rows")
    return info
