"""Accepted differences: TOML rules that mark known diff rows with the id of the rule accepting them.

Ignored is not matched: an accepted row stays in the diff with `accepted_by = <rule id>`; gates
count only rows no active rule accepts. Every rule carries id, reason, owner and an expiry date;
an expired rule stops applying (and is listed as expired, so the report says why rows came back).

    [[scope]]                         # the runs the rules were written for (all required)
    id = "legacy-vs-multichannel"
    primary = "tickstock.stacks:legacy"             # exact factories: a wrapper is another one
    primary_config = "sha256:46b68ac1696c3870"      # config digest (harness/core/identity.py);
    candidate = "tickstock.stacks:multichannel"     # `harness gate RUN` prints a run's
    candidate_config = "sha256:46b68ac1696c3870"
    recording = { "sample-day" = "<recording content sha256>" }
    phase = ["phase_1_parallel_testing"]            # optional
    primary_events = { "sample-day" = "sha256:0123456789abcdef" }   # optional: what the primary
                                      # emits for a recording key (`<recording>[[:N]]`)

    [[rule]]
    id = "KD-001"
    reason = "multi-channel trend detector uses a 180 s window"   # docs/known-divergences.md
    owner = "tickstock-rollout"
    expires = 2027-03-31
    scope = "legacy-vs-multichannel"  # required: outside its scope a rule never applies
    type = "trend"                    # optional matchers; lists and globs (*, ?) allowed
    ticker = ["AAPL", "BRK.*"]
    class = ["field_mismatch"]
    field = ["price", "*_vwap"]       # every differing field of the row must match one
    between = ["09:30", "09:45"]      # US/Eastern time of day of the causing tick
    period = ["PREMARKET", "AFTERHOURS"]  # TickStock market period of the causing tick (ET)
    recording = ["sample-day"]        # narrows the scope to these recordings (globs)
    expect = { "sample-day/phase_1_parallel_testing" = 1234 }   # rows it accepts per run key
    expect_digest = { "sample-day/phase_1_parallel_testing" = "sha256:0123456789abcdef" }
                                      # and what those rows hold (optional; needs the count)
    tolerance = 0.0                   # allowed relative drift of those counts (default exact)

The expected counts make "exactly the known ones" enforceable: the gates report a FAIL check when
a rule accepts more or fewer rows than it declares for the run's key (`run_key`: the recording
name, `[:N]` for a run of its first N ticks, `/<candidate phase>` when the candidate has one), so
new divergences hidden under a broad rule are caught, and an expired rule's count drops to 0.
A count does not see a defect confined to rows the rule already accepts (one more differing field,
another value): `expect_digest` pins their contents too (`accepted_rows_digest[<id>]`, the digest
of every accepted row's key, class, emit indices and differing fields with both values).
`primary_events` pins the reference itself: in one process the candidate can change the primary
through state they share (a module-level table or function it modifies), and then both emit the
same wrong events and no diff shows it; the gates FAIL `primary_events_reference` when the
primary's events in a run differ from the digest its scope declares for the recording key.

    [[latency]]                       # a known latency gap (same accountability keys)
    id = "KL-1"
    reason = "the channel path is slower"
    owner = "tickstock-rollout"
    expires = 2027-03-31
    phase = "phase_1_parallel_testing"   # scope: candidate phase / recording (optional)
    max_ratio = 2.5                   # CI judges regressions against this, not the phase bar
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from harness.core.identity import RunIdentity
from harness.core.model import PERIODS, pick

DIFF_CLASSES = ("field_mismatch", "missing", "extra", "order")


def _recording_matches(patterns: tuple[str, ...], recording: str | None) -> bool:
    """No patterns admit every recording; otherwise the name must match one glob."""
    return not patterns or (
        recording is not None and any(fnmatchcase(recording, p) for p in patterns)
    )


@dataclass(frozen=True, slots=True)
class Scope:
    """The runs a set of rules was written for (`[[scope]]`): both stacks exactly (factory and
    config digest, harness/core/identity.py), the recordings by name *and* content digest, and
    optionally the candidate's rollout phases. A run that differs in any of them is outside."""

    id: str
    primary: str
    primary_configs: tuple[str, ...]
    candidate: str
    candidate_configs: tuple[str, ...]
    recordings: tuple[tuple[str, str], ...]
    phases: tuple[str, ...] = ()
    #: recording key (`<recording>[[:N]]`) → digest of the primary's events in a run of it: the
    #: primary is the reference, so what it emits for a recording is known (`primary_events`)
    primary_events: tuple[tuple[str, str], ...] = ()
    reason: str = ""

    def admits(self, run: RunIdentity) -> tuple[bool, str]:
        """(inside, why): the first thing that puts the run outside, or what matched."""
        for side, factory, configs in (
            ("primary", self.primary, self.primary_configs),
            ("candidate", self.candidate, self.candidate_configs),
        ):
            ident = getattr(run, side)
            if ident.factory != factory:
                return False, f"{side} factory {ident.factory!r} is not {factory!r}"
            if ident.config not in configs:
                return False, (
                    f"{side} config {ident.config} is not the scope's "
                    f"{' / '.join(configs)} (another configuration, override or fault injection)"
                )
        known = dict(self.recordings)
        if run.recording not in known:
            return False, f"recording {run.recording!r} is not one of {sorted(known)}"
        if run.recording_sha256 != known[run.recording]:
            short = (run.recording_sha256 or "none")[:12]
            return False, (
                f"recording {run.recording!r} has content {short}…, not the scope's "
                f"{known[run.recording][:12]}…"
            )
        if self.phases and run.candidate.phase not in self.phases:
            return (
                False,
                f"candidate phase {run.candidate.phase!r} is not one of {list(self.phases)}",
            )
        return True, (
            f"{self.primary} {run.primary.config} vs {self.candidate} {run.candidate.config} "
            f"on {run.recording}"
        )


@dataclass(frozen=True, slots=True)
class ScopeDecision:
    """Whether one rule (or latency finding) applies to a run, and why: shown by gate and report."""

    id: str
    scope: str
    applies: bool
    why: str
    kind: str = "rule"  # or "latency" (a known latency finding)

    def as_dict(self) -> dict[str, Any]:
        return pick(self, "id", "kind", "scope", "applies", "why")


@dataclass(frozen=True, slots=True)
class AcceptRule:
    """One accepted-difference rule; empty matcher tuples match everything."""

    id: str
    reason: str
    owner: str
    expires: dt.date
    scope: str = ""
    tickers: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    between: tuple[str, str] | None = None
    periods: tuple[str, ...] = ()
    recordings: tuple[str, ...] = ()
    #: (run key, rows this rule is expected to accept in a run with that key)
    expect: tuple[tuple[str, int], ...] = ()
    #: (run key, digest of the contents of the rows this rule accepts in a run with that key)
    expect_digest: tuple[tuple[str, str], ...] = ()
    tolerance: float = 0.0

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    @property
    def needs_time(self) -> bool:
        return self.between is not None or bool(self.periods)

    def in_scope(self, recording: str | None) -> bool:
        """Whether the rule's own `recording` globs admit this recording (none: every one)."""
        return _recording_matches(self.recordings, recording)

    def expected(self, key: str | None) -> int | None:
        return next((n for k, n in self.expect if k == key), None)

    def expected_digest(self, key: str | None) -> str | None:
        return next((d for k, d in self.expect_digest if k == key), None)


@dataclass(frozen=True, slots=True)
class LatencyFinding:
    """A known latency gap (`[[latency]]`): CI judges runs it covers against `max_ratio` (the
    candidate/primary ratio of medians measured when accepted, plus headroom) instead of the phase's
    rollout bar; the phase verdict itself is unchanged. Expired findings stop applying."""

    id: str
    reason: str
    owner: str
    expires: dt.date
    max_ratio: float
    scope: str = ""
    recordings: tuple[str, ...] = ()
    phases: tuple[str, ...] = ()

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    def in_scope(self, recording: str | None) -> bool:
        return _recording_matches(self.recordings, recording)

    def covers(self, recording: str | None, phase: str | None) -> bool:
        return self.in_scope(recording) and (not self.phases or phase in self.phases)


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The parsed rules of one file, in file order (the first matching rule wins).

    `for_run` narrows it to the rules whose scope admits a run; `decisions` then says, for every
    rule and latency finding of the file, whether it applies to that run and why."""

    rules: tuple[AcceptRule, ...]
    source: str = ""
    latency: tuple[LatencyFinding, ...] = ()
    scopes: tuple[Scope, ...] = ()
    sha256: str | None = None
    decisions: tuple[ScopeDecision, ...] = ()

    def active(self, today: dt.date) -> tuple[AcceptRule, ...]:
        return tuple(r for r in self.rules if not r.expired(today))

    def expired(self, today: dt.date) -> tuple[AcceptRule, ...]:
        return tuple(r for r in self.rules if r.expired(today))

    def needs_time(self, today: dt.date) -> bool:
        return any(r.needs_time for r in self.active(today))

    def for_run(self, run: RunIdentity) -> RuleSet:
        """The rules and latency findings whose scope admits this run (the others never apply),
        with a decision for every entry of the file saying why it does or does not apply."""
        by_id = {s.id: s for s in self.scopes}
        decisions: list[ScopeDecision] = []

        def admitted(entry: AcceptRule | LatencyFinding) -> bool:
            scope = by_id.get(entry.scope)
            if scope is None:
                ok, why = False, "no scope: a rule applies only to the runs it names"
            else:
                ok, why = scope.admits(run)
            if ok and entry.recordings and not entry.in_scope(run.recording):
                ok, why = False, f"rule limited to recordings {list(entry.recordings)}"
            kind = "latency" if isinstance(entry, LatencyFinding) else "rule"
            decisions.append(ScopeDecision(entry.id, entry.scope, ok, why, kind))
            return ok

        rules = tuple(r for r in self.rules if admitted(r))
        latency = tuple(f for f in self.latency if admitted(f))
        return RuleSet(rules, self.source, latency, self.scopes, self.sha256, tuple(decisions))

    def primary_reference(self, run: RunIdentity, key: str | None) -> tuple[str, str] | None:
        """(scope id, digest) of the first scope admitting the run that declares the digest of
        the primary's events for recording key `key`; None when none does."""
        if key is None:
            return None
        for scope in self.scopes:
            declared = dict(scope.primary_events).get(key)
            if declared is not None and scope.admits(run)[0]:
                return scope.id, declared
        return None

    def latency_for(self, recording: str | None, phase: str | None) -> list[LatencyFinding]:
        return [f for f in self.latency if f.covers(recording, phase)]

    def expectations(
        self, key: str | None, today: dt.date
    ) -> list[tuple[str, int, float, dt.date, bool, str | None]]:
        """(rule id, expected rows, tolerance, expires, expired, expected digest or None) of rules
        declaring a count for key."""
        out = []
        for r in self.rules:
            n = r.expected(key)
            if n is not None:
                out.append(
                    (r.id, n, r.tolerance, r.expires, r.expired(today), r.expected_digest(key))
                )
        return out

    def sql_case(
        self,
        today: dt.date,
        time_column: str = "tick_time",
        tod_column: str | None = None,
        field_paths: Mapping[tuple[str, ...], tuple[str, ...]] | None = None,
    ) -> str:
        """A DuckDB expression giving the id of the first active rule matching a diff row, or NULL.

        Expects columns ticker, type, class, fields (list<struct<path,…>>) and, when a rule has
        `between` or `period`, a TIMESTAMPTZ column named `time_column` — or, given `tod_column`,
        a column holding `time_of_day_sql(time_column)` computed once per row (the CASE would
        otherwise convert the time zone once per window bound it tests).
        `field_paths` maps a rule's `field` globs to the field paths of the diff (every non-null
        one, or more) that match them in DuckDB: the per-field test is then an IN list, which
        gives the same true/false/NULL per field as the globs at a fraction of the cost.
        """
        tod = tod_column or time_of_day_sql(time_column)
        paths = field_paths or {}
        arms = [
            f"WHEN {_rule_predicate(r, tod, paths.get(r.fields))} THEN {_lit(r.id)}"
            for r in self.active(today)
        ]
        if not arms:
            return "CAST(NULL AS VARCHAR)"
        return "CASE " + " ".join(arms) + " ELSE CAST(NULL AS VARCHAR) END"


def run_key(manifest: Mapping[str, Any], with_phase: bool = True) -> str | None:
    """The key a run's expected counts are declared under: `<recording>[[:N]][/<phase>]`
    (without the phase, `with_phase=False`: the recording key `primary_events` are declared under).

    `[:N]` marks a run of only the first N ticks (filter `limit` or `max_ticks`); a run with any
    other filter (tickers, time range) has no key, so no declared count applies to it.
    """
    name = recording_name(manifest)
    if name is None:
        return None
    filters = manifest.get("filters")
    set_ = {k: v for k, v in (filters if isinstance(filters, Mapping) else {}).items() if v}
    key = name
    if set_:
        prefix = {k: v for k, v in set_.items() if k in ("limit", "max_ticks")}
        if len(prefix) != len(set_) or len({int(v) for v in prefix.values()}) != 1:
            return None
        key += f"[:{int(next(iter(prefix.values())))}]"
    phase = candidate_phase(manifest) if with_phase else None
    return key + (f"/{phase}" if phase else "")


def candidate_phase(manifest: Mapping[str, Any]) -> str | None:
    cand = manifest.get("candidate")
    cfg = cand.get("config") if isinstance(cand, Mapping) else None
    phase = cfg.get("phase") if isinstance(cfg, Mapping) else None
    return str(phase) if phase else None


def recording_name(manifest: Mapping[str, Any]) -> str | None:
    rec = manifest.get("recording")
    name = rec.get("name") if isinstance(rec, Mapping) else None
    return str(name) if name else None


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _glob_any(column: str, patterns: tuple[str, ...]) -> str:
    return "(" + " OR ".join(f"{column} GLOB {_lit(p)}" for p in patterns) + ")"


def time_of_day_sql(time_column: str) -> str:
    """HH:MM (US/Eastern) of a TIMESTAMPTZ expression: what `between` and `period` compare."""
    return f"strftime(timezone('America/New_York', {time_column}), '%H:%M')"


def glob_any_sql(column: str, patterns: tuple[str, ...]) -> str:
    """`column` matches one of the globs (DuckDB GLOB: *, ?, [...]; case-sensitive)."""
    return _glob_any(column, patterns)


def _rule_predicate(rule: AcceptRule, tod: str, paths: tuple[str, ...] | None = None) -> str:
    parts = ["class <> 'match'"]
    if rule.tickers:
        parts.append(_glob_any("ticker", rule.tickers))
    if rule.types:
        parts.append(_glob_any("type", rule.types))
    if rule.classes:
        parts.append("class IN (" + ", ".join(_lit(c) for c in rule.classes) + ")")
    if rule.fields:
        # every differing field must match one glob; a list lambda, not a correlated unnest
        # subquery, which DuckDB evaluated row by row (12 s CPU on a 10M-tick run's diff)
        if paths is None:
            any_field = _glob_any("f.path", rule.fields)
        elif paths:
            any_field = "f.path IN (" + ", ".join(_lit(x) for x in paths) + ")"
        else:  # no path of this diff matches: false per field (NULL for a NULL path, as GLOB)
            any_field = "f.path <> f.path"
        parts.append(
            "coalesce(len(fields), 0) > 0 AND "
            f"list_bool_and(list_transform(fields, lambda f: {any_field}))"
        )
    if rule.between:
        start, end = rule.between
        parts.append(f"{tod} >= {_lit(start)} AND {tod} < {_lit(end)}")
    if rule.periods:
        windows = [PERIODS[p] for p in rule.periods if p in PERIODS]
        if "CLOSED" in rule.periods:
            windows += [("00:00", "04:00"), ("20:00", "24:00")]
        parts.append(
            "("
            + " OR ".join(f"({tod} >= {_lit(a)} AND {tod} < {_lit(b)})" for a, b in windows)
            + ")"
        )
    return "(" + " AND ".join(parts) + ")"


EMPTY = RuleSet(())
