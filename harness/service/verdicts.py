"""Which run a request means, and its verdict for a phase: the service's logic without HTTP.

A request names a run by id, or asks for the newest complete run of a recording (and candidate);
the phase defaults to the one the candidate ran at. Verdicts are gated fresh (through the same
`judge_run` as `harness gate`, so verdict.json and junit.xml are written too) and kept in memory
per (run, phase, manifest mtime): a poller asking every 30 s costs one gate, and a run that changes
(resumed, re-diffed) is gated again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.errors import ConfigError, HarnessError, StoreError
from harness.gates.engine import PHASES

#: Verdict documents kept in memory (a few tens of KB each).
CACHE_SIZE = 256


class NotFound(HarnessError):
    """No run matches the request (HTTP 404)."""


@dataclass(frozen=True)
class Query:
    """What a caller asked for: a run id, or the latest run of a recording (and candidate)."""

    run: str | None = None
    recording: str | None = None
    candidate: str | None = None
    phase: str | None = None

    @classmethod
    def of(cls, params: Mapping[str, Any]) -> Query:
        known = {"run", "recording", "candidate", "phase"}
        q = cls(**{k: str(v) for k, v in params.items() if k in known and v not in (None, "")})
        if not q.run and not q.recording:
            raise ConfigError("name a run (run=RUN_ID) or a recording (recording=NAME)")
        if q.phase is not None and q.phase not in PHASES:
            raise ConfigError(f"phase {q.phase!r} is not one of {', '.join(PHASES)}")
        return q


@dataclass
class VerdictService:
    """Finds runs under `runs_dir` and gates them; safe to call from several threads."""

    runs_dir: Path
    accept: Path | None = None
    no_accept: bool = False
    _cache: OrderedDict[tuple[str, str, int], dict[str, Any]] = field(default_factory=OrderedDict)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def find(self, q: Query) -> Path:
        """The run directory a query means (run ids only: never a path from the network)."""
        from harness.store.listing import list_runs, validate_run_id

        if q.run:
            try:
                run_dir = self.runs_dir / validate_run_id(q.run)
            except StoreError as exc:
                raise ConfigError(str(exc)) from None
            if not (run_dir / "manifest.json").is_file():
                raise NotFound(f"no run {q.run} under {self.runs_dir}")
            return run_dir
        for m in list_runs(self.runs_dir):  # newest first
            rec = (m.get("recording") or {}).get("name")
            cand = (m.get("candidate") or {}).get("factory")
            if m.get("status") != "complete" or m.get("aa") or rec != q.recording:
                continue
            if q.candidate and cand != q.candidate:
                continue
            return self.runs_dir / str(m["run_id"])
        who = f" with candidate {q.candidate}" if q.candidate else ""
        raise NotFound(f"no complete run of recording {q.recording}{who} under {self.runs_dir}")

    def verdict(self, q: Query, *, fresh: bool = False) -> dict[str, Any]:
        """The verdict document of the run `q` means, for its phase (gated now, or cached)."""
        from harness.gates.verdict import judge_run
        from harness.store.listing import load_manifest

        run_dir = self.find(q)
        manifest = load_manifest(run_dir)
        phase = q.phase or _ran_at(manifest)
        if phase is None:
            raise ConfigError(
                f"run {run_dir.name}: its candidate states no rollout phase; ask with phase=…"
            )
        key = (run_dir.name, phase, (run_dir / "manifest.json").stat().st_mtime_ns)
        with self._guard:
            lock = self._locks.setdefault(run_dir.name, threading.Lock())
        with lock:  # one gate at a time per run: they write the same verdict.json
            if not fresh and key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            judged = judge_run(run_dir, (phase,), accept=self.accept, no_accept=self.no_accept)
            doc = {**judged.document, "run_path": str(run_dir), "gated_phase": phase}
            doc["check_results"] = {c["check"]: c["status"] for c in doc.get("checks", [])}
            with self._guard:
                self._cache[key] = doc
                while len(self._cache) > CACHE_SIZE:  # the least recently asked for goes
                    self._cache.popitem(last=False)
            return doc


def _ran_at(manifest: Mapping[str, Any]) -> str | None:
    config = (manifest.get("candidate") or {}).get("config") or {}
    phase = config.get("phase")
    return str(phase) if phase in PHASES else None


def status_for(verdict: str) -> int:
    """Flagger's reading: 2xx lets the canary advance, anything else halts it."""
    return {"pass": 200, "fail": 412, "inconclusive": 503}.get(verdict, 500)
