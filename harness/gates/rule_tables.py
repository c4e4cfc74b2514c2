"""The accepted-differences rules as tables the gate SQL reads (`rule_scope`, `expired_rules`,
`rule_expectations`, `latency_findings`, `primary_reference`), for one run: its key picks each
rule's declared count and digest, its recording and phase the latency findings that cover it, its
recording key the digest of the primary's events its scope declares."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import duckdb

from harness.core.identity import RunIdentity
from harness.diff.rules import RuleSet, candidate_phase, recording_name, run_key


def create_rule_tables(
    con: duckdb.DuckDBPyConnection,
    manifest: Mapping[str, Any],
    rules: RuleSet,
    today: dt.date,
    identity: RunIdentity,
) -> None:
    """The rules' tables gates read: scope decisions, expired rules, expectations, findings,
    the primary's reference."""
    con.execute("CREATE TABLE rule_scope (id VARCHAR, scope VARCHAR, applies BOOLEAN, why VARCHAR)")
    if rules.decisions:
        con.executemany(
            "INSERT INTO rule_scope VALUES (?, ?, ?, ?)",
            [(d.id, d.scope, d.applies, d.why) for d in rules.decisions],
        )
    con.execute(
        "CREATE TABLE expired_rules (id VARCHAR, reason VARCHAR, owner VARCHAR, expires DATE)"
    )
    for r in rules.expired(today):
        con.execute(
            "INSERT INTO expired_rules VALUES (?, ?, ?, ?)", [r.id, r.reason, r.owner, r.expires]
        )
    con.execute(
        "CREATE TABLE rule_expectations (id VARCHAR, run_key VARCHAR, expected BIGINT, "
        "tolerance DOUBLE, expires DATE, expired BOOLEAN, digest VARCHAR)"
    )
    key = run_key(manifest)
    for rid, n, tol, expires, gone, digest in rules.expectations(key, today):
        con.execute(
            "INSERT INTO rule_expectations VALUES (?, ?, ?, ?, ?, ?, ?)",
            [rid, key, n, tol, expires, gone, digest],
        )
    con.execute(
        "CREATE TABLE latency_findings (id VARCHAR, max_ratio DOUBLE, expires DATE, expired BOOLEAN)"
    )
    for lf in rules.latency_for(recording_name(manifest), candidate_phase(manifest)):
        con.execute(
            "INSERT INTO latency_findings VALUES (?, ?, ?, ?)",
            [lf.id, lf.max_ratio, lf.expires, lf.expired(today)],
        )
    # one row: the run's recording key and, if a scope admitting the run declares it, the digest
    # of the primary's events there (gates/sql/_always.sql: primary_events_reference)
    slice_key = run_key(manifest, with_phase=False)
    ref = rules.primary_reference(identity, slice_key)
    con.execute(
        "CREATE TABLE primary_reference AS SELECT ?::VARCHAR AS recording_key, "
        "?::VARCHAR AS scope, ?::VARCHAR AS digest",
        [slice_key, *(ref or (None, None))],
    )
