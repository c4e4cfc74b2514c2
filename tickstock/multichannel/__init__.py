"""The multi-channel stack of the seed document (integration-patterns.md): channels, router,
integrator, feature flags, rollout phases, monitoring, fallback and analytics.

The stack factory is `tickstock.stacks:multichannel`; docs/known-divergences.md lists how this
stack differs from the legacy one.
"""

from tickstock.multichannel.analytics import ChannelAnalyticsIntegrator, MarketAnalyticsManager
from tickstock.multichannel.channels import (
    ChannelMetrics,
    ProcessingChannel,
    ProcessingResult,
    TickChannel,
)
from tickstock.multichannel.config import (
    ChannelConfigurationManager,
    ChannelType,
    TickChannelConfig,
)
from tickstock.multichannel.dashboard import PerformanceComparisonDashboard
from tickstock.multichannel.fallback import AutomaticFallbackManager
from tickstock.multichannel.flags import FeatureFlagConfig
from tickstock.multichannel.integration import (
    MarketDataServiceIntegrator,
    install_multichannel_integration,
)
from tickstock.multichannel.integration_config import (
    CHANNEL_CONFIG_OVERRIDES,
    IntegrationConfig,
    apply_environment_overrides,
    set_nested_config_value,
)
from tickstock.multichannel.monitoring import MultiChannelMonitoringIntegrator, SystemMonitor
from tickstock.multichannel.recovery import ManualRecoveryProcedures
from tickstock.multichannel.rollout import (
    PHASE_DEFINITIONS,
    GradualRolloutManager,
    RolloutPhaseManager,
)
from tickstock.multichannel.router import DataChannelRouter, RouterConfig
from tickstock.multichannel.ticker_rollout import SmartTickerRollout

__all__ = [
    "AutomaticFallbackManager",
    "CHANNEL_CONFIG_OVERRIDES",
    "ChannelAnalyticsIntegrator",
    "ChannelConfigurationManager",
    "ChannelMetrics",
    "ChannelType",
    "DataChannelRouter",
    "FeatureFlagConfig",
    "GradualRolloutManager",
    "IntegrationConfig",
    "ManualRecoveryProcedures",
    "MarketAnalyticsManager",
    "MarketDataServiceIntegrator",
    "MultiChannelMonitoringIntegrator",
    "PHASE_DEFINITIONS",
    "PerformanceComparisonDashboard",
    "ProcessingChannel",
    "ProcessingResult",
    "RolloutPhaseManager",
    "RouterConfig",
    "SmartTickerRollout",
    "SystemMonitor",
    "TickChannel",
    "TickChannelConfig",
    "apply_environment_overrides",
    "install_multichannel_integration",
    "set_nested_config_value",
]
