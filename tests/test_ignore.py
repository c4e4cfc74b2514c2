"""Accepted differences mark rows with their rule id; ignored is not matched; expired rules stop."""

import datetime as dt

import pytest
from readiness_fixtures import make_run

from harness.errors import ConfigError
from harness.evidence import open_evidence
from harness.gate import Status, Verdict, evaluate
from harness.ignore import load_rules

TODAY = dt.date(2026, 11, 25)


def _write(tmp_path, body):
    p = tmp_path / "accepted.toml"
    p.write_text(body)
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
    rules = load_rules(_write(tmp_path, RULE.format(expires="2027-01-31", extra="")))
    ev = open_evidence(make_run(tmp_path, shifted=4), rules=rules, today=TODAY)
    rows = ev.con.execute("SELECT class, accepted_by FROM diff WHERE class <> 'match'").fetchall()
    assert rows == [("field_mismatch", "KD-001")] * 4
    res = evaluate(ev, "phase_0_installation")
    assert res.verdict is Verdict.PASS
    assert "4 accepted" in next(
        c.reason for c in res.checks if c.check == "unexplained_differences"
    )


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
