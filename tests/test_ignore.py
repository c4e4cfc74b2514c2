"""Accepted differences mark rows with their rule id; ignored is not matched; expired rules stop."""

import datetime as dt
import json

import pytest
from readiness_fixtures import make_run, scoped

from harness.core.errors import ConfigError
from harness.diff.rules import run_key
from harness.diff.rules_file import load_rules
from harness.gates.engine import Status, Verdict, evaluate
from harness.gates.evidence import open_evidence
from harness.gates.verdict import rules_lines

TODAY = dt.date(2026, 11, 25)


def _write(tmp_path, body):
    p = tmp_path / "accepted.toml"
    p.write_text(scoped(body))
    return p


RULE = """
[[rule]]
id = "KD-001"
reason = "multi-channel rounds prices to the cent"
owner = "rollout-team"
expires = {expires}
class = "field_mismatch"
field = ["price"]
{extra}
"""


def test_accepted_rows_stay_in_the_diff_marked_with_their_rule(tmp_path):
    body = RULE.format(expires="2027-01-31", extra='expect = { "synthetic" = 4 }')
    rules = load_rules(_write(tmp_path, body))
    ev = open_evidence(make_run(tmp_path, shifted=4), rules=rules, today=TODAY)
    rows = ev.con.execute("SELECT class, accepted_by FROM diff WHERE class <> 'match'").fetchall()
    assert rows == [("field_mismatch", "KD-001")] * 4
    res = evaluate(ev, "phase_0_installation")
    assert res.verdict is Verdict.PASS
    assert "4 more accepted" in _check(res, "unexplained_differences").reason
    assert "4 more accepted" in _check(res, "field_changes").reason


def test_expired_rule_stops_applying_and_says_so(tmp_path):
    rules = load_rules(_write(tmp_path, RULE.format(expires="2026-11-24", extra="")))
    ev = open_evidence(make_run(tmp_path, shifted=4), rules=rules, today=TODAY)
    assert [r.id for r in rules.expired(TODAY)] == ["KD-001"]
    assert ev.con.execute("SELECT id FROM expired_rules").fetchall() == [("KD-001",)]
    assert evaluate(ev, "phase_0_installation").verdict is Verdict.FAIL


def test_rule_does_not_accept_other_fields_or_classes(tmp_path):
    rules = load_rules(_write(tmp_path, RULE.format(expires="2027-01-31", extra="")))
    ev = open_evidence(make_run(tmp_path, missing=2), rules=rules, today=TODAY)
    res = evaluate(ev, "phase_1_parallel_testing")
    assert next(c.status for c in res.checks if c.check == "missing_events") is Status.FAIL


def test_time_window_matches_eastern_time_of_the_causing_tick(tmp_path):
    # Fixture ticks start 09:30 ET, one per second; the shifted events are the first four
    # event ticks (seq 0, 7, 14, 21 → 09:30:00–09:30:21).
    inside = RULE.format(expires="2027-01-31", extra='between = ["09:30", "09:31"]')
    ev = open_evidence(
        make_run(tmp_path, "a", shifted=4), rules=load_rules(_write(tmp_path, inside)), today=TODAY
    )
    assert ev.con.execute("SELECT count(*) FROM unexplained").fetchone()[0] == 0
    outside = RULE.format(expires="2027-01-31", extra='between = ["10:00", "11:00"]')
    ev = open_evidence(
        make_run(tmp_path, "b", shifted=4), rules=load_rules(_write(tmp_path, outside)), today=TODAY
    )
    assert ev.con.execute("SELECT count(*) FROM unexplained").fetchone()[0] == 4


@pytest.mark.parametrize(
    "body, message",
    [
        (
            '[[rule]]\nid="a"\nreason="r"\nowner="o"\nexpires=2027-01-01\ncolour="red"\n',
            "unknown key",
        ),
        ('[[rule]]\nid="a"\nreason="r"\nexpires=2027-01-01\n', "missing required key.*owner"),
        ('[[rule]]\nid="a"\nreason="r"\nowner="o"\nexpires="soon"\n', "TOML date"),
        (
            '[[rule]]\nid="a"\nreason="r"\nowner="o"\nexpires=2027-01-01\nclass="match"\n',
            "unknown class",
        ),
        ('[[rule]]\nid="a"\nreason="r"\nowner="o"\nexpires=2027-01-01\n' * 2, "duplicate rule id"),
        (
            '[[rule]]\nid="a"\nreason="r"\nowner="o"\nexpires=2027-01-01\nbetween=["9h","10"]\n',
            "HH:MM",
        ),
        ("rule = [", "invalid TOML"),
    ],
    ids=["unknown-key", "no-owner", "bad-date", "match-class", "duplicate", "bad-time", "bad-toml"],
)
def test_bad_rule_files_are_clear_errors(tmp_path, body, message):
    with pytest.raises(ConfigError, match=message):
        load_rules(_write(tmp_path, body))


def test_rule_values_with_quotes_cannot_inject_sql(tmp_path):
    body = RULE.format(expires="2027-01-31", extra="ticker = \"x' OR 1=1 OR '\"")
    ev = open_evidence(
        make_run(tmp_path, shifted=2), rules=load_rules(_write(tmp_path, body)), today=TODAY
    )
    assert ev.con.execute("SELECT count(*) FROM unexplained").fetchone()[0] == 2


def _check(res, name):
    return next(c for c in res.checks if c.check == name)


def test_rule_accepting_exactly_its_declared_count_passes_and_drift_fails(tmp_path):
    for n, (declared, status) in enumerate([(4, Status.PASS), (3, Status.FAIL), (6, Status.FAIL)]):
        body = RULE.format(expires="2027-01-31", extra=f'expect = {{ "synthetic" = {declared} }}')
        ev = open_evidence(
            make_run(tmp_path, f"r{n}", shifted=4),
            rules=load_rules(_write(tmp_path, body)),
            today=TODAY,
        )
        check = _check(evaluate(ev, "phase_0_installation"), "accepted_rows[KD-001]")
        assert (check.status, check.observed) == (status, 4.0), check.reason
        if declared == 3:
            assert "more than known" in check.reason
        if declared == 6:
            assert "fewer than known" in check.reason


def test_relative_tolerance_allows_that_much_drift_only(tmp_path):
    body = RULE.format(
        expires="2027-01-31", extra='expect = { "synthetic" = 5 }\ntolerance = 0.2'
    )  # 4 accepted: |4 - 5| = 1 <= 0.2 * 5
    ev = open_evidence(
        make_run(tmp_path, shifted=4), rules=load_rules(_write(tmp_path, body)), today=TODAY
    )
    assert (
        _check(evaluate(ev, "phase_0_installation"), "accepted_rows[KD-001]").status is Status.PASS
    )
    body = body.replace("0.2", "0.1")
    ev = open_evidence(
        make_run(tmp_path, "b", shifted=4), rules=load_rules(_write(tmp_path, body)), today=TODAY
    )
    assert (
        _check(evaluate(ev, "phase_0_installation"), "accepted_rows[KD-001]").status is Status.FAIL
    )


def test_expired_rule_with_a_declared_count_fails_and_names_the_expiry(tmp_path):
    body = RULE.format(expires="2026-11-24", extra='expect = { "synthetic" = 4 }')
    ev = open_evidence(
        make_run(tmp_path, shifted=4), rules=load_rules(_write(tmp_path, body)), today=TODAY
    )
    res = evaluate(ev, "phase_0_installation")
    check = _check(res, "accepted_rows[KD-001]")
    assert check.status is Status.FAIL and check.observed == 0.0
    assert "expired on 2026-11-24" in check.reason and "unexplained now" in check.reason
    unexplained = _check(res, "unexplained_differences")
    assert unexplained.status is Status.FAIL and unexplained.observed == 4.0
    assert "expired rules no longer apply: KD-001" in unexplained.reason


def test_rows_accepted_by_a_rule_without_a_declared_count_fail_once_the_run_is_declared(tmp_path):
    declared = RULE.format(expires="2027-01-31", extra='expect = { "synthetic" = 0 }')
    broad = (
        '\n[[rule]]\nid = "KD-broad"\nreason = "r"\nowner = "o"\nexpires = 2027-01-31\n'
        'class = "missing"\n'
    )
    ev = open_evidence(
        make_run(tmp_path, shifted=0, missing=3),
        rules=load_rules(_write(tmp_path, declared + broad)),
        today=TODAY,
    )
    res = evaluate(ev, "phase_1_parallel_testing")
    check = _check(res, "accepted_rows_undeclared")
    assert check.status is Status.FAIL and check.observed == 3.0
    assert "KD-broad 3" in check.reason
    assert _check(res, "missing_events").status is Status.PASS  # accepted, yet not declared
    assert res.verdict is Verdict.FAIL


def test_rows_accepted_without_any_declared_count_can_never_pass(tmp_path):
    # no `expect` at all for this run's key: the rule accepts 4 rows nobody counted
    rules = load_rules(_write(tmp_path, RULE.format(expires="2027-01-31", extra="")))
    ev = open_evidence(make_run(tmp_path, shifted=4), rules=rules, today=TODAY)
    res = evaluate(ev, "phase_0_installation")
    check = _check(res, "accepted_rows_undeclared")
    assert check.status is Status.FAIL and check.observed == 4.0
    assert "KD-001 4" in check.reason and "synthetic" in check.reason
    assert not [c for c in res.checks if c.check.startswith("accepted_rows[")]
    assert res.verdict is Verdict.FAIL


@pytest.mark.parametrize(
    "period, unexplained", [("OPENING", 0), ("MIDDAY", 4), (["PREMARKET", "OPENING"], 0)]
)
def test_period_matches_the_tickstock_market_period_of_the_causing_tick(
    tmp_path, period, unexplained
):
    # fixture ticks start at 09:30 ET: the shifted events fall in OPENING (09:30-09:45)
    extra = f"period = {json.dumps(period)}"
    ev = open_evidence(
        make_run(tmp_path, shifted=4),
        rules=load_rules(_write(tmp_path, RULE.format(expires="2027-01-31", extra=extra))),
        today=TODAY,
    )
    assert ev.con.execute("SELECT count(*) FROM unexplained").fetchone()[0] == unexplained


def test_recording_scope_limits_a_rule_to_runs_of_those_recordings(tmp_path):
    for n, (scope, unexplained) in enumerate([("synth*", 0), ("sample-day", 4)]):
        body = RULE.format(expires="2027-01-31", extra=f'recording = "{scope}"')
        ev = open_evidence(
            make_run(tmp_path, f"r{n}", shifted=4),
            rules=load_rules(_write(tmp_path, body)),
            today=TODAY,
        )
        assert ev.con.execute("SELECT count(*) FROM unexplained").fetchone()[0] == unexplained


@pytest.mark.parametrize(
    "filters, config, key",
    [
        ({"limit": None, "tickers": None}, {"phase": "phase_1_parallel_testing"},
         "rec/phase_1_parallel_testing"),
        ({"max_ticks": 3000}, {}, "rec[:3000]"),
        ({"limit": 20000}, {"phase": "phase_2_limited_rollout"}, "rec[:20000]/phase_2_limited_rollout"),
        ({"tickers": ["AAPL"]}, {}, None),
        ({"limit": 5, "from": "10:00"}, {}, None),
    ],
)  # fmt: skip
def test_run_key_names_the_recording_prefix_and_candidate_phase(filters, config, key):
    manifest = {"recording": {"name": "rec"}, "filters": filters, "candidate": {"config": config}}
    assert run_key(manifest) == key


@pytest.mark.parametrize(
    "extra, message",
    [
        ('period = "LUNCH"', "unknown period"),
        ('expect = { "rec" = -1 }', "row count"),
        ("expect = 5", "table of run key"),
        ("tolerance = 1.5", "tolerance"),
    ],
)
def test_bad_period_expect_or_tolerance_is_a_clear_error(tmp_path, extra, message):
    with pytest.raises(ConfigError, match=message):
        load_rules(_write(tmp_path, RULE.format(expires="2027-01-31", extra=extra)))


LATENCY = """
[[latency]]
id = "KL-1"
reason = "candidate known to be slower"
owner = "rollout-team"
expires = {expires}
max_ratio = 1.5
{extra}
"""


@pytest.mark.parametrize("slow, status", [(1.2, Status.PASS), (2.0, Status.FAIL)])
def test_known_latency_finding_is_checked_against_its_ceiling_beside_the_phase_bar(
    tmp_path, slow, status
):
    rules = load_rules(_write(tmp_path, LATENCY.format(expires="2027-01-31", extra="")))
    ev = open_evidence(make_run(tmp_path, slow=slow), rules=rules, today=TODAY)
    res = evaluate(ev, "phase_1_parallel_testing")
    assert _check(res, "latency_ratio_ci_upper").status is Status.FAIL  # the rollout bar stands
    assert _check(res, "latency_known_finding[KL-1]").status is status
    assert res.verdict is Verdict.FAIL


def test_expired_or_out_of_scope_latency_findings_do_not_excuse_anything(tmp_path):
    rules = load_rules(_write(tmp_path, LATENCY.format(expires="2026-11-24", extra="")))
    ev = open_evidence(make_run(tmp_path, "a", slow=1.2), rules=rules, today=TODAY)
    check = _check(evaluate(ev, "phase_1_parallel_testing"), "latency_known_finding[KL-1]")
    assert check.status is Status.FAIL and "expired on 2026-11-24" in check.reason
    scoped = LATENCY.format(expires="2027-01-31", extra='recording = "sample-day"')
    ev = open_evidence(
        make_run(tmp_path, "b", slow=1.2), rules=load_rules(_write(tmp_path, scoped)), today=TODAY
    )
    names = [c.check for c in evaluate(ev, "phase_1_parallel_testing").checks]
    assert "latency_known_finding[KL-1]" not in names


def test_latency_finding_needs_a_ratio_of_at_least_one(tmp_path):
    body = LATENCY.format(expires="2027-01-31", extra="").replace("1.5", "0.9")
    with pytest.raises(ConfigError, match="max_ratio"):
        load_rules(_write(tmp_path, body))


def _rewrite_manifest(run, **changes):
    path = run / "manifest.json"
    manifest = json.loads(path.read_text())
    for dotted, value in changes.items():
        node = manifest
        *parents, leaf = dotted.split("__")
        for part in parents:
            node = node[part]
        node[leaf] = value
    path.write_text(json.dumps(manifest))
    return run


@pytest.mark.parametrize(
    "changes, why",
    [
        (
            {"candidate__factory": "my.wrapper:around_fake"},
            "candidate factory 'my.wrapper:around_fake'",
        ),
        ({"candidate__config": {"drop_rate": 0.02}}, "candidate config sha256:"),
        ({"primary__config": {"seed": 9}}, "primary config sha256:"),
        ({"inject": {"error_rate": 0.01}}, "candidate config sha256:"),
        ({"recording__name": "other-day"}, "recording 'other-day' is not one of"),
        ({"recording__sha256": "cd" * 32}, "has content cdcdcdcdcdcd"),
    ],
)
def test_a_rule_never_applies_outside_its_scope(tmp_path, changes, why):
    body = RULE.format(expires="2027-01-31", extra='expect = { "synthetic" = 4 }')
    rules = load_rules(_write(tmp_path, body))
    inside = open_evidence(make_run(tmp_path, "a", shifted=4), rules=rules, today=TODAY)
    assert [d.applies for d in inside.rules.decisions] == [True]
    run = _rewrite_manifest(make_run(tmp_path, "b", shifted=4), **changes)
    ev = open_evidence(run, rules=rules, today=TODAY)
    (decision,) = ev.rules.decisions
    assert not decision.applies and why in decision.why, decision.why
    res = evaluate(ev, "phase_1_parallel_testing")
    assert _check(res, "field_changes").status is Status.FAIL  # the 4 rows count again
    assert _check(res, "unexplained_differences").observed == 4.0
    assert res.verdict is Verdict.FAIL


@pytest.mark.parametrize(
    "body, message",
    [
        (
            '[[rule]]\nid="a"\nreason="r"\nowner="o"\nexpires=2027-01-01\n',
            "missing required key 'scope'",
        ),
        (
            '[[rule]]\nid="a"\nreason="r"\nowner="o"\nexpires=2027-01-01\nscope="nope"\n',
            "names scope 'nope'",
        ),
        (
            '[[scope]]\nid="s"\nprimary="a:*"\nprimary_config="sha256:0"\ncandidate="b:c"\n'
            'candidate_config="sha256:0"\nrecording={x="y"}\n',
            "no globs",
        ),
        (
            '[[scope]]\nid="s"\nprimary="a:b"\nprimary_config="abc"\ncandidate="b:c"\n'
            'candidate_config="sha256:0"\nrecording={x="y"}\n',
            "config digests",
        ),
        (
            '[[scope]]\nid="s"\nprimary="a:b"\nprimary_config="sha256:0"\ncandidate="b:c"\n'
            'candidate_config="sha256:0"\nrecording={x="y"}\n'
            'primary_events={"x/phase_1_parallel_testing"="sha256:0123456789abcdef"}\n',
            "key them by recording",
        ),
        (
            '[[scope]]\nid="s"\nprimary="a:b"\nprimary_config="sha256:0"\ncandidate="b:c"\n'
            'candidate_config="sha256:0"\nrecording={x="y"}\nprimary_events={x="sha256:12"}\n',
            "16 hex digits",
        ),
    ],
)
def test_scopes_are_required_exact_and_checked(tmp_path, body, message):
    p = tmp_path / "bad.toml"
    p.write_text(body)
    with pytest.raises(ConfigError, match=message):
        load_rules(p)


def _digest_of_accepted_rows(ev, rule_id):
    """The documented digest, computed here from the diff rows in Python (the gate's is SQL)."""
    import hashlib

    texts = []
    rows = ev.con.execute(
        "SELECT ticker, type, direction, tick_seq, class, primary_index, candidate_index, fields "
        "FROM diff WHERE class <> 'match' AND accepted_by = ?",
        [rule_id],
    ).fetchall()
    for *key, fields in rows:
        cells = ["∅" if v is None else str(v) for v in key]
        cells.append(
            ";".join(
                f"{f['path']}={'∅' if f['primary'] is None else f['primary']}"
                f"→{'∅' if f['candidate'] is None else f['candidate']}"
                for f in fields or []
            )
        )
        texts.append("|".join(cells))
    blob = "\n".join(sorted(texts)).encode()
    return "sha256:" + hashlib.sha256(blob).hexdigest()[:16]


def test_a_defect_inside_accepted_rows_keeps_the_count_but_fails_the_digest(tmp_path):
    """The known residual of counts: one accepted row's candidate value changes, the rule still
    accepts 4 rows. The declared digest of their contents catches it; unchanged, it passes."""
    import pyarrow.parquet as pq

    run = make_run(tmp_path, shifted=4)
    body = RULE.format(expires="2027-01-31", extra='expect = { "synthetic" = 4 }')
    ev = open_evidence(run, rules=load_rules(_write(tmp_path, body)), today=TODAY)
    declared = _digest_of_accepted_rows(ev, "KD-001")
    ev.close()
    body = RULE.format(
        expires="2027-01-31",
        extra=f'expect = {{ "synthetic" = 4 }}\nexpect_digest = {{ "synthetic" = "{declared}" }}',
    )
    rules = load_rules(_write(tmp_path, body))
    ev = open_evidence(run, rules=rules, today=TODAY)
    res = evaluate(ev, "phase_0_installation")
    check = _check(res, "accepted_rows_digest[KD-001]")
    assert check.status is Status.PASS and check.observed == 4.0, check.reason
    assert res.verdict is Verdict.PASS
    doc = next(r for r in ev.rules_document()["rules"] if r["id"] == "KD-001")
    assert doc["accepted_digest"] == doc["expected_digest"] == declared
    assert f"their digest {declared} (as declared)" in "\n".join(rules_lines(ev.rules_document()))
    ev.close()

    diff = pq.read_table(run / "diff.parquet").to_pylist()
    row = next(r for r in diff if r["class"] == "field_mismatch")
    row["fields"][0]["candidate"] = row["fields"][0]["candidate"] + "1"  # another wrong value
    pq.write_table(
        pq.read_table(run / "diff.parquet").from_pylist(
            diff, schema=pq.read_schema(run / "diff.parquet")
        ),
        run / "diff.parquet",
    )
    ev = open_evidence(run, rules=rules, today=TODAY)
    res = evaluate(ev, "phase_0_installation")
    assert _check(res, "accepted_rows[KD-001]").status is Status.PASS  # the count cannot see it
    check = _check(res, "accepted_rows_digest[KD-001]")
    assert check.status is Status.FAIL and "what they hold changed" in check.reason
    now = _digest_of_accepted_rows(ev, "KD-001")
    assert now in check.reason  # the digest to update with, also in the gate's rule lines:
    assert f"their digest {now} (declared {declared})" in "\n".join(
        rules_lines(ev.rules_document())
    )
    from harness.report.build import build_report

    files = build_report(run, accept=_write(tmp_path, body), today=TODAY)
    assert f"{now} (declared {declared})" in files.html.read_text()  # the rules table says so
    assert f"{now} (declared {declared})" in files.markdown.read_text()
    assert res.verdict is Verdict.FAIL
    ev.close()


@pytest.mark.parametrize(
    "extra, message",
    [
        ('expect_digest = { "synthetic" = "sha256:0123456789abcdef" }', "no expect count"),
        (
            'expect = { "synthetic" = 4 }\ntolerance = 0.1\n'
            'expect_digest = { "synthetic" = "sha256:0123456789abcdef" }',
            "tolerance",
        ),
        ('expect = { "synthetic" = 4 }\nexpect_digest = { "synthetic" = "abc" }', "16 hex"),
    ],
    ids=["digest-without-count", "digest-with-tolerance", "malformed"],
)
def test_bad_expect_digests_are_clear_errors(tmp_path, extra, message):
    with pytest.raises(ConfigError, match=message):
        load_rules(_write(tmp_path, RULE.format(expires="2027-01-31", extra=extra)))


def test_the_primary_events_digest_is_the_documented_one_and_printed_for_declaring(tmp_path):
    """sha256 over the sorted md5 hex digests of `<emit_seq>|<event_json>` of every primary event
    (harness/diff/sql/classify.sql), computed here in Python; undeclared, the gate has no check but
    says what to declare."""
    import hashlib

    import pyarrow.parquet as pq

    run = make_run(tmp_path)
    ev = open_evidence(run, today=TODAY)
    ref = ev.rules_document()["primary_events"]
    files = (
        [run / "events_primary.parquet"]
        if (run / "events_primary.parquet").is_file()
        else (sorted((run / "events_primary").glob("*.parquet")))
    )
    rows = [
        r for f in files for r in pq.read_table(f, columns=["emit_seq", "event_json"]).to_pylist()
    ]
    lines = sorted(
        hashlib.md5(f"{r['emit_seq']}|{r['event_json']}".encode()).hexdigest() for r in rows
    )
    expected = "sha256:" + hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]
    assert len(rows) > 0 and ref["events"] == len(rows)
    assert ref["digest"] == expected and ref["declared"] is None
    res = evaluate(ev, "phase_0_installation")
    assert all(c.check != "primary_events_reference" for c in res.checks)
    assert f"digest {expected}; no reference declared for" in "\n".join(
        rules_lines(ev.rules_document())
    )
    ev.close()
