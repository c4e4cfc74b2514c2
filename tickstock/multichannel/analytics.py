"""Channel analytics: metrics buffered in memory and synced to a database table every 10 s.

`MarketAnalyticsManager` keeps the seed's "sync every 10 seconds" write reduction: records are
buffered and written in one batch per interval of the caller's clock (tick time in replay) to the
table `channel_analytics` of a SQLite or DuckDB file (or SQLite `:memory:`).
`ChannelAnalyticsIntegrator.record_channel_metrics(channel)` is the seed's method.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SYNC_INTERVAL_SECONDS = 10.0
TABLE = "channel_analytics"
_DDL = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (tick_time DOUBLE, kind VARCHAR, component VARCHAR, "
    "name VARCHAR, value DOUBLE)"
)
_INSERT = f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?)"


@dataclass(frozen=True, slots=True)
class AnalyticsRecord:
    tick_time: float
    kind: str  # "performance" | "event_count"
    component: str
    name: str
    value: float


class MarketAnalyticsManager:
    """Buffers analytics records and writes them to the database on the sync cadence."""

    def __init__(
        self,
        database: str | Path = ":memory:",
        backend: str = "sqlite",
        sync_interval_seconds: float = SYNC_INTERVAL_SECONDS,
    ) -> None:
        if backend not in ("sqlite", "duckdb"):
            raise ValueError(f"analytics backend must be 'sqlite' or 'duckdb', not {backend!r}")
        self.backend = backend
        self.database = str(database)
        self.sync_interval_seconds = sync_interval_seconds
        self._conn: Any = self._connect()
        self._conn.execute(_DDL)
        self._buffer: list[AnalyticsRecord] = []
        self._now = 0.0
        self._last_sync: float | None = None
        self.syncs = 0
        self.rows_written = 0

    def _connect(self) -> Any:
        if self.backend == "duckdb":
            import duckdb

            return duckdb.connect(self.database)
        return sqlite3.connect(self.database)

    def set_time(self, now: float) -> None:
        self._now = now

    def record_performance_metric(self, component: str, metric_name: str, value: float) -> None:
        self._buffer.append(
            AnalyticsRecord(self._now, "performance", component, metric_name, float(value))
        )

    def record_event_count(self, component: str, event_type: str, count: int) -> None:
        self._buffer.append(
            AnalyticsRecord(self._now, "event_count", component, event_type, float(count))
        )

    @property
    def next_due(self) -> float:
        """The time from which `due` answers True (−inf before the first sync)."""
        last = self._last_sync
        return float("-inf") if last is None else last + self.sync_interval_seconds

    def due(self, now: float) -> bool:
        return self._last_sync is None or now - self._last_sync >= self.sync_interval_seconds

    def sync(self, now: float | None = None) -> int:
        """Write the buffer in one batch; returns rows written."""
        if now is not None:
            self._last_sync = now
        rows = [(r.tick_time, r.kind, r.component, r.name, r.value) for r in self._buffer]
        self._buffer.clear()
        if rows:
            self._conn.executemany(_INSERT, rows)
            if self.backend == "sqlite":
                self._conn.commit()
        self.syncs += 1
        self.rows_written += len(rows)
        return len(rows)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self._conn.execute(sql).fetchall()]

    def close(self) -> None:
        self.sync()
        self._conn.close()


class ChannelAnalyticsIntegrator:
    """Channel metrics integrate with existing analytics."""

    def __init__(self, market_analytics_manager: MarketAnalyticsManager) -> None:
        self.analytics_manager = market_analytics_manager

    def record_channel_metrics(self, channel: Any) -> None:
        """Record channel performance in existing analytics system."""
        self.analytics_manager.record_performance_metric(
            component="channel_system",
            metric_name=f"{channel.name}_processing_time",
            value=channel.metrics.avg_processing_time_ms,
        )
        self.analytics_manager.record_event_count(
            component="channel_system",
            event_type="channel_events_generated",
            count=channel.metrics.events_generated,
        )

    def on_tick(self, now: float, channels: list[Any]) -> bool:
        """Every sync interval of tick time: record each channel, then sync. True if synced."""
        manager = self.analytics_manager
        if not manager.due(now):
            return False
        manager.set_time(now)
        for channel in channels:
            self.record_channel_metrics(channel)
        manager.sync(now)
        return True
