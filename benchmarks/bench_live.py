"""Benchmark: sustained ticks/s of live shadowing (feed at max speed → harness live → stacks).

Two figures, each against its target:
* the live pipeline itself (socket, message → tick conversion, bounded queue, runner, recording)
  with the fast fake stack A/A — target >= 4,000 ticks/s, one market-wide second of per-second
  aggregates (`A.*`, ~4,000 tickers) per second of wall time;
* legacy vs multi-channel (phase 1) live, against a replay of the same ticks through the same
  stacks — target: live >= 90 % of the replay rate (live adds no bottleneck of its own).
Usage: python benchmarks/bench_live.py [TICKS]
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.core.model import Tick
from harness.live.client import LiveConfig
from harness.live.session import LiveRequest, RecordOptions, run_live
from harness.pipeline.shadow import run_shadow
from harness.recordings.reader import RecordingWriter, open_recording
from harness.replay.outcome import RunOptions
from harness.replay.shadow import RunSpec

TARGET_TICKS_PER_S = 4_000
BASE_NS = 1_767_364_200_000_000_000  # 2026-01-02 14:30 UTC


def synthetic_day(n: int, tickers: int = 200, seed: int = 1) -> list[Tick]:
    """Per-second aggregates for `tickers` symbols, random-walk prices, in (ts, seq) order."""
    rng = random.Random(seed)
    prices = [rng.uniform(20, 400) for _ in range(tickers)]
    acc = [0] * tickers
    out = []
    for seq in range(n):
        i = seq % tickers
        prices[i] *= 1 + rng.gauss(0, 0.002)
        vol = rng.randint(100, 5000)
        acc[i] += vol
        p = round(prices[i], 2)
        out.append(
            Tick(
                seq,
                BASE_NS + (seq // tickers) * 1_000_000_000 + i * 1000,
                f"T{i:04d}",
                p,
                vol,
                tick_open=p,
                tick_high=p * 1.001,
                tick_low=p * 0.999,
                tick_close=p,
                tick_vwap=p,
                tick_volume=vol,
                accumulated_volume=acc[i],
                vwap=p,
                market_open_price=round(prices[i], 2),
            )
        )
    return out


def live_rate(root: Path, n: int, primary: str, candidate: str, config: dict[str, str]) -> float:
    """Ticks/s the runner shadowed while reading from the live source (its wall time).

    The feed runs in its own process, as in real use (`harness feed` in another terminal), so its
    encoding work does not compete with the shadow runner for this process's GIL.
    """
    cmd = [
        sys.executable,
        "-m",
        "harness",
        "feed",
        str(root / "day"),
        "--port",
        "0",
        "--speed",
        "max",
    ]
    feed = subprocess.Popen([*cmd, "--once"], stderr=subprocess.PIPE, text=True)
    try:
        assert feed.stderr is not None
        url = feed.stderr.readline().split(" on ")[1].split(" ")[0]
        result = run_live(
            LiveRequest(
                LiveConfig(url, duration_s=900, queue_size=n + 1),
                RunSpec.of(
                    primary,
                    candidate,
                    candidate_config=config,
                    options=RunOptions(tick_timeout_s=None),
                ),
                runs_dir=root / "runs",
                record=RecordOptions(root / f"live-{primary.rsplit(':', 1)[1]}", overwrite=True),
            )
        )
    finally:
        feed.kill()
        feed.wait()
    assert result.live.delivered == n and result.live.dropped == 0, result.live.as_dict()
    manifest = json.loads((result.run.path / "manifest.json").read_text())
    return n / manifest["wall_s"]


def replay_rate(root: Path, primary: str, candidate: str, config: dict[str, str]) -> float:
    ticks = open_recording(root / "day").ticks()
    result = run_shadow(
        ticks,
        primary,
        candidate,
        candidate_config=config,
        options=RunOptions(tick_timeout_s=None),
        root=root / "runs",
    )
    manifest = json.loads((result.path / "manifest.json").read_text())
    return int(manifest["audit"]["read"]) / manifest["wall_s"]


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    phase = {"phase": "phase_1_parallel_testing"}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with RecordingWriter(root / "day", source="synthetic") as writer:
            writer.write_ticks(synthetic_day(n))
        pipe = live_rate(root, n, "harness.replay.stack:fake", "harness.replay.stack:fake", {})
        live = live_rate(root, n, "tickstock.stacks:legacy", "tickstock.stacks:multichannel", phase)
        replay = replay_rate(
            root, "tickstock.stacks:legacy", "tickstock.stacks:multichannel", phase
        )
    print(
        f"live pipeline (fake stacks A/A): {pipe:,.0f} ticks/s sustained over {n:,} ticks "
        f"(target >= {TARGET_TICKS_PER_S:,})"
    )
    print(
        f"live legacy vs multichannel: {live:,.0f} ticks/s; replay of the same ticks {replay:,.0f} "
        f"ticks/s; live/replay {live / replay:.2f} (target >= 0.90)"
    )
    return 0 if pipe >= TARGET_TICKS_PER_S and live >= 0.9 * replay else 1


if __name__ == "__main__":
    sys.exit(main())
