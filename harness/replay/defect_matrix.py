"""The defect matrix: which rollout phases each defect violates, and the checks that must FAIL.

Every `Case` wraps a bundled stack in a `harness.replay.mutants` defect; tests/test_verdict_truth.py
replays each against the unwrapped stack and requires every violated phase to FAIL with the
case's own checks (benchmarks/bench_verdict_truth.py: whole days). `target_ticker` picks the
ticker the ticker- and hang-defects act on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.errors import ConfigError

#: The rollout phases, in order (harness.gates.engine.PHASES; repeated here to keep this module light).
ALL_PHASES = (
    "phase_0_installation",
    "phase_1_parallel_testing",
    "phase_2_limited_rollout",
    "phase_3_gradual_expansion",
    "phase_4_full_rollout",
)
#: Phases with a latency criterion (phase 2's is error rate and detection only).
LATENCY_PHASES = tuple(p for p in ALL_PHASES if p != "phase_2_limited_rollout")
_EVENT_LOSS = ("missing_events", "fallback_trigger_event_loss", "unexplained_differences")


@dataclass(frozen=True, slots=True)
class Case:
    """One row of the defect matrix: the mutant's parameters ("{ticker}" and "{period}" are
    filled per recording), the phases whose criteria it violates, and the checks that must FAIL
    there (the cell's proof that the gate saw *this* defect, not something else)."""

    name: str
    params: Mapping[str, Any]
    violates: tuple[str, ...]
    checks: tuple[str, ...]
    phase_checks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: errors/timeouts: where the failed ticks carried primary events, every phase must FAIL
    #: `missing_events` too (the events are lost); a stall on ticks without events loses none
    loss_driven: bool = False

    def mutant_table(
        self, inner: str, ticker: str, period: str, count: int = 3, seed: int = 0
    ) -> dict[str, Any]:
        """The `mutant` config table for one recording: `ticker` (drop / hang) has events,
        `count` of its first ticks reach its first event, `period` is one the slice covers."""

        def fill(v: Any) -> Any:
            if v == "{count}":
                return count
            if v == "{ticker}":
                return ticker
            if v == "{tickers}":
                return [ticker]
            if v == "{period}":
                return period
            return v

        return {"inner": inner, "seed": seed, **{k: fill(v) for k, v in self.params.items()}}

    def must_fail(self, phase: str) -> tuple[str, ...]:
        return self.checks + tuple(self.phase_checks.get(phase, ()))


CASES: tuple[Case, ...] = (
    Case("drop", {"defect": "drop", "rate": 0.02}, ALL_PHASES, _EVENT_LOSS),
    Case("drop_ticker", {"defect": "drop", "rate": 1.0, "tickers": "{tickers}"}, ALL_PHASES,
         _EVENT_LOSS),
    Case("drop_period", {"defect": "drop", "rate": 0.05, "period": "{period}"}, ALL_PHASES,
         _EVENT_LOSS),
    Case("drop_type", {"defect": "drop", "rate": 0.1, "type": "trend"}, ALL_PHASES, _EVENT_LOSS),
    Case("duplicate", {"defect": "duplicate", "rate": 0.02}, ALL_PHASES,
         ("extra_events", "duplicate_events")),
    Case("spurious", {"defect": "spurious", "rate": 0.002}, ALL_PHASES, ("extra_events",)),
    Case("shift_price", {"defect": "shift", "rate": 0.02, "field": "price", "amount": 0.01},
         ALL_PHASES, ("field_changes",)),
    Case("shift_field", {"defect": "shift", "rate": 0.02, "field": "count", "amount": 1},
         ALL_PHASES, ("field_changes",)),
    # what a stack returned is what it emitted, even if it changes the dicts afterwards
    Case("mend_price", {"defect": "mend", "rate": 0.02, "field": "price", "amount": 0.01},
         ALL_PHASES, ("field_changes",)),
    Case("swap_direction", {"defect": "swap_direction", "rate": 0.02}, ALL_PHASES,
         ("missing_events", "extra_events", "wrong_direction_events")),
    # the diff ignores event_id's value (ids embed counters that differ between stacks), not
    # that it identifies an event
    Case("reuse_id", {"defect": "reuse_id", "rate": 0.1}, ALL_PHASES, ("event_ids_unique",)),
    Case("delay_time", {"defect": "delay_time", "rate": 0.02, "seconds": 1}, ALL_PHASES,
         ("field_changes",)),
    Case("reorder", {"defect": "reorder", "rate": 1.0}, ALL_PHASES, ("order_changes",)),
    Case("late", {"defect": "late", "rate": 0.02}, ALL_PHASES, ("late_events",)),
    # errors and timeouts violate phase 0 ("0 errors") by themselves; everywhere else through
    # what they cost: events the primary emitted on a failed tick are lost (missing_events)
    Case("raise", {"defect": "raise", "rate": 0.02}, ("phase_0_installation",), ("errors",),
         loss_driven=True),
    Case("hang", {"defect": "hang", "ticker": "{ticker}", "hang_s": 0.2, "count": "{count}"},
         ("phase_0_installation",), ("errors",), loss_driven=True),
    Case("slow_1.5x", {"defect": "slow", "factor": 1.5}, LATENCY_PHASES,
         ("latency_ratio_ci_upper",)),
    Case("slow_2x", {"defect": "slow", "factor": 2.0}, LATENCY_PHASES,
         ("latency_ratio_ci_upper",)),
    # a tail: 2 % of the calls 21x slower leaves the median within 5 % of the primary's and puts
    # the mean 40 % above it; "within 5 %" is judged on the average too (the seed's own test)
    Case("spike", {"defect": "spike", "rate": 0.02, "factor": 21.0}, LATENCY_PHASES, (),
         phase_checks={"phase_0_installation": ("latency_mean_ratio_ci_upper",),
                       "phase_1_parallel_testing": ("latency_mean_ratio_ci_upper",),
                       "phase_3_gradual_expansion": ("performance_acceptable",),
                       "phase_4_full_rollout": ("performance_improvement",)}),
    # "system stable" (phase 0) and "system stability" (phase 4): no memory growth of its own
    Case("leak", {"defect": "leak", "bytes_per_tick": 2048},
         ("phase_0_installation", "phase_4_full_rollout"), ("memory_growth",)),
)  # fmt: skip


def target_ticker(run_dir: Path, side: str = "primary") -> tuple[str, int]:
    """For the ticker- and hang-defects: the ticker with events (≥ 3) whose first event comes
    after the fewest of its ticks (fewest ticks overall on a tie), and that number of ticks."""
    import duckdb

    con = duckdb.connect()
    try:
        row = con.execute(
            f"""WITH ev AS (SELECT ticker, min(tick_seq) AS first_seq, count(*) AS n
                            FROM read_parquet('{run_dir}/events_{side}/*.parquet') GROUP BY ticker),
                     ob AS (SELECT ticker, seq FROM read_parquet('{run_dir}/observations/*.parquet'))
                SELECT ev.ticker, count(*) FILTER (ob.seq <= ev.first_seq) AS upto
                FROM ev JOIN ob USING (ticker) WHERE ev.n >= 3
                GROUP BY ev.ticker ORDER BY upto, count(*), ev.ticker LIMIT 1"""
        ).fetchone()
    finally:
        con.close()
    if row is None:
        raise ConfigError(f"{run_dir}: no ticker with 3 or more {side} events")
    return str(row[0]), int(row[1])
