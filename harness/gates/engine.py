"""The gate engine: runs a rollout phase's read-only SQL over a run's evidence and decides a verdict.

Each phase is one file `harness/gates/sql/<phase>.sql` returning rows `(check, observed, threshold,
status, reason)`; `_always.sql` adds the seed dashboard, alert and fallback checks every phase
carries. Statuses are a closed set; the verdict is an ordered ladder (any FAIL → fail; any
INCONCLUSIVE or NODATA → inconclusive; else pass), so a missing check can never produce a pass.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, Unpack

import duckdb

from harness.core.errors import ExitCode, GateError
from harness.diff import rulebook
from harness.gates.calibration import noise_floor_for
from harness.gates.evidence import Evidence, EvidenceView, open_evidence
from harness.store.runs import load_manifest, require_finished

PHASES: tuple[str, ...] = (
    "phase_0_installation",
    "phase_1_parallel_testing",
    "phase_2_limited_rollout",
    "phase_3_gradual_expansion",
    "phase_4_full_rollout",
)
_COLUMNS = ("check", "observed", "threshold", "status", "reason")


class Status(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"
    NODATA = "NODATA"


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"

    @property
    def exit_code(self) -> int:
        return {
            Verdict.PASS: ExitCode.PASS,
            Verdict.FAIL: ExitCode.FAIL,
            Verdict.INCONCLUSIVE: ExitCode.INCONCLUSIVE,
        }[self]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One gate check: what was observed against which threshold, its status and why."""

    check: str
    observed: float | None
    threshold: str
    status: Status
    reason: str

    @property
    def is_latency(self) -> bool:
        """Latency checks are the only ones machine noise can make inconclusive."""
        return self.check.startswith("latency_") or self.check.startswith("performance_")

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "observed": self.observed,
            "threshold": self.threshold,
            "status": self.status.value,
            "reason": self.reason,
        }


def decide(checks: tuple[CheckResult, ...]) -> Verdict:
    """The verdict ladder; an empty check list is inconclusive, never a pass."""
    if any(c.status is Status.FAIL for c in checks):
        return Verdict.FAIL
    if not checks or any(c.status in (Status.INCONCLUSIVE, Status.NODATA) for c in checks):
        return Verdict.INCONCLUSIVE
    return Verdict.PASS


def next_phase(phase: str) -> str | None:
    """The rollout phase after `phase`; None after the last and for a pseudo-phase (run_vs_run)."""
    if phase not in PHASES:
        return None
    i = PHASES.index(phase)
    return PHASES[i + 1] if i + 1 < len(PHASES) else None


@dataclass(frozen=True, slots=True)
class GateResult:
    """The checks of one phase for one run, with the verdict derived from them."""

    run_id: str
    phase: str
    checks: tuple[CheckResult, ...]
    dashboard: str

    @property
    def verdict(self) -> Verdict:
        return decide(self.checks)

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    @property
    def reasons(self) -> list[str]:
        """The reasons of every check that is not a pass, most severe first."""
        order = [Status.FAIL, Status.NODATA, Status.INCONCLUSIVE]
        bad = sorted(
            (c for c in self.checks if c.status is not Status.PASS),
            key=lambda c: order.index(c.status),
        )
        return [f"{c.status.value} {c.check}: {c.reason}" for c in bad]

    @property
    def recommendation(self) -> str:
        v = self.verdict
        if v is Verdict.PASS:
            nxt = next_phase(self.phase)
            return f"advance: {self.phase} criteria met" + (f"; next {nxt}" if nxt else "")
        if v is Verdict.FAIL:
            failed = ", ".join(c.check for c in self.checks if c.status is Status.FAIL)
            return f"stop: {self.phase} failed ({failed}); do not advance, investigate"
        open_ = ", ".join(c.check for c in self.checks if c.status is not Status.PASS)
        return f"hold: {self.phase} undecided ({open_}); gather more data"

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "phase": self.phase,
            "verdict": self.verdict.value,
            "recommendation": self.recommendation,
            "dashboard_recommendation": self.dashboard,
            "checks": [c.to_dict() for c in self.checks],
        }


def _gate_text(name: str) -> str:
    try:
        return (
            resources.files("harness.gates")
            .joinpath("sql", f"{name}.sql")
            .read_text(encoding="utf-8")
        )
    except FileNotFoundError:
        raise GateError(f"gate file harness/gates/sql/{name}.sql is missing") from None


def gate_sql(phase: str) -> str:
    """The SQL of a phase's gate file; unknown phases are a clear error."""
    if phase not in PHASES:
        raise GateError(f"unknown phase {phase!r}; known phases: {', '.join(PHASES)}")
    return _gate_text(phase)


def check_read_only(con: duckdb.DuckDBPyConnection, sql: str, source: str) -> str:
    """Return the gate's single SELECT statement, or raise GateError for anything else."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise GateError(f"{source}: SQL does not parse: {exc}") from None
    if len(statements) != 1:
        raise GateError(
            f"{source}: a gate file must hold exactly one SELECT, found {len(statements)} statements"
        )
    if statements[0].type != duckdb.StatementType.SELECT:
        raise GateError(
            f"{source}: gate SQL must be read-only (SELECT/WITH), found {statements[0].type.name}"
        )
    return statements[0].query


def _rows(con: duckdb.DuckDBPyConnection, sql: str, source: str) -> list[CheckResult]:
    query = check_read_only(con, sql, source)
    try:
        rel = con.execute(query)
        names = [d[0] for d in rel.description or []]
        data = rel.fetchall()
    except duckdb.Error as exc:
        raise GateError(f"{source}: gate SQL failed: {exc}") from None
    if "detail" in names and "reason" not in names:
        names[names.index("detail")] = "reason"
    if names[:5] != list(_COLUMNS):
        raise GateError(
            f"{source}: gate must return columns {', '.join(_COLUMNS)}; got {', '.join(names)}"
        )
    out = []
    for check, observed, threshold, status, reason in (r[:5] for r in data):
        try:
            st = Status(str(status))
        except ValueError:
            raise GateError(f"{source}: check {check!r} has unknown status {status!r}") from None
        obs = (
            None
            if observed is None or (isinstance(observed, float) and math.isnan(observed))
            else float(observed)
        )
        out.append(CheckResult(str(check), obs, str(threshold), st, str(reason)))
    return out


#: Setup views that scan the run's Parquet files. Every phase's gate and `_always.sql` query
#: them, so they are computed once and kept as tables of the same name and rows (the evidence
#: never changes after it is opened): five phases cost one scan, not ten.
MATERIALISED_VIEWS: tuple[str, ...] = ("rollout", "diff_counts", "loss_kinds")


def prepare(evidence: Evidence) -> None:
    """Install the engine's summary views and macros on the evidence connection (idempotent)."""
    con = evidence.con
    if con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'latency'").fetchone()[0]:  # type: ignore[index]
        return
    for statement in con.extract_statements(_gate_text("_setup")):
        con.execute(statement.query)
    views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
    for name in MATERIALISED_VIEWS:
        if name in views:
            con.execute(f"CREATE TABLE _materialised_{name} AS SELECT * FROM {name}")
            con.execute(f"DROP VIEW {name}")
            con.execute(f"ALTER TABLE _materialised_{name} RENAME TO {name}")


def dashboard_ladder(success: float, win: float) -> str:
    """The seed dashboard's recommendation ladder on the harness's own measurements."""
    if success >= 95 and win >= 70:
        return "RECOMMEND: Advance to next rollout phase"
    if success >= 90:
        return "CAUTION: Continue current phase, monitor performance"
    return "STOP: Investigate issues before proceeding"


def evaluate(
    evidence: Evidence,
    phase: str,
    sql: str | None = None,
    always: list[CheckResult] | None = None,
) -> GateResult:
    """Run one phase's gate (its file, or `sql` given explicitly) plus the always-on checks
    (`always`: their rows when already computed for this evidence)."""
    text = gate_sql(phase) if sql is None else sql
    prepare(evidence)
    checks = _rows(evidence.con, text, f"gates/sql/{phase}.sql")
    return _result(evidence, phase, checks + (_always(evidence) if always is None else always))


def _always(evidence: Evidence) -> list[CheckResult]:
    return _rows(evidence.con, _gate_text("_always"), "gates/sql/_always.sql")


def _result(evidence: Evidence, phase: str, checks: list[CheckResult]) -> GateResult:
    fig = evidence.figures
    win = fig.win_rate_percent if not math.isnan(fig.win_rate_percent) else 0.0
    success = fig.success_rate_percent if not math.isnan(fig.success_rate_percent) else 0.0
    return GateResult(evidence.run_id, phase, tuple(checks), dashboard_ladder(success, win))


def evaluate_all(evidence: Evidence, phases: tuple[str, ...] = PHASES) -> list[GateResult]:
    """Every phase's gate; `_always.sql` reads nothing phase-specific, so it runs once for all."""
    prepare(evidence)
    always = _always(evidence)
    return [evaluate(evidence, p, always=always) for p in phases]


def overall(results: list[GateResult]) -> Verdict:
    """Worst verdict across phases (fail > inconclusive > pass)."""
    return decide(tuple(c for r in results for c in r.checks)) if results else Verdict.INCONCLUSIVE


def open_run_evidence(
    run_dir: Path,
    *,
    accept: Path | None = None,
    no_accept: bool = False,
    reports_dir: Path | None = None,
    **view: Unpack[EvidenceView],
) -> Evidence:
    """Open a run with its accepted-differences rules and its recording's A/A noise floor
    (`view`: `open_evidence`'s today, seed and on_views).

    The rules are the copy recorded with the run at replay (harness/diff/rulebook.py) unless `accept`
    names a file or `no_accept` asks for none; `evidence.rules_origin` says which was used.
    """
    manifest = load_manifest(run_dir)
    require_finished(run_dir, manifest)
    choice = rulebook.choose(run_dir, manifest, accept, no_accept)
    reports = reports_dir if reports_dir is not None else run_dir.resolve().parent.parent
    noise = noise_floor_for(manifest, reports)
    evidence = open_evidence(run_dir, rules=choice.rules, noise=noise, **view)
    return replace(evidence, rules_origin=choice)


def gate_inputs(evidence: Evidence, phases: tuple[str, ...]) -> dict[str, Any]:
    """What a verdict was computed from, so no reader takes it for another run's or an older
    gate's: the run (id, status, when it finished, digests of its summary and diff), the gate
    SQL (one digest over the files used) and the rules file's digest."""
    import hashlib

    def digest(path: Path) -> str | None:
        if not path.is_file():
            return None
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        return "sha256:" + h.hexdigest()[:16]

    sql = hashlib.sha256()
    for name in ("_setup", "_always", *phases):
        sql.update(_gate_text(name).encode())
    m, rd = evidence.manifest, evidence.run_dir
    origin = evidence.rules_origin
    return {
        "run_id": m.get("run_id", rd.name),
        "run_status": m.get("status"),
        "run_finished": m.get("finished"),
        "summary": digest(rd / "summary.json"),
        "diff": digest(rd / "diff.parquet"),
        "gates": "sha256:" + sql.hexdigest()[:16],
        "rules": origin.sha256 if origin is not None else None,
        "phases": list(phases),
    }


def gate_run(
    run_dir: Path,
    phases: tuple[str, ...],
    *,
    accept: Path | None = None,
    no_accept: bool = False,
    today: dt.date | None = None,
    reports_dir: Path | None = None,
    seed: int = 0,
) -> tuple[Evidence, list[GateResult]]:
    """Open a run with its accepted-differences rules and noise floor, and gate the phases."""
    for p in phases:
        gate_sql(p)
    evidence = open_run_evidence(
        run_dir,
        accept=accept,
        no_accept=no_accept,
        today=today,
        reports_dir=reports_dir,
        seed=seed,
    )
    return evidence, evaluate_all(evidence, phases)
