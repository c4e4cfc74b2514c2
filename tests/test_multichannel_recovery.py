"""Manual recovery: emergency disable restores the legacy handler; gradual re-enable reinstalls."""

from __future__ import annotations

import tickstock.multichannel as mc
from tickstock.clock import TickClock
from tickstock.multichannel.recovery import ManualRecoveryProcedures
from tickstock.multichannel.router import DataChannelRouter, RouterConfig
from tickstock.multichannel.ticker_rollout import SmartTickerRollout


class TickData:
    def __init__(self, ticker="AAA", price=10.0, timestamp=1000.0):
        self.ticker, self.price, self.timestamp, self.volume = ticker, price, timestamp, 100


def tick():
    return TickData()


class PriorityManager:
    def add_event(self, event):
        return True


class Service:
    def __init__(self):
        self.clock = TickClock()
        self.served = []

    def handle_websocket_tick(self, tick_data):
        self.served.append(tick_data.ticker)
        return True


def router():
    return DataChannelRouter(RouterConfig())


def installed_service():
    service = Service()
    service.priority_manager = PriorityManager()
    integrator = mc.MarketDataServiceIntegrator(service, router(), mc.IntegrationConfig())
    integrator.install_integration()
    service.integrator = integrator
    return service, integrator


def test_emergency_disable_turns_multichannel_off_and_restores_the_handler():
    service, integrator = installed_service()
    integrator.config.enable_multi_channel = True
    assert ManualRecoveryProcedures.emergency_disable_multichannel(service) is True
    assert integrator.config.enable_multi_channel is False
    assert "handle_websocket_tick" not in vars(service)
    assert service.handle_websocket_tick(tick()) is True and service.served == ["AAA"]


def test_gradual_re_enable_reinstalls_at_the_given_percentage():
    service, integrator = installed_service()
    ManualRecoveryProcedures.emergency_disable_multichannel(service)
    stats = {
        t: {"avg_daily_volume": 1, "price_volatility": 0, "event_frequency": 0}
        for t in ("AAA", "BBB")
    }
    selector = SmartTickerRollout(ticker_stats=stats, seed=1, min_count=1)
    assert ManualRecoveryProcedures.gradual_re_enable_multichannel(service, 1, selector) is True
    assert integrator.installed and integrator.flags.rollout_percentage == 1
    assert integrator.rollout_scope == frozenset(selector.select_rollout_tickers(1))
    assert integrator.config.enable_multi_channel is True


def test_procedures_refuse_a_service_without_an_integrator():
    assert ManualRecoveryProcedures.emergency_disable_multichannel(object()) is False
    assert ManualRecoveryProcedures.gradual_re_enable_multichannel(object()) is False


def test_the_public_surface_is_sorted_and_importable():
    assert mc.__all__ == sorted(mc.__all__)
    assert all(hasattr(mc, name) for name in mc.__all__)
