"""Synthetic run directories in exactly the run-dir contract of docs/architecture.md, for gate tests.

`make_run` writes observations, both event files, a diff and the manifest as the runner and diff
engine would for a candidate with the given defects, so gates are tested without replaying.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

T0 = 1_340_285_400_000_000_000  # 2012-06-21 13:30:00 UTC = 09:30 US/Eastern

#: Reference for events per minute: each stack's events joined with their ticks' times (the
#: straightforward query the report's faster paths must agree with).
JOIN_MINUTES_SQL = (
    "WITH e AS (SELECT 'primary' AS side, tick_seq FROM events_primary UNION ALL "
    "SELECT 'candidate', tick_seq FROM events_candidate) "
    "SELECT date_trunc('minute', timezone('America/New_York', o.ts)) AS minute, "
    "count(*) FILTER (side = 'primary') AS primary, "
    "count(*) FILTER (side = 'candidate') AS candidate "
    "FROM e JOIN observations o ON o.seq = e.tick_seq GROUP BY 1 ORDER BY 1"
)
FIELD_TYPE = pa.list_(
    pa.struct([("path", pa.string()), ("primary", pa.string()), ("candidate", pa.string())])
)


def make_run(
    root: Path,
    run_id: str = "20260101T000000Z-aaaaaaa",
    *,
    ticks: int = 2_000,
    tickers: tuple[str, ...] = ("AAPL", "MSFT", "GOOG", "AMZN", "LOWV"),
    slow: float = 1.0,
    error_every: int = 0,
    missing: int = 0,
    extra: int = 0,
    shifted: int = 0,
    event_every: int = 7,
    status: str = "complete",
    audit_ok: bool = True,
    stack_stats: dict | None = None,
    seed: int = 1,
    missing_ticker: str | None = None,
    leak_bytes: int = 0,
    probe_cost: float = 1.0,
    late: int = 0,
    sides: str | None = None,
    machine: float = 1.0,
) -> Path:
    """Write a run directory; defects apply to the candidate side. `sides`: the manifest's
    `options.sides` (how the stacks were run; absent = interleaved). `machine`: how fast the host
    was for this run, a factor on both stacks' times."""
    rng = np.random.default_rng(seed)
    run = root / run_id
    (run / "observations").mkdir(parents=True)
    seq = np.arange(ticks, dtype=np.int64)
    tick_tickers = np.array(tickers)[seq % len(tickers)]
    base = rng.lognormal(np.log(30_000), 0.25, ticks) * machine
    primary_ns = (base * rng.lognormal(0, 0.03, ticks)).astype(np.int64)
    candidate_ns = (base * slow * rng.lognormal(0, 0.03, ticks)).astype(np.int64)
    cand_err = np.array([None] * ticks, dtype=object)
    if error_every:
        cand_err[seq % error_every == 0] = "RuntimeError: injected"
    emits = (seq % event_every == 0) if event_every else np.zeros(ticks, dtype=bool)
    ev_seq = seq[emits]
    ev_tick = tick_tickers[emits]
    n_ev = ev_seq.size
    # memory probes on every 64th tick; held bytes on the event-free ones: both keep ~500 B
    # (+ the candidate's leak). `probe_cost`: how much slower the tracer makes the candidate's
    # probed calls than the primary's (a stack that allocates more is slowed more)
    traced = seq % 64 == 33
    probed = traced & ~emits
    candidate_ns[traced] = (candidate_ns[traced] * probe_cost).astype(np.int64)
    kept = rng.normal(500, 150, ticks).round().astype(np.int64)
    held_p = pa.array(kept, pa.int64(), mask=~probed)
    held_c = pa.array(
        kept + rng.normal(0, 100, ticks).round().astype(np.int64) + leak_bytes,
        pa.int64(),
        mask=~probed,
    )
    obs = pa.table(
        {
            "seq": seq,
            "ticker": tick_tickers,
            "ts": pa.array(T0 + seq * 1_000_000_000, pa.timestamp("ns", tz="UTC")),
            "first": np.where(seq % 2 == 0, "primary", "candidate"),
            "primary_ns": primary_ns,
            "candidate_ns": candidate_ns,
            "primary_cpu_ns": primary_ns,
            "candidate_cpu_ns": candidate_ns,
            "primary_held_bytes": held_p,
            "candidate_held_bytes": held_c,
            "memory_probed": traced,
            "primary_error": pa.array([None] * ticks, pa.string()),
            "candidate_error": pa.array(list(cand_err), pa.string()),
            "candidate_timeout": np.zeros(ticks, dtype=bool),
            "primary_events": emits.astype(np.int32),
            "candidate_events": emits.astype(np.int32),
            "shard": np.zeros(ticks, dtype=np.int32),
        }
    )
    pq.write_table(obs, run / "observations" / "part-00000.parquet")
    classes = np.array(["match"] * n_ev, dtype=object)
    fields: list = [[] for _ in range(n_ev)]
    pos = 0
    miss_idx = np.arange(n_ev)
    if missing_ticker is not None:
        miss_idx = miss_idx[ev_tick == missing_ticker]
    for i in miss_idx[:missing]:
        classes[i] = "missing"
    pos = missing
    for i in range(pos, pos + shifted):
        classes[i] = "field_mismatch"
        fields[i] = [{"path": "price", "primary": "100.0", "candidate": "100.5"}]
    diff = {
        "ticker": list(ev_tick) + [str(tickers[0])] * extra,
        "type": ["high"] * (n_ev + extra),
        "direction": ["up"] * (n_ev + extra),
        "tick_seq": list(ev_seq) + list(range(1, 1 + extra)),
        "primary_index": [0] * n_ev + [None] * extra,
        "candidate_index": [None if c == "missing" else 0 for c in classes] + [0] * extra,
        "class": list(classes) + ["extra"] * extra,
        "fields": fields + [[] for _ in range(extra)],
        "accepted_by": pa.array([None] * (n_ev + extra), pa.string()),
        # paired rows returned on the same tick by both stacks (late: the first `late` of them)
        "late": [None if c == "missing" else i < late for i, c in enumerate(classes)]
        + [None] * extra,
    }
    schema = pa.schema(
        [
            ("ticker", pa.string()), ("type", pa.string()), ("direction", pa.string()),
            ("tick_seq", pa.int64()), ("primary_index", pa.int32()), ("candidate_index", pa.int32()),
            ("class", pa.string()), ("fields", FIELD_TYPE), ("accepted_by", pa.string()),
            ("late", pa.bool_()),
        ]
    )  # fmt: skip
    pq.write_table(pa.Table.from_pydict(diff, schema=schema), run / "diff.parquet")
    for side in ("primary", "candidate"):
        keep = np.ones(n_ev, bool) if side == "primary" else classes != "missing"
        events = {
            "tick_seq": ev_seq[keep],
            "emit_seq": ev_seq[keep],
            "emit_pos": np.arange(int(keep.sum()), dtype=np.int64),
            "shard": np.zeros(int(keep.sum()), np.int32),
            "emit_index": np.zeros(int(keep.sum()), np.int32),
            "ticker": ev_tick[keep],
            "type": ["high"] * int(keep.sum()),
            "direction": ["up"] * int(keep.sum()),
            "price": np.full(int(keep.sum()), 100.0),
            "event_json": ["{}"] * int(keep.sum()),
        }
        pq.write_table(pa.table(events), run / f"events_{side}.parquet")
    errored = int(error_every and (seq % error_every == 0).sum())
    manifest = {
        "run_id": run_id,
        "status": status,
        "recording": {"path": "recordings/synthetic", "name": "synthetic", "sha256": "ab" * 32},
        "primary": {"factory": "harness.replay.stack:fake", "config": {}},
        "candidate": {"factory": "harness.replay.stack:fake", "config": {}},
        "audit": {
            "read": ticks,
            "primary": {"processed": ticks, "errored": 0, "timed_out": 0},
            "candidate": {"processed": ticks - errored, "errored": errored, "timed_out": 0},
            "ok": audit_ok,
        },
        "seed": 0,
        "mode": "afap",
    }
    if sides is not None:
        manifest["options"] = {"sides": sides}
    (run / "manifest.json").write_text(json.dumps(manifest))
    (run / "stack_stats.json").write_text(
        json.dumps({"primary": {}, "candidate": stack_stats or {}})
    )
    return run


#: A [[scope]] admitting the runs `make_run` writes (fake stacks, empty configs, recording
#: "synthetic"): rule files in the tests name it with `scope = "fixture"`.
FIXTURE_SCOPE = """
[[scope]]
id = "fixture"
primary = "harness.replay.stack:fake"
primary_config = "sha256:46b68ac1696c3870"
candidate = "harness.replay.stack:fake"
candidate_config = "sha256:46b68ac1696c3870"
recording = { synthetic = "%s" }
""" % ("ab" * 32)


def scoped(body: str, scope: str = "fixture") -> str:
    """A rules file: FIXTURE_SCOPE plus `body`, each [[rule]]/[[latency]] given `scope`."""
    out = []
    for line in body.splitlines():
        out.append(line)
        if line.strip() in ("[[rule]]", "[[latency]]"):
            out.append(f'scope = "{scope}"')
    return FIXTURE_SCOPE + "\n".join(out) + "\n"
