"""The A/A noise floor of a recording: measured by replaying primary against itself, stored per recording.

Latency gates use the floor only to refuse a FAIL the machine's own noise could explain (the
check becomes INCONCLUSIVE, never PASS), and every latency check states the floor and its source.
Files live at `<reports>/calibration/<recording sha256[:16]>.json`. `harness calibrate` writes a
fresh one; every `harness replay --aa` adds its run to it (the newest MAX_RUNS are kept), so the
A/A runs people make anyway keep the floor current.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.core.errors import StoreError
from harness.core.files import atomic_write_json
from harness.gates.evidence import DEFAULT_NOISE_FLOOR, NoiseFloor
from harness.replay.outcome import CONCURRENT

#: A/A runs a stored calibration keeps (the newest), so an old quiet machine state ages out.
MAX_RUNS = 10

#: Never trust a floor below this: a quiet calibration run must not make a noisy CI run flaky.
MIN_NOISE_FLOOR = 0.02


@dataclass(frozen=True, slots=True)
class Calibration:
    """Result of N A/A runs of one recording."""

    recording: str
    recording_sha256: str
    runs: tuple[str, ...]
    ratios: tuple[float, ...]
    ci_lows: tuple[float, ...]
    ci_highs: tuple[float, ...]
    event_differences: int
    floor: float
    host: str
    created: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class AARun:
    """One A/A run's median latency ratio, the outer bounds of its median and mean ratio 95 %
    CIs, and its event differences (must be 0)."""

    run_id: str
    ratio: float
    low: float
    high: float
    event_differences: int
    recording: str
    recording_sha256: str


def measure_aa(run_dir: Path, seed: int = 0) -> AARun:
    """Read an A/A run's median latency ratio (with the outer bounds of its median and mean ratio
    CIs) and its unexplained differences from its evidence."""
    from harness.gates.evidence import open_evidence

    ev = open_evidence(run_dir, seed=seed)
    try:
        if not ev.manifest.get("aa"):
            raise StoreError(f"{run_dir}: not an A/A run (replay --aa); it cannot calibrate")
        if (ev.manifest.get("options") or {}).get("sides") == CONCURRENT:
            raise StoreError(
                f"{run_dir}: its stacks ran in two processes (--sides concurrent), timed apart on "
                "two cores; the noise floor is measured with the sides interleaved, as gates use it"
            )
        # the floor serves the median checks and the mean checks alike, so an A/A run's bounds
        # are the outer ones of both CIs (its point: the median ratio, as shown to people)
        iv, mean = ev.latency.ratio_median, ev.latency.ratio_mean
        low, high = _outer(iv.low, mean.low, min), _outer(iv.high, mean.high, max)
        diffs = int(ev.con.execute("SELECT count(*) FROM unexplained").fetchone()[0])  # type: ignore[index]
        rec = ev.manifest.get("recording") or {}
        return AARun(
            ev.run_id,
            iv.point,
            low,
            high,
            diffs,
            str(rec.get("name", "")),
            str(rec.get("sha256", "")),
        )
    finally:
        ev.close()


def _outer(a: float, b: float, pick: Callable[[list[float]], float]) -> float:
    """min/max of two bounds, ignoring a NaN one (a run too short for a CI)."""
    values = [x for x in (a, b) if not math.isnan(x)]
    return float(pick(values)) if values else math.nan


def store_runs(
    reports_dir: Path, runs: Sequence[AARun], *, merge: bool
) -> tuple[Calibration, Path]:
    """Store a calibration made of `runs` (added to the stored one's when `merge`); the floor is
    recomputed over all the runs kept."""
    import datetime as dt
    import platform

    if not runs:
        raise StoreError("no A/A runs to calibrate from")
    sha, name = runs[-1].recording_sha256, runs[-1].recording
    kept: list[tuple[str, float, float, float]] = []
    diffs = 0
    path = calibration_path(reports_dir, sha)
    if merge and path.is_file():
        old = load(path)
        kept = list(zip(old.runs, old.ratios, old.ci_lows, old.ci_highs, strict=True))
        diffs = old.event_differences
    new_ids = {r.run_id for r in runs}
    kept = [k for k in kept if k[0] not in new_ids]
    kept += [(r.run_id, r.ratio, r.low, r.high) for r in runs]
    kept = kept[-MAX_RUNS:]
    ids, ratios, lows, highs = (tuple(col) for col in zip(*kept, strict=True))
    cal = Calibration(
        recording=name,
        recording_sha256=sha,
        runs=ids,  # type: ignore[arg-type]
        ratios=ratios,  # type: ignore[arg-type]
        ci_lows=lows,  # type: ignore[arg-type]
        ci_highs=highs,  # type: ignore[arg-type]
        event_differences=diffs + sum(r.event_differences for r in runs),
        floor=floor_from(ratios, lows, highs),  # type: ignore[arg-type]
        host=platform.node(),
        created=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    return cal, save(reports_dir, cal)


def stored_for(reports_dir: Path, sha256: str) -> tuple[Calibration, Path] | None:
    """The stored calibration of a recording (by its manifest sha256), if one exists."""
    path = calibration_path(reports_dir, sha256)
    return (load(path), path) if path.is_file() else None


def floor_from(ratios: Sequence[float], lows: Sequence[float], highs: Sequence[float]) -> float:
    """The largest deviation from 1.0 any A/A run showed, point or CI bound (at least MIN_NOISE_FLOOR)."""
    devs = [abs(x - 1.0) for x in (*ratios, *lows, *highs) if not math.isnan(x)]
    return max([MIN_NOISE_FLOOR, *devs])


def calibration_path(reports_dir: Path, sha256: str) -> Path:
    if not sha256 or not all(c in "0123456789abcdef" for c in sha256.lower()):
        raise StoreError(f"recording sha256 {sha256!r} is not a hex digest")
    return reports_dir / "calibration" / f"{sha256.lower()[:16]}.json"


def save(reports_dir: Path, cal: Calibration) -> Path:
    path = calibration_path(reports_dir, cal.recording_sha256)
    atomic_write_json(path, cal.to_dict())
    return path


def load(path: Path) -> Calibration:
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        return Calibration(
            recording=d["recording"],
            recording_sha256=d["recording_sha256"],
            runs=tuple(d["runs"]),
            ratios=tuple(d["ratios"]),
            ci_lows=tuple(d["ci_lows"]),
            ci_highs=tuple(d["ci_highs"]),
            event_differences=int(d["event_differences"]),
            floor=float(d["floor"]),
            host=d.get("host", ""),
            created=d.get("created", ""),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"{path}: unreadable calibration: {exc}") from None


def noise_floor_for(manifest: Mapping[str, Any], reports_dir: Path) -> NoiseFloor:
    """The stored floor for the run's recording, or the stated default when none was measured."""
    rec = manifest.get("recording")
    sha = rec.get("sha256") if isinstance(rec, Mapping) else None
    if isinstance(sha, str) and sha:
        try:
            path = calibration_path(reports_dir, sha)
        except StoreError:
            path = None
        if path is not None and path.is_file():
            cal = load(path)
            return NoiseFloor(
                cal.floor, f"A/A calibration {path.name}, {len(cal.runs)} runs on {cal.host}"
            )
    return NoiseFloor(DEFAULT_NOISE_FLOOR, "default; no A/A calibration for this recording")
