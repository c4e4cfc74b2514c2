"""ManualRecoveryProcedures: the operations team's emergency disable and gradual re-enable."""

from __future__ import annotations

import logging
from typing import Any

from tickstock.multichannel.rollout import GradualRolloutManager, TickerSelector

logger = logging.getLogger(__name__)


class ManualRecoveryProcedures:
    """Provides manual recovery procedures for operations team."""

    @staticmethod
    def emergency_disable_multichannel(market_data_service: Any) -> bool:
        """Emergency procedure to disable multi-channel system."""
        integrator = getattr(market_data_service, "integrator", None)
        if integrator is None:
            return False
        # Step 1: Disable multi-channel processing
        integrator.config.enable_multi_channel = False
        # Step 2: Uninstall integration (restore original handler)
        integrator.uninstall_integration()
        # Step 3: Confirm legacy system operation
        logger.info("Multi-channel disabled, legacy system active")
        return True

    @staticmethod
    def gradual_re_enable_multichannel(
        market_data_service: Any, percentage: int = 1, selector: TickerSelector | None = None
    ) -> bool:
        """Gradually re-enable multi-channel after issue resolution."""
        integrator = getattr(market_data_service, "integrator", None)
        if integrator is None:
            return False
        # Step 1: Re-install integration with low rollout
        integrator.install_integration()
        # Step 2: Enable with limited percentage
        GradualRolloutManager(integrator, selector).set_rollout_percentage(percentage)
        # Step 3: Monitor for stability
        logger.info("Multi-channel re-enabled at %s%% rollout", percentage)
        return True
