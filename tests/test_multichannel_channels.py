"""TickChannel: process_data → _detect_events → ProcessingResult with the legacy event types."""

from __future__ import annotations

import pytest

pytest.importorskip(
    "tickstock.legacy.detectors.event_detector", reason="needs the legacy detectors"
)

from tickstock.clock import TickClock
from tickstock.legacy.config import ConfigManager
from tickstock.legacy.events import HighLowEvent
from tickstock.legacy.tick import TickData
from tickstock.multichannel.channels import ChannelStatus, TickChannel
from tickstock.multichannel.config import ChannelConfigurationManager, ChannelType
from tickstock.multichannel.faults import ChannelFaults

T0 = 1_709_649_900.0  # 09:45 ET on a Tuesday


def channel(faults=None, **changes):
    cfg = ChannelConfigurationManager(ConfigManager()).load_configuration(
        "default_tick", ChannelType.TICK
    )
    for section, values in changes.items():
        getattr(cfg, section).update(values)
    return TickChannel("tick_channel_1", cfg, clock=TickClock(T0), faults=faults)


def tick(price, ts, ticker="AAA"):
    return TickData(ticker=ticker, price=price, volume=1000, timestamp=ts, market_open_price=50.0)


def feed(ch, prices):
    results = []
    for i, price in enumerate(prices):
        ch.clock.set(T0 + i)
        results.append(ch.process_with_metrics(tick(price, T0 + i)))
    return results


def test_a_rising_price_makes_typed_high_events_with_transport_dicts():
    ch = channel()
    results = feed(ch, [50.0, 50.5, 51.0, 51.5])
    assert ch.status is ChannelStatus.ACTIVE and all(r.success for r in results)
    highs = [e for r in results for e in r.events if isinstance(e, HighLowEvent)]
    assert [e.type for e in highs] == ["high"] * len(highs) and len(highs) >= 2
    transport = highs[-1].to_transport_dict()
    assert transport["ticker"] == "AAA" and transport["type"] == "high"
    assert ch.metrics.events_generated == sum(len(r.events) for r in results)
    assert ch.metrics.processed_count == 4 and ch.metrics.error_count == 0
    assert ch.metrics.avg_processing_time_ms > 0
    assert all(r.processing_time_ms > 0 and r.modelled_time_ms == 0 for r in results)


def test_a_disabled_detector_produces_no_events_of_its_type():
    ch = channel(highlow_detection={"enabled": False})
    results = feed(ch, [50.0, 50.5, 51.0, 51.5])
    assert not [e for r in results for e in r.events if e.type in ("high", "low")]


def test_injected_faults_are_errors_in_the_result_and_the_metrics():
    ch = channel(faults=ChannelFaults(error_rate=1.0))
    result = feed(ch, [50.0])[0]
    assert not result.success and "injected channel fault" in result.errors[0]
    assert ch.metrics.error_count == 1 and ch.metrics.error_rate == 1.0


def test_the_stock_data_cache_evicts_tickers_idle_for_an_hour_of_tick_time():
    ch = channel()
    ch.process_with_metrics(tick(50.0, T0, "OLD"))
    ch.clock.set(T0 + 3700)
    ch.process_with_metrics(tick(50.0, T0 + 3700, "NEW"))
    ch.clock.set(T0 + 4100)
    ch.process_with_metrics(tick(50.0, T0 + 4100, "NEW"))
    assert ch.cached_tickers == ["NEW"]


def test_invalid_data_is_an_error_not_a_crash():
    ch = channel()
    result = ch.process_with_metrics(object())
    assert not result.success and "invalid data" in result.errors[0]


def test_the_channels_tick_copy_carries_every_tickdata_field_and_leaves_the_original_alone():
    import copy
    import dataclasses

    original = tick(51.0, T0)
    for i, f in enumerate(dataclasses.fields(TickData)):
        object.__setattr__(original, f.name, f"value-{i}")
    copied = copy.copy(original)
    assert copied is not original
    assert dataclasses.astuple(copied) == dataclasses.astuple(original)
    copied.vwap = "changed"
    assert original.vwap != "changed"


def test_the_adapted_tick_falls_back_to_price_for_vwap_without_touching_the_callers_tick():
    t = tick(51.0, T0)
    t.vwap = None
    adapted = TickChannel._adapt(t)
    assert (adapted.vwap, adapted.tick_volume, adapted.tick_trade_size) == (51.0, 1000, 1000)
    assert t.vwap is None and t.tick_trade_size is None


def test_a_tick_without_events_returns_the_shared_result_equal_to_a_freshly_built_one():
    from tickstock.multichannel.channels import NO_EVENTS, NO_METADATA, ProcessingResult

    assert ProcessingResult(True, (), (), 0.0, 0.0, NO_METADATA) == NO_EVENTS
    ch = channel()
    ch.clock.set(T0)
    result = ch.process_data(tick(50.0, T0))
    assert result is NO_EVENTS or result.events  # the first tick may already be an event
    ch.clock.set(T0 + 1)
    assert ch.process_data(tick(50.0, T0 + 1)) is NO_EVENTS  # same price: nothing new


def test_the_channels_validation_reads_missing_fields_as_none():
    from types import SimpleNamespace

    ch = channel()
    assert ch.validate_data(tick(50.0, T0))
    assert not ch.validate_data(SimpleNamespace(ticker="AAA", price=50.0))  # no timestamp
    assert not ch.validate_data(SimpleNamespace(ticker="", price=50.0, timestamp=T0))
    assert not ch.validate_data(SimpleNamespace(ticker="AAA", price="50", timestamp=T0))
    assert not ch.validate_data(SimpleNamespace(ticker="AAA", price=float("nan"), timestamp=T0))
    assert not ch.validate_data(SimpleNamespace(ticker="AAA", price=0, timestamp=T0))
