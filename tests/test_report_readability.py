"""The report reads like a report: plain numbers, p-values with a floor, per-ticker rankings only
with enough ticks, accepted and unexplained rows counted apart, the first divergence as a table."""

import re

import pytest
from readiness_fixtures import make_run, scoped

from harness.gates.verdict import p_value, readable
from harness.report.build import MIN_TICKER_TICKS, build_report
from harness.report.divergence import divergence_view


@pytest.mark.parametrize(
    "value, text",
    [
        (200000.0, "200,000"),
        (200_000, "200,000"),
        (184.02, "184.02"),
        (0.99871234, "0.9987"),
        (1.0015686, "1.0016"),
        (12345.678, "12,345.68"),
        (0.0000123, "1.23e-05"),
        (float("nan"), "-"),
        (None, "-"),
        (True, "yes"),
    ],
)
def test_readable_numbers(value, text):
    assert readable(value) == text


def test_p_values_have_a_floor_instead_of_zero():
    assert p_value(0.0) == "p < 1e-16"
    assert p_value(3e-20) == "p < 1e-16"
    assert p_value(0.0312) == "p = 0.0312"
    assert p_value(2.4e-9) == "p = 2.40e-09"


ACCEPT_MISSING = """
[[rule]]
id = "KD-all-missing"
reason = "known: the candidate skips these"
owner = "o"
expires = 2099-01-31
class = "missing"
"""


def test_report_counts_accepted_rows_per_ticker_and_tables_the_first_divergence(tmp_path):
    run = make_run(tmp_path / "runs", missing=6, slow=1.6)
    rules = tmp_path / "accepted.toml"
    rules.write_text(scoped(ACCEPT_MISSING))
    files = build_report(run, accept=rules)
    html, md = files.html.read_text(), files.markdown.read_text()
    # every missing row is accepted: the top tickers still list where they are
    top = re.search(r"Top diverging tickers \(unexplained / accepted rows\): (.*)\.", md).group(1)
    pairs = re.findall(r"(\w+) \((\d+) / (\d+)\)", top)
    assert pairs and all(u == "0" for _, u, _ in pairs)
    assert sum(int(a) for _, _, a in pairs) == 6
    assert '<td colspan="7">no differences</td>' not in html
    # the latency gap is enormous: a p-value with a floor, never "p = 0"
    assert "Wilcoxon signed-rank p &lt; 1e-16" in html and "p = 0 " not in html
    text = re.sub(r'data:image/png;base64,[^"]+', "", html)
    assert not re.search(r"\de\+\d", text), "no 2e+05-style numbers anywhere"
    # the first divergence is a table with the divergent tick marked, not a JSON dump
    assert "<pre>" not in html
    assert html.count('class="divergent"') == 1
    assert "accepted by KD-all-missing" in md


def test_per_ticker_latency_table_ranks_only_tickers_with_enough_ticks(tmp_path):
    few = tuple(f"T{i:02d}" for i in range(30))  # 2,000 ticks over 30 tickers: 66 each
    html = build_report(make_run(tmp_path / "a", tickers=few)).html.read_text()
    assert f"no ticker has {MIN_TICKER_TICKS} paired ticks" in html
    assert "30 with fewer are left out" in html
    html = build_report(make_run(tmp_path / "b")).html.read_text()  # 5 tickers × 400
    table = html.split("Latency ratio by ticker")[1].split("</table>")[0]
    assert table.count("<tr>") == 1 + 5 and "left out" not in table


def test_divergence_view_rows_for_field_and_whole_event_differences():
    first = {
        "seq": 7,
        "ticker": "NVDA",
        "class": "field_mismatch",
        "differences": [
            {"type": "high", "direction": "up", "class": "field_mismatch",
             "fields": [{"path": "price", "primary": "184.22", "candidate": "184.2"}]},
            {"type": "trend", "direction": "down", "class": "missing", "fields": []},
        ],
        "events": {"primary": [{"tick_seq": 7, "type": "trend", "label": "TREND", "price": 184.22}],
                   "candidate": []},
        "ticks": [{"seq": 3, "ts": 1773129604130950203, "price": 184.02},
                  {"seq": 7, "ts": 1773129609880160320, "price": 184.22}],
        "observations": [{"seq": 3, "primary_events": 0, "candidate_events": 0},
                         {"seq": 7, "primary_events": 2, "candidate_events": 1}],
    }  # fmt: skip
    view = divergence_view(first, [None, "KD-x"])
    assert view["standing"].startswith("unexplained")
    assert view["differences"][0] | {} == {
        "type": "high", "direction": "up", "class": "field_mismatch",
        "field": "price", "primary": "184.22", "candidate": "184.2",
    }  # fmt: skip
    assert view["differences"][1]["primary"] == "label=TREND price=184.22"
    assert view["differences"][1]["candidate"] == "—"
    w = view["window"]
    assert [t["divergent"] for t in w] == [False, True]
    assert [t["events_differ"] for t in w] == [False, True]
    assert w[1]["time"] == "08:00:09.880" and w[0]["price"] == "184.02"
    assert divergence_view(first, ["KD-x"])["standing"] == "accepted by KD-x"
    assert divergence_view(None) is None
