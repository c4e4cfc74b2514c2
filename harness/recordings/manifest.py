"""The recording manifest (`recording.json`): its fields, hashing, atomic writing and checking."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from harness.core.errors import RecordingError
from harness.core.files import atomic_write_json
from harness.core.problem import Problem

MANIFEST_NAME = "recording.json"
#: Present while a writer is open; a directory with it and no manifest was never finalised.
WRITING_MARKER = "_writing.json"
SCHEMA_VERSION = 1
#: Date partitions are trading days: a US day (04:00–20:00 ET) can cross midnight UTC in winter.
PARTITION_TZ = "America/New_York"
PART_GLOB = "date=*/part-*.parquet"

REQUIRED_KEYS = ("schema_version", "name", "source", "created", "tick_count", "files")
FILE_KEYS = ("path", "rows", "sha256")


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def recording_id(manifest: dict[str, Any]) -> str:
    """A stable id of a recording: sha256 over its files' paths and hashes (not over timestamps)."""
    lines = sorted(f"{f['path']}:{f['sha256']}" for f in manifest["files"])
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON whole or not at all (harness.core.files), so readers never see half."""
    atomic_write_json(path, obj, indent=1, sort_keys=False)


def ns_to_iso(ns: int | None) -> str | None:
    if ns is None:
        return None
    secs, rem = divmod(int(ns), 1_000_000_000)
    return datetime.fromtimestamp(secs, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{rem:09d}Z"


def build_manifest(
    *,
    name: str,
    source: str,
    notes: Any,
    created: str,
    columns: list[str],
    tickers: list[str],
    files: list[dict[str, Any]],
) -> dict[str, Any]:
    """Assemble a manifest from per-file entries (each: path, rows, sha256, bytes, first/last ts/seq)."""
    rows = sum(int(f["rows"]) for f in files)
    first = min((f["first_ts"] for f in files if f.get("first_ts") is not None), default=None)
    last = max((f["last_ts"] for f in files if f.get("last_ts") is not None), default=None)
    return {
        "schema_version": SCHEMA_VERSION,
        "name": name,
        "source": source,
        "created": created,
        "partition_timezone": PARTITION_TZ,
        "columns": columns,
        "tickers": sorted(tickers),
        "tick_count": rows,
        "first_ts": first,
        "last_ts": last,
        "first_time": ns_to_iso(first),
        "last_time": ns_to_iso(last),
        "files": files,
        "notes": notes,
    }


def safe_relpath(root: Path, rel: object) -> Path | None:
    """The file a manifest path names, or None if it would escape the recording directory."""
    if not isinstance(rel, str) or not rel or "\\" in rel or "\x00" in rel:
        return None
    pure = PurePosixPath(rel)
    if pure.is_absolute() or ".." in pure.parts:
        return None
    full = (root / pure).resolve()
    try:
        full.relative_to(root.resolve())
    except ValueError:
        return None
    return full


def manifest_problems(root: Path) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Read and check `recording.json`; return it (if usable) and every problem found."""
    path = root / MANIFEST_NAME
    if not root.is_dir():
        return None, [
            Problem(
                "recording_missing", str(root), None, None, "recording directory does not exist"
            )
        ]
    if not path.is_file():
        hint = "no manifest"
        if (root / WRITING_MARKER).exists() or any(root.glob(PART_GLOB)):
            hint = "recording was never finalised (crashed writer?); `harness validate --repair` rebuilds it"
        return None, [
            Problem(
                "manifest_missing", MANIFEST_NAME, None, None, f"{MANIFEST_NAME} missing: {hint}"
            )
        ]
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, [
            Problem("manifest_not_json", MANIFEST_NAME, None, None, f"not valid JSON: {exc}")
        ]
    if not isinstance(manifest, dict):
        return None, [
            Problem("manifest_not_json", MANIFEST_NAME, None, None, "expected a JSON object")
        ]
    problems = [
        Problem("manifest_key_missing", MANIFEST_NAME, key, None, f"required key {key!r} missing")
        for key in REQUIRED_KEYS
        if key not in manifest
    ]
    if problems:
        return None, problems
    version = manifest["schema_version"]
    if version != SCHEMA_VERSION:
        msg = f"unknown schema_version {version!r}; this harness reads schema_version {SCHEMA_VERSION}"
        return None, [Problem("unknown_schema_version", MANIFEST_NAME, "schema_version", None, msg)]
    files = manifest["files"]
    if not isinstance(files, list):
        return None, [
            Problem("manifest_bad_files", MANIFEST_NAME, "files", None, "expected a list of files")
        ]
    for i, entry in enumerate(files):
        if not isinstance(entry, dict) or any(k not in entry for k in FILE_KEYS):
            msg = f"files[{i}] must be an object with {', '.join(FILE_KEYS)}"
            problems.append(Problem("manifest_bad_files", MANIFEST_NAME, "files", None, msg))
        elif safe_relpath(root, entry["path"]) is None:
            msg = f"files[{i}].path {entry['path']!r} is outside the recording directory"
            problems.append(Problem("manifest_path_outside", MANIFEST_NAME, "files", None, msg))
    return (None if problems else manifest), problems


def load_manifest(root: Path) -> dict[str, Any]:
    """The checked manifest of a recording, or RecordingError naming the first problem."""
    manifest, problems = manifest_problems(root)
    if problems or manifest is None:
        raise RecordingError(f"{root}: {problems[0]}")
    return manifest
