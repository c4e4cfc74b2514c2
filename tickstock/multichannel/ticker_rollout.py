"""SmartTickerRollout: the seed's risk-tiered, seeded choice of which tickers get the channel.

Ticker statistics (`avg_daily_volume`, `price_volatility`, `event_frequency`) come from the caller
(e.g. the harness computing them with DuckDB from an earlier recording) or, when not supplied,
from `ObservedTickerStats`, which accumulates them from the ticks and events it is shown.
Selection follows the seed line by line, with one crash fixed: at ≤ 10 % the seed samples
`min(remaining, len(medium))` tickers, which is negative (a ValueError) when there are more
low-risk tickers than the target; here the sample size is floored at 0. `min_count` (default 0,
the seed's `int()`) lets a caller insist on at least one ticker in small universes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

LOW_RISK_MAX_VOLUME = 1_000_000
LOW_RISK_MAX_VOLATILITY = 0.05
LOW_RISK_MAX_EVENTS = 10
HIGH_RISK_MIN_VOLUME = 10_000_000
HIGH_RISK_MIN_VOLATILITY = 0.15
HIGH_RISK_MIN_EVENTS = 100

_SESSION_SECONDS = 6.5 * 3600


@dataclass(frozen=True, slots=True)
class TickerStats:
    """The three numbers the seed's risk assessment reads."""

    avg_daily_volume: float
    price_volatility: float
    event_frequency: float

    def __getitem__(self, key: str) -> float:
        return float(getattr(self, key))

    @classmethod
    def from_mapping(cls, ticker: str, raw: Mapping[str, Any]) -> TickerStats:
        try:
            return cls(
                float(raw["avg_daily_volume"]),
                float(raw["price_volatility"]),
                float(raw["event_frequency"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"ticker stats for {ticker}: need numeric avg_daily_volume, price_volatility, "
                f"event_frequency ({exc})"
            ) from None


class ObservedTickerStats:
    """Per-ticker statistics accumulated from observed ticks and emitted events."""

    def __init__(self) -> None:
        self._acc: dict[str, list[float]] = {}  # n, sum, sumsq, volume, acc_max, first, last, ev

    def observe_tick(
        self, ticker: str, price: float, volume: int, ts: float, accumulated: int | None
    ) -> None:
        a = self._acc.get(ticker)
        if a is None:
            a = self._acc[ticker] = [0.0, 0.0, 0.0, 0.0, 0.0, ts, ts, 0.0]
        a[0] += 1
        a[1] += price
        a[2] += price * price
        a[3] += volume
        if accumulated is not None and accumulated > a[4]:
            a[4] = float(accumulated)
        a[6] = max(a[6], ts)

    def observe_events(self, ticker: str, count: int) -> None:
        if ticker in self._acc:
            self._acc[ticker][7] += count

    def tickers(self) -> list[str]:
        return sorted(self._acc)

    def stats(self, ticker: str) -> TickerStats:
        """Volume and events observed, scaled to a 6.5 h session; volatility = std/mean of prices.

        `accumulated_volume` is kept but not used: early in a day it is far below the day's volume.
        """
        n, s, ss, vol, _acc, first, last, events = self._acc[ticker]
        mean = s / n
        var = max(ss / n - mean * mean, 0.0)
        span = max(last - first, 1.0)
        scale = max(_SESSION_SECONDS / span, 1.0)
        return TickerStats(vol * scale, math.sqrt(var) / mean if mean > 0 else 0.0, events * scale)


class SmartTickerRollout:
    """Intelligent ticker selection for gradual rollout."""

    def __init__(
        self,
        market_data_service: Any = None,
        ticker_stats: Mapping[str, Mapping[str, Any]] | None = None,
        observed: ObservedTickerStats | None = None,
        tickers: Iterable[str] | None = None,
        seed: int = 0,
        min_count: int = 0,
    ) -> None:
        self.market_data_service = market_data_service
        self.ticker_stats = {
            t: TickerStats.from_mapping(t, raw) for t, raw in (ticker_stats or {}).items()
        }
        self.observed = observed
        self.tickers = sorted(set(tickers)) if tickers is not None else None
        self.seed = seed
        self.min_count = min_count

    def select_rollout_tickers(self, percentage: int) -> list[str]:
        """Select tickers for rollout based on risk profile (sorted; same seed → same set)."""
        if percentage <= 0:
            return []
        rng = random.Random(f"{self.seed}:{percentage}")
        all_tickers = self._get_active_tickers()
        low_risk_tickers: list[str] = []
        medium_risk_tickers: list[str] = []
        for ticker in all_tickers:
            risk_profile = self._assess_ticker_risk(ticker)
            if risk_profile == "low":
                low_risk_tickers.append(ticker)
            elif risk_profile == "medium":
                medium_risk_tickers.append(ticker)
        target_count = max(int(len(all_tickers) * percentage / 100), self.min_count)
        target_count = min(target_count, len(all_tickers))
        if percentage <= 1:
            # Start with lowest risk tickers only
            chosen = rng.sample(low_risk_tickers, min(len(low_risk_tickers), target_count))
        elif percentage <= 10:
            # Add some medium risk tickers
            chosen = low_risk_tickers.copy()
            remaining = max(target_count - len(chosen), 0)
            chosen.extend(rng.sample(medium_risk_tickers, min(remaining, len(medium_risk_tickers))))
        else:
            # Include all ticker types proportionally
            chosen = rng.sample(all_tickers, target_count)
        return sorted(chosen)

    def risk_tiers(self) -> dict[str, str]:
        """Every active ticker's tier (for stats and reports)."""
        return {t: self._assess_ticker_risk(t) for t in self._get_active_tickers()}

    def _get_active_tickers(self) -> list[str]:
        if self.tickers is not None:
            return list(self.tickers)
        if self.ticker_stats:
            return sorted(self.ticker_stats)
        if self.observed is not None:
            return self.observed.tickers()
        details = getattr(self.market_data_service, "stock_details", None) or {}
        return sorted(details)

    def _get_ticker_stats(self, ticker: str) -> TickerStats:
        if ticker in self.ticker_stats:
            return self.ticker_stats[ticker]
        if self.observed is not None and ticker in self.observed.tickers():
            return self.observed.stats(ticker)
        # Nothing known: treat as high risk rather than guess it safe.
        return TickerStats(math.inf, math.inf, math.inf)

    def _assess_ticker_risk(self, ticker: str) -> str:
        """Assess risk level of ticker for rollout."""
        stats = self._get_ticker_stats(ticker)
        if (
            stats["avg_daily_volume"] < LOW_RISK_MAX_VOLUME
            and stats["price_volatility"] < LOW_RISK_MAX_VOLATILITY
            and stats["event_frequency"] < LOW_RISK_MAX_EVENTS
        ):
            return "low"
        if (
            stats["avg_daily_volume"] > HIGH_RISK_MIN_VOLUME
            or stats["price_volatility"] > HIGH_RISK_MIN_VOLATILITY
            or stats["event_frequency"] > HIGH_RISK_MIN_EVENTS
        ):
            return "high"
        return "medium"
