"""Finding runs without opening them: run ids, manifests, effective status, the list of runs.

Standard library only, so `harness runs`, `harness serve` and anything that only lists or
resolves runs start without loading DuckDB or Arrow (harness/store/runs.py re-exports all of it).
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.core.errors import StoreError
from harness.core.files import read_document
from harness.core.model import DEFAULT_RUNS_DIR

RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
STALE_AFTER_S = 60.0  # a `running` run whose heartbeat is older than this is shown as incomplete
DEFAULT_ROOT = DEFAULT_RUNS_DIR


def validate_run_id(run_id: str) -> str:
    """Reject run ids that could escape the runs directory (separators, `..`, empty)."""
    if not isinstance(run_id, str) or not RUN_ID_RE.match(run_id) or ".." in run_id:
        raise StoreError(f"invalid run id {run_id!r}: letters, digits, '.', '_', '-' only")
    return run_id


def read_json(path: Path) -> Any:
    return read_document(path, "JSON", StoreError)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a killed process nobody reaped yet (no init in a container) is a zombie, not alive
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2] != "Z"
    return True


def effective_status(manifest: Mapping[str, Any], now: float | None = None) -> str:
    """The status to show: a `running` run whose process is gone or heartbeat stale is incomplete."""
    status = str(manifest.get("status", "error"))
    if status != "running":
        return status
    pid = manifest.get("pid")
    if (
        manifest.get("host") == socket.gethostname()
        and isinstance(pid, int)
        and not _pid_alive(pid)
    ):
        return "incomplete"
    beat = manifest.get("heartbeat")
    try:
        ts = datetime.strptime(str(beat), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return "incomplete"
    return "incomplete" if (now or time.time()) - ts > STALE_AFTER_S else "running"


def load_manifest(run_dir: Path) -> dict[str, Any]:
    """A run directory's manifest; StoreError (exit 5) when it is not a run or it is corrupt."""
    path = Path(run_dir) / "manifest.json"
    if not path.is_file():
        raise StoreError(f"{run_dir}: not a run directory (no manifest.json)")
    data = read_json(path)
    if not isinstance(data, dict):
        raise StoreError(f"{path}: manifest must be a JSON object")
    return data


def resolve_run(ref: str | Path, root: str | Path = DEFAULT_ROOT) -> Path:
    """A run directory from a path or a bare run id under `root`."""
    p = Path(ref)
    if (p / "manifest.json").exists():
        return p
    run_id = validate_run_id(str(ref))
    p = Path(root) / run_id
    if not (p / "manifest.json").exists():
        raise StoreError(f"no run {ref!r}: neither a run directory nor a run id under {root}")
    return p


def list_runs(root: str | Path = DEFAULT_ROOT) -> list[dict[str, Any]]:
    """Every run's manifest (newest first) with `status` replaced by its effective status."""
    rows: list[dict[str, Any]] = []
    base = Path(root)
    if not base.is_dir():
        return rows
    for d in base.iterdir():
        mf = d / "manifest.json"
        if not d.is_dir() or not RUN_ID_RE.match(d.name) or not mf.exists():
            continue
        try:
            manifest = read_json(mf)
        except StoreError:
            manifest = {"run_id": d.name, "status": "error", "error": "unreadable manifest"}
        manifest["recorded_status"] = manifest.get("status")
        manifest["status"] = effective_status(manifest)
        manifest["path"] = str(d)
        for side_file in ("summary.json", "verdict.json"):
            f = d / side_file
            if f.exists():
                with contextlib.suppress(StoreError):
                    manifest[side_file.removesuffix(".json")] = read_json(f)
        rows.append(manifest)
    rows.sort(key=lambda m: (str(m.get("started", "")), str(m.get("run_id", ""))), reverse=True)
    return rows
