"""Global stack decisions pinned once, before sharding: which tickers a rollout phase covers.

A candidate stack that picks its rollout tickers itself (the multi-channel stack's
SmartTickerRollout, by observed statistics after a warm-up, or from `tickers`/`ticker_stats`)
would pick a different set in every shard, because each shard sees only its own tickers. So the
coordinator builds the candidate once, lets it choose (feeding it the recording's first ticks
when it selects by observation), reads `stats()["rollout_tickers"]` and hands every shard the
same explicit `rollout_tickers`. Stacks without a `rollout` block in stats() are left alone::

    spec, info = pin_rollout(candidate_spec, recording)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

#: Config key the multi-channel stack reads for an explicit rollout (tickstock/multichannel/stack.py).
ROLLOUT_KEY = "rollout_tickers"
#: Warm-up ticks fed at most while the stack is still choosing by observation.
MAX_WARMUP_TICKS = 5_000_000
_SELF_CONTAINED = ("all", "none", "explicit")


def _rollout(stack: Any) -> Mapping[str, Any] | None:
    try:
        stats = stack.stats()
    except Exception:  # a stack whose stats() fails has no rollout to pin
        return None
    block = stats.get("rollout") if isinstance(stats, Mapping) else None
    return block if isinstance(block, Mapping) and "method" in block else None


def pin_rollout(spec: Any, ticks: Iterable[Any] | None = None) -> tuple[Any, dict[str, Any] | None]:
    """(spec with explicit rollout tickers, what was decided) — or (spec, None) if nothing to pin.

    `spec` is a harness.pipeline.shadow.StackSpec; `ticks` the recording's ticks in replay order, consumed
    only while the stack is still warming up its observed selection.
    """
    from harness.replay.stack import load_stack

    config = dict(spec.config)
    if config.get(ROLLOUT_KEY) is not None:
        return spec, {"method": "given", "tickers": len(config[ROLLOUT_KEY]), "warmup_ticks": 0}
    stack = load_stack(spec.factory, config)
    try:
        block = _rollout(stack)
        if block is None:
            return spec, None
        fed = 0
        if block["method"] == "pending" and ticks is not None:
            for tick in ticks:
                stack.process(tick)
                fed += 1
                if fed % 1000 == 0 or fed >= MAX_WARMUP_TICKS:
                    block = _rollout(stack) or block
                    if block["method"] != "pending" or fed >= MAX_WARMUP_TICKS:
                        break
            block = _rollout(stack) or block
        method = str(block["method"])
        if method in ("all", "none"):
            return spec, {"method": method, "tickers": None, "warmup_ticks": fed}
        if method == "pending":
            return spec, {
                "method": "pending",
                "tickers": 0,
                "warmup_ticks": fed,
                "note": "the stack never finished its warm-up; each shard selects alone",
            }
        chosen = sorted(stack.stats().get(ROLLOUT_KEY) or [])
    finally:
        with contextlib.suppress(Exception):  # closing the probe stack is best effort
            stack.close()
    pinned = replace(spec, config={**config, ROLLOUT_KEY: chosen})
    return pinned, {
        "method": method,
        "tickers": len(chosen),
        "warmup_ticks": fed,
        "selected_at": block.get("selected_at"),
    }
