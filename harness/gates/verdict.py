"""Gate results as CI artefacts: verdict.json (webhook body), JUnit XML and a plain-text table.

verdict.json answers an Argo Rollouts web metric (`successCondition: result.verdict == "pass"`) or
a Flagger webhook directly; JUnit has one testcase per check so CI shows each reason.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.files import atomic_write_text
from harness.gates.engine import GateResult, Status, overall


def verdict_document(
    results: list[GateResult], extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One JSON document: overall verdict, and for a single phase its fields at top level too."""
    if not results:
        raise ValueError("no gate results")
    doc: dict[str, Any] = {
        "run": results[0].run_id,
        "verdict": overall(results).value,
        "exit_code": overall(results).exit_code,
        "phases": {r.phase: r.to_dict() for r in results},
    }
    if len(results) == 1:
        doc.update(results[0].to_dict())
        doc["exit_code"] = results[0].exit_code
    if extra:
        doc.update(extra)
    return doc


def write_verdict(
    path: Path, results: list[GateResult], extra: dict[str, Any] | None = None
) -> Path:
    atomic_write_text(
        path,
        json.dumps(verdict_document(results, extra), indent=2, sort_keys=True, default=str) + "\n",
    )
    return path


def rules_lines(doc: dict[str, Any] | None) -> list[str]:
    """Human lines on the rules a gate used: the file, and per rule its scope decision and rows."""
    if not doc:
        return []
    f = doc.get("file") or {}
    lines = [
        f"accepted differences: {f['path']} (sha256 {f.get('sha256')}; {f.get('how')})"
        if f.get("path")
        else f"accepted differences: none ({f.get('how', 'none given')})"
    ]
    ident = doc.get("identity") or {}
    cand, prim = ident.get("candidate") or {}, ident.get("primary") or {}
    lines.append(
        f"run: {prim.get('factory')} {prim.get('config')} vs {cand.get('factory')} "
        f"{cand.get('config')} (phase {cand.get('phase')}) on {ident.get('recording')}; "
        f"run key {doc.get('run_key')}"
    )
    outside: dict[str, list[str]] = {}
    for r in doc.get("rules", []):
        if not r["applies"]:
            outside.setdefault(f"[{r['scope']}] {r['why']}", []).append(r["id"])
            continue
        if r.get("kind") == "latency":
            lines.append(
                f"  {r['id']} [{r['scope']}] applies: known latency finding (checked as latency_known_finding and latency_known_finding_mean)"
            )
            continue
        declared = r.get("expected_rows")
        digest, pinned = r.get("accepted_digest"), r.get("expected_digest")  # expect_digest
        pinned = "as declared" if pinned == digest else f"declared {pinned or 'none'}"
        lines.append(
            f"  {r['id']} [{r['scope']}] applies: accepted {r['accepted_rows']} diff rows, "
            f"declared {declared if declared is not None else 'none'} for this key"
            + (f"; their digest {digest} ({pinned})" if digest else "")
        )
    for why, ids in outside.items():
        lines.append(f"  {len(ids)} rule(s) do not apply {why}: {', '.join(ids)}")
    lines.append(f"unexplained diff rows: {doc.get('unexplained_rows')}")
    ref = doc.get("primary_events")
    if ref:
        lines.append(primary_events_line(ref))
    return lines


def primary_events_line(ref: dict[str, Any]) -> str:
    """The primary's events against its declared reference (what `primary_events` would say)."""
    head = f"primary's events: {ref['events']}, digest {ref['digest']}"
    if ref.get("declared") is None:
        key = ref.get("recording_key")
        return head + (
            f"; no reference declared for {key} (a scope's primary_events pins it)"
            if key
            else "; a filtered run has no recording key, so no reference applies"
        )
    same = ref["declared"] == ref["digest"]
    return head + (
        f"; {'as' if same else 'NOT as'} scope {ref['scope']} declares for "
        f"{ref['recording_key']}" + ("" if same else f" ({ref['declared']})")
    )


def junit_xml(
    results: list[GateResult],
    rules: dict[str, Any] | None = None,
    failures: dict[str, dict[str, Any]] | None = None,
) -> str:
    """JUnit XML: a testsuite per phase, a testcase per check (FAIL → failure, else skipped);
    each suite's properties and system-out say which rules file was used and what it forgave,
    and its system-err how the stacks failed (exceptions, timeouts, the first failed tick)."""
    from harness.diff.summary import failure_lines

    failed = failure_lines(failures)
    suites = ET.Element("testsuites", name="harness gate")
    for r in results:
        failing = sum(c.status is Status.FAIL for c in r.checks)
        skipped = sum(c.status in (Status.INCONCLUSIVE, Status.NODATA) for c in r.checks)
        suite = ET.SubElement(
            suites, "testsuite", name=f"{r.run_id}.{r.phase}", tests=str(len(r.checks)),
            failures=str(failing), skipped=str(skipped), errors="0",
        )  # fmt: skip
        props = ET.SubElement(suite, "properties")
        if rules:
            f = rules.get("file") or {}
            for name, value in (
                ("accepted_differences", f.get("path") or "none"),
                ("accepted_differences_sha256", f.get("sha256") or ""),
                ("unexplained_rows", str(rules.get("unexplained_rows"))),
            ):
                ET.SubElement(props, "property", name=name, value=value)
        for side, fl in (failures or {}).items():
            for key in ("errors", "timeouts"):
                ET.SubElement(props, "property", name=f"{side}_{key}", value=str(fl.get(key, 0)))
        for c in r.checks:
            case = ET.SubElement(suite, "testcase", classname=r.phase, name=c.check)
            msg = f"observed {c.observed} vs {c.threshold}: {c.reason}"
            if c.status is Status.FAIL:
                ET.SubElement(case, "failure", message=msg, type="FAIL").text = msg
            elif c.status is not Status.PASS:
                ET.SubElement(case, "skipped", message=f"{c.status.value}: {msg}")
            ET.SubElement(case, "system-out").text = f"{c.status.value}: {msg}"
        if rules:
            ET.SubElement(suite, "system-out").text = "\n".join(rules_lines(rules))
        if failed:
            ET.SubElement(suite, "system-err").text = "\n".join(failed)
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )


def write_junit(
    path: Path,
    results: list[GateResult],
    rules: dict[str, Any] | None = None,
    failures: dict[str, dict[str, Any]] | None = None,
) -> Path:
    atomic_write_text(path, junit_xml(results, rules, failures))
    return path


#: Below this a double cannot tell a p-value from 0: say "p < 1e-16", never "p = 0".
P_FLOOR = 1e-16


def readable(v: Any, missing: str = "-") -> str:
    """A number as people read it: 200,000 not 2e+05; 184.02; 0.9987; 1.2e-05 only when tiny."""
    if v is None:
        return missing
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(x):
        return missing
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):,}"
    if abs(x) >= 1000:
        return f"{x:,.2f}".rstrip("0").rstrip(".")
    if abs(x) >= 0.001:
        return f"{x:.4f}".rstrip("0").rstrip(".")
    return f"{x:.2e}"


def p_value(p: Any) -> str:
    """`p = 0.031`, `p = 2.4e-09`, or `p < 1e-16` where a double cannot resolve it."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "p = —"
    return "p < 1e-16" if float(p) < P_FLOOR else f"p = {readable(float(p))}"


def table_rows(result: GateResult) -> list[tuple[str, str, str, str, str]]:
    return [
        (c.check, readable(c.observed), c.threshold, c.status.value, c.reason)
        for c in result.checks
    ]


def text_table(result: GateResult) -> str:
    """A fixed-width table for logs, pytest messages and report.md."""
    rows = [("check", "observed", "threshold", "status", "reason"), *table_rows(result)]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for r in rows:
        lines.append("  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4])
    head = f"{result.run_id}  {result.phase}  verdict: {result.verdict.value.upper()}"
    return "\n".join(
        [head, *lines, f"recommendation: {result.recommendation}", f"dashboard: {result.dashboard}"]
    )


@dataclass(frozen=True)
class Judgement:
    """A gate's whole outcome: per-phase results, the verdict document and the files written."""

    results: list[GateResult]
    document: dict[str, Any]
    verdict_path: Path
    junit_path: Path
    evidence: Any  # the closed Evidence (rules, today) for the text output


def judge_run(
    run_dir: Path,
    phases: tuple[str, ...],
    *,
    accept: Path | None = None,
    no_accept: bool = False,
    today: Any = None,
    junit: Path | None = None,
) -> Judgement:
    """Gate a run for `phases` and write verdict.json and junit.xml: `harness gate` and
    `harness serve` alike. An earlier verdict is removed first: if this gate fails half-way,
    nobody may read the old one as its answer."""
    from harness.gates.engine import gate_run

    junit_target = remove_verdict(run_dir, junit)
    evidence, results = gate_run(run_dir, phases, accept=accept, no_accept=no_accept, today=today)
    try:
        return write_judgement(run_dir, evidence, results, phases, junit_target)
    finally:
        evidence.close()


def remove_verdict(run_dir: Path, junit: Path | None = None) -> Path:
    """Remove a run's earlier verdict.json and JUnit file before it is gated again; the JUnit
    path to write (default RUN/junit.xml)."""
    from harness.core.files import remove

    junit_target = junit or run_dir / "junit.xml"
    remove(run_dir / "verdict.json", junit_target)
    return junit_target


def write_judgement(
    run_dir: Path, evidence: Any, results: list[GateResult], phases: tuple[str, ...], junit: Path
) -> Judgement:
    """verdict.json and the JUnit file of `results` (the gated `phases`), from the open evidence
    they were judged on: `harness gate`, and `harness gate --report` from the report's evidence."""
    from harness.gates.engine import gate_inputs

    rules_doc = evidence.rules_document()
    failed = evidence.failures()
    extra = {
        "accepted_differences": rules_doc,
        "inputs": gate_inputs(evidence, phases),
        "failures": failed,
    }
    verdict_path = write_verdict(run_dir / "verdict.json", results, extra)
    junit_path = write_junit(junit, results, rules_doc, failed)
    return Judgement(results, verdict_document(results, extra), verdict_path, junit_path, evidence)


class VerdictJudge:
    """A `build_report` judge: writes the verdict of `phases` from the report's evidence and keeps
    its Judgement (`harness gate --report`). The earlier verdict is removed at once, before any
    work, as `judge_run` does."""

    def __init__(self, run_dir: Path, phases: tuple[str, ...], junit: Path | None = None) -> None:
        self.run_dir = run_dir
        self.phases = phases
        self.junit = remove_verdict(run_dir, junit)
        self.judgement: Judgement | None = None

    def __call__(self, evidence: Any, results: list[GateResult]) -> None:
        by_phase = {r.phase: r for r in results}
        chosen = [by_phase[p] for p in self.phases]
        self.judgement = write_judgement(self.run_dir, evidence, chosen, self.phases, self.junit)
