"""Correctness guard for performance work: sha256 of every emitted event and of the stats.

Runs legacy and multichannel (phase 1, phase 3 seed 1) over the first 60,000 ticks of
recordings/sample-day and over a generated sequence, and prints one digest per (stack, input):
sha256 over json.dumps(sort_keys=True) of all emitted events, then of stats() with timing fields
removed. An optimisation must leave every digest byte-identical.

    .venv/bin/python benchmarks/check_event_hash.py            # prints the digests
    .venv/bin/python benchmarks/check_event_hash.py --save F   # also writes them to F (json)
    .venv/bin/python benchmarks/check_event_hash.py --check F  # exits 1 if any differs from F
    .venv/bin/python benchmarks/check_event_hash.py --fixes --events-only \
        --check benchmarks/event_hashes_before_fidelity.json
                                   # every opt-in fix on: the legacy stack's events from before
                                   # it was made faithful (issue 19) — IDENTICAL for legacy; the
                                   # phase_1 (channel-observed) digests move (see FIXES below)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any

from harness.recordings.reader import open_recording
from tickstock.generated import generate_ticks
from tickstock.stacks import legacy, multichannel

#: Stats keys whose values are measured time (or derived from it: channel "wins", improvements,
#: readiness advice), not behaviour.
_TIMING = re.compile(
    r"time|_ms$|latency|elapsed|duration|wall|cpu|per_s|win|improvement|recommendation|readiness",
    re.IGNORECASE,
)

STACKS: list[tuple[str, Callable[[dict[str, Any]], Any], dict[str, Any]]] = [
    ("legacy", legacy, {}),
    ("phase_1", multichannel, {"phase": "phase_1_parallel_testing"}),
    ("phase_3_seed_1", multichannel, {"phase": "phase_3_gradual_expansion", "seed": 1}),
]


def _strip_timing(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_timing(v) for k, v in value.items() if not _TIMING.search(str(k))}
    if isinstance(value, list | tuple):
        return [_strip_timing(v) for v in value]
    return value


def _inputs() -> dict[str, Callable[[], Iterable[Any]]]:
    return {
        "sample-day[:60000]": lambda: islice(
            open_recording("recordings/sample-day").ticks(), 60_000
        ),
        "generated(60000,300,seed=9)": lambda: generate_ticks(60_000, 300, seed=9),
    }


#: every opt-in fix of docs/tickstock-semantics.md on: the legacy stack's behaviour before it was
#: made faithful to the real pipeline (issue 19), which `--fixes --check` compares with. The
#: multi-channel candidate answers detector keys from its channel file only (tickstock/multichannel/
#: config.py), so these global keys leave its channel detectors faithful: its digests move.
FIXES = {
    "FIX_STORE_MARKET_OPEN_PRICE": True,
    "FIX_HIGHLOW_CURRENT_LOW": True,
    "FIX_TREND_MISSING_VWAP": True,
    "EVENT_TIMESTAMP_FIELD": True,
}


def digests(fixes: bool = False) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    extra = {"tickstock": FIXES} if fixes else {}
    for input_name, make_ticks in _inputs().items():
        for stack_name, factory, config in STACKS:
            stack = factory({"environment": False, **config, **extra})
            h = hashlib.sha256()
            n = 0
            for tick in make_ticks():
                for event in stack.process(tick):
                    h.update(json.dumps(event, sort_keys=True, default=repr).encode())
                    n += 1
            for event in stack.flush():
                h.update(json.dumps(event, sort_keys=True, default=repr).encode())
                n += 1
            stats = json.dumps(_strip_timing(stack.stats()), sort_keys=True, default=repr)
            stack.close()
            key = f"{stack_name} / {input_name}"
            out[key] = {
                "events": n,
                "events_sha256": h.hexdigest(),
                "stats_sha256": hashlib.sha256(stats.encode()).hexdigest(),
            }
            print(
                f"{key}: {n} events  events={h.hexdigest()[:16]}  stats={out[key]['stats_sha256'][:16]}"
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", help="write the digests to this json file")
    parser.add_argument("--check", help="compare with digests saved in this json file")
    parser.add_argument("--fixes", action="store_true", help="run with every opt-in fix on")
    parser.add_argument(
        "--events-only", action="store_true", help="compare events only (not the stats digest)"
    )
    args = parser.parse_args()
    got = digests(args.fixes)
    if args.save:
        with open(args.save, "w") as fh:
            json.dump(got, fh, indent=1, sort_keys=True)
    if args.check:
        with open(args.check) as fh:
            want = json.load(fh)
        fields = ("events", "events_sha256") if args.events_only else None
        bad = [
            k
            for k in want
            if (want[k] if fields is None else {f: want[k][f] for f in fields})
            != (got.get(k) if fields is None else {f: (got.get(k) or {}).get(f) for f in fields})
        ]
        print("IDENTICAL" if not bad else f"DIFFERENT: {bad}")
        sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
