"""The one way the harness writes a file (whole or not at all) and reads a document back.

Every result file (manifests, summaries, verdicts, reports, calibration, recording manifests) is
written to a temp file in the same directory, flushed to disk and renamed over the target, so a
reader never sees half a file and a crash leaves the old one or the new one. Files get the
process's normal mode (0644 under the usual umask), not `mkstemp`'s 0600. A full disk or a
read-only directory is a `StoreError` (exit 5) naming the file, and leaves no temp file behind.
"""

from __future__ import annotations

import errno
import json
import os
import threading
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.core.errors import HarnessError, StoreError

_WHY = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}


def write_error(path: Path, exc: OSError) -> StoreError:
    """The one-line error for a file the harness could not write."""
    why = _WHY.get(exc.errno or 0, exc.strerror or str(exc))
    return StoreError(f"cannot write {path}: {why}")


def temp_path(path: Path) -> Path:
    """The temp file `path` is staged in (hidden, per process and thread, same directory)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")


def atomic_write(path: Path, write: Callable[[Path], object], fsync: bool = True) -> None:
    """Stage `write(tmp)` and rename it over `path`; on any failure remove the temp file.

    `write` produces the whole file at the temp path (e.g. a Parquet writer)."""
    path = Path(path)
    tmp = temp_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        if fsync:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise write_error(path, exc) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any, indent: int = 2, sort_keys: bool = True) -> None:
    text = json.dumps(obj, indent=indent, sort_keys=sort_keys, default=str) + "\n"
    atomic_write_text(path, text)


def remove(*paths: Path) -> None:
    """Remove result files that are about to be superseded (missing ones are fine)."""
    for p in paths:
        try:
            Path(p).unlink(missing_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot remove the stale {p}: {exc.strerror}") from exc


_PARSERS: dict[str, tuple[Callable[[str], Any], type[Exception]]] = {
    "JSON": (json.loads, json.JSONDecodeError),
    "TOML": (tomllib.loads, tomllib.TOMLDecodeError),
}


def read_document(path: Path, kind: str, error: type[HarnessError], where: str = "") -> Any:
    """A JSON or TOML (`kind`) document parsed; a missing or malformed file is one `error` line
    naming `where` (default: the path), never a traceback."""
    parse, syntax = _PARSERS[kind]
    where = where or str(path)
    try:
        return parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise error(f"{where}: no such file") from exc
    except UnicodeDecodeError as exc:
        raise error(f"{where}: not UTF-8 text: {exc}") from exc
    except syntax as exc:
        raise error(f"{where}: invalid {kind}: {exc}") from exc
