"""The CI regression gate: replay a recorded session, gate one phase, and judge it by the CI policy.

Policy (README "CI gate"): a recording fails CI on any FAIL check other than latency — every
unexplained event difference is one, and so is a rule accepting more or fewer rows than it
declares — and on NODATA (no data is never a pass). Latency: a check left INCONCLUSIVE only
because a latency CI straddles its threshold, or exceeds it by less than the A/A noise floor, is
not decidable on a shared, noisy CI machine: CI reports it and passes unless `strict` is set.
When a known latency finding covers the run (the candidate is accepted as slower than the phase's
rollout bar), CI judges latency against that finding's ceiling instead and says that the rollout
verdict stands. A real regression (say 2× slower) clears its bar + noise floor with its whole CI.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.errors import RecordingError
from harness.diff.rules import recording_name
from harness.gates.calibration import Calibration
from harness.gates.engine import GateResult, Status, Verdict, gate_run
from harness.gates.verdict import text_table, write_junit, write_verdict
from harness.replay.shadow import RunSpec


@dataclass(frozen=True, slots=True)
class Outcome:
    """CI's judgement of one gated recording, with everything a failure message needs."""

    recording: str
    run_dir: Path
    result: GateResult
    ok: bool
    policy_note: str
    first_divergence: Mapping[str, Any] | None

    def message(self) -> str:
        lines = [
            f"{self.recording}: {self.result.phase} rollout verdict "
            f"{self.result.verdict.value.upper()}; CI regression gate {'PASS' if self.ok else 'FAIL'}"
        ]
        lines += [f"  {r}" for r in self.result.reasons]
        if self.policy_note:
            lines.append(f"  policy: {self.policy_note}")
        if self.first_divergence and self.first_divergence.get("seq") is not None:
            fd = json.dumps(self.first_divergence, default=str, sort_keys=True)
            lines.append(f"  first divergence: {fd[:1500]}")
        lines.append(f"  run: {self.run_dir}")
        lines.append(text_table(self.result))
        return "\n".join(lines)


def judge(result: GateResult, strict: bool = False) -> tuple[bool, str]:
    """Apply the CI policy to a gate result: (passes CI, why).

    CI is a regression gate, not the rollout decision: every non-latency check must PASS (events
    equal up to accepted rules with their declared counts, run complete, no errors). Latency is
    judged by the phase's own bar, unless a known latency finding (`latency_known_finding[...]`)
    covers the run: then by that finding's accepted ceiling on the median and the mean ratio, and
    the note says the rollout verdict stays what the gate said.
    """
    verdict = result.verdict
    if verdict is Verdict.PASS:
        return True, ""
    other = [c for c in result.checks if not c.is_latency and c.status is not Status.PASS]
    if any(c.status is Status.FAIL for c in other):
        return False, "a check failed"
    if any(c.status is Status.NODATA for c in other):
        return False, "no data is never a pass"
    if other:
        return False, "inconclusive checks other than latency"
    latency = [c for c in result.checks if c.is_latency]
    # the finding's ceiling on the median (`latency_known_finding[...]`) and on the mean
    known = [c for c in latency if c.check.startswith("latency_known_finding")]
    judged = known or latency
    failed = [c for c in judged if c.status is Status.FAIL]
    if failed:
        return False, "latency regression: " + "; ".join(f"{c.check}: {c.reason}" for c in failed)
    if any(c.status is Status.NODATA for c in judged):
        return False, "no data is never a pass"
    notes = []
    if known:
        unmet = [c.check for c in latency if c not in known and c.status is not Status.PASS]
        if unmet:
            notes.append(
                f"rollout verdict {verdict.value.upper()} stands ({', '.join(unmet)} not met); "
                f"CI checks latency for regressions only, against the known finding(s) "
                f"{', '.join(c.check for c in known)}"
            )
    open_ = [c.check for c in judged if c.status is Status.INCONCLUSIVE]
    if open_:
        if strict:
            return False, "--shadow-strict: inconclusive is a failure"
        notes.append(
            f"latency within the noise floor is undecidable on CI ({', '.join(open_)}); "
            "not a regression"
        )
    return True, "; ".join(notes)


def _first_divergence(run_dir: Path) -> Mapping[str, Any] | None:
    path = run_dir / "first_divergence.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def recording_dirs(root: Path) -> list[Path]:
    """Every recording (a directory holding recording.json) under root, sorted."""
    if (root / "recording.json").is_file():
        return [root]
    if not root.is_dir():
        raise RecordingError(f"{root}: no such recordings directory")
    return sorted(p.parent for p in root.glob("*/recording.json"))


def replay_recording(
    rec_dir: Path,
    primary: str,
    candidate: str | None,
    primary_config: Mapping[str, Any],
    candidate_config: Mapping[str, Any],
    runs_root: Path,
    seed: int = 0,
    max_ticks: int | None = None,
) -> Path:
    """Replay one recording through both stacks (candidate None → A/A); returns the run directory.

    `max_ticks` replays only the first N ticks (stated in the manifest's filters) to keep CI fast.
    Through the one pipeline (harness/pipeline/replay.py): the recording is validated first, so a corrupt
    recording is an error here exactly as in `harness replay`.
    """
    from harness.pipeline.replay import replay
    from harness.pipeline.request import ReplayRequest
    from harness.replay.outcome import RunOptions
    from harness.replay.shadow import StackSpec

    result = replay(
        ReplayRequest(
            Path(rec_dir),
            StackSpec(primary, dict(primary_config)),
            None if candidate is None else StackSpec(candidate, dict(candidate_config)),
            RunOptions(seed=seed),
            limit=max_ticks,
            runs_dir=Path(runs_root),
            workers=None,
            filters={"max_ticks": max_ticks} if max_ticks is not None else {},
        )
    )
    return Path(result.path)


@dataclass(frozen=True)
class Judging:
    """How CI judges a replayed run: by which rules, where reports go, how strictly, on which day
    (rule expiry)."""

    accept: Path | None = None
    reports_dir: Path | None = None
    strict: bool = False
    today: dt.date | None = None


def gate_recording(
    rec_dir: Path,
    phase: str,
    stacks: RunSpec,
    *,
    runs_root: Path,
    judging: Judging | None = None,
    max_ticks: int | None = None,
) -> Outcome:
    """Replay, gate and judge one recording; writes verdict.json and junit.xml into the run."""
    run_dir = replay_recording(
        rec_dir,
        stacks.primary.factory,
        stacks.candidate.factory,
        stacks.primary.config,
        stacks.candidate.config,
        runs_root,
        max_ticks=max_ticks,
    )
    j = judging or Judging()
    return gate_replayed(
        run_dir, phase, accept=j.accept, reports_dir=j.reports_dir, strict=j.strict, today=j.today
    )


def gate_replayed(
    run_dir: Path,
    phase: str,
    *,
    accept: Path | None = None,
    reports_dir: Path | None = None,
    strict: bool = False,
    today: dt.date | None = None,
) -> Outcome:
    """Gate and judge a replayed run; writes verdict.json and junit.xml into it.

    The rules are `accept` when given, else the copy recorded with the run at replay; rows a rule
    accepts without a count declared for the run's key fail in the gate itself
    (`accepted_rows_undeclared`), the same check `harness gate` and the report show.
    """
    evidence, results = gate_run(
        run_dir, (phase,), accept=accept, today=today, reports_dir=reports_dir
    )
    try:
        rules_doc = evidence.rules_document()
        name = recording_name(evidence.manifest) or run_dir.name
    finally:
        evidence.close()
    extra = {"accepted_differences": rules_doc}
    write_verdict(run_dir / "verdict.json", results, extra)
    write_junit(run_dir / "junit.xml", results, rules_doc)
    ok, note = judge(results[0], strict)
    return Outcome(name, run_dir, results[0], ok, note, _first_divergence(run_dir))


def calibrate(
    rec_dir: Path,
    *,
    primary: str,
    primary_config: Mapping[str, Any] | None = None,
    runs: int = 3,
    runs_root: Path,
    reports_dir: Path,
    max_ticks: int | None = None,
) -> tuple[Calibration, Path]:
    """A/A-replay a recording `runs` times; store the latency noise floor (and any event diffs)."""
    from harness.gates.calibration import measure_aa, store_runs

    measured = [
        measure_aa(
            replay_recording(
                rec_dir,
                primary,
                None,
                primary_config or {},
                {},
                runs_root,
                seed=i,
                max_ticks=max_ticks,
            ),
            seed=i,
        )
        for i in range(runs)
    ]
    return store_runs(reports_dir, measured, merge=False)
