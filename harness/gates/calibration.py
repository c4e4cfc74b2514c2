"""The A/A noise floor of a recording: measured by replaying primary against itself, stored per recording.

Latency gates use the floor only to refuse a FAIL the machine's own noise could explain (the
check becomes INCONCLUSIVE, never PASS), and every latency check states the floor and its source.
Files live at `<reports>/calibration/<recording sha256[:16]>.json`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.core.errors import StoreError
from harness.core.files import atomic_write_json
from harness.gates.evidence import DEFAULT_NOISE_FLOOR, NoiseFloor

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
