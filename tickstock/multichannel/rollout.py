"""Rollout phases (the seed's PHASE_DEFINITIONS) and the percentage-based rollout manager.

Phases are cumulative: a phase's flags are the defaults with every earlier phase's flags applied
and then its own (phase 3 only says `rollout_percentage: 10`, so it must keep phase 2's switches).
Whether a phase met its success criteria is decided by an injected validator (the harness
supplies one from its gate verdicts); without one a phase never advances, because no evidence is
not a pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from tickstock.multichannel.errors import RolloutError
from tickstock.multichannel.flags import FeatureFlagConfig, check_percentage

PHASE_DEFINITIONS: dict[str, dict[str, Any]] = {
    "phase_0_installation": {
        "description": "Install integration layer, all flags disabled",
        "flags": {"multichannel_system_enabled": False, "integration_layer_enabled": True},
        "duration_hours": 24,
        "success_criteria": "No performance impact, system stable",
    },
    "phase_1_parallel_testing": {
        "description": "Enable parallel processing for comparison",
        "flags": {"parallel_processing_enabled": True, "performance_comparison_enabled": True},
        "duration_hours": 72,
        "success_criteria": "Channel performance within 5% of legacy",
    },
    "phase_2_limited_rollout": {
        "description": "1% rollout to low-volume tickers",
        "flags": {
            "multichannel_system_enabled": True,
            "tick_channel_enabled": True,
            "rollout_percentage": 1,
        },
        "duration_hours": 168,  # 1 week
        "success_criteria": "Error rate <1%, no event detection degradation",
    },
    "phase_3_gradual_expansion": {
        "description": "Expand to 10% rollout",
        "flags": {"rollout_percentage": 10},
        "duration_hours": 168,  # 1 week
        "success_criteria": "Performance equal or better than legacy",
    },
    "phase_4_full_rollout": {
        "description": "Enable for all traffic",
        "flags": {"rollout_percentage": 100},
        "duration_hours": -1,  # Permanent
        "success_criteria": "System stability, performance improvement",
    },
}

PHASES: tuple[str, ...] = tuple(PHASE_DEFINITIONS)

#: (phase name, its definition) → whether the phase met its success criteria.
SuccessValidator = Callable[[str, Mapping[str, Any]], bool]


def check_phase(phase: str) -> str:
    if phase not in PHASE_DEFINITIONS:
        raise RolloutError(f"unknown rollout phase {phase!r} (known: {', '.join(PHASES)})")
    return phase


def flags_for_phase(phase: str, base: FeatureFlagConfig | None = None) -> FeatureFlagConfig:
    """The cumulative flags of `phase`: every phase up to and including it, applied in order."""
    check_phase(phase)
    flags = base.copy() if base is not None else FeatureFlagConfig()
    for name in PHASES:
        flags.apply(PHASE_DEFINITIONS[name]["flags"])
        if name == phase:
            break
    return flags


@dataclass(frozen=True, slots=True)
class PhaseTransition:
    """One advance attempt and its outcome, with the reason."""

    from_phase: str
    to_phase: str | None
    advanced: bool
    reason: str


class RolloutPhaseManager:
    """Manages gradual rollout phases."""

    PHASE_DEFINITIONS = PHASE_DEFINITIONS

    def __init__(
        self,
        validator: SuccessValidator | None = None,
        on_apply: Callable[[str, FeatureFlagConfig], None] | None = None,
        current_phase: str = "phase_0_installation",
    ) -> None:
        self.validator = validator
        self.on_apply = on_apply
        self.current_phase = check_phase(current_phase)
        self.flags = flags_for_phase(current_phase)
        self.history: list[PhaseTransition] = []

    def advance_to_next_phase(
        self, current_phase: str, validator: SuccessValidator | None = None
    ) -> bool:
        """Advance rollout to next phase if criteria met."""
        check_phase(current_phase)
        next_phase = self._get_next_phase(current_phase)
        if next_phase is None:
            self.history.append(PhaseTransition(current_phase, None, False, "already final phase"))
            return False
        ok, reason = self._validate_phase_success_criteria(current_phase, validator)
        if ok:
            self._apply_phase_configuration(next_phase)
        self.history.append(PhaseTransition(current_phase, next_phase, ok, reason))
        return ok

    def _validate_phase_success_criteria(
        self, phase: str, validator: SuccessValidator | None
    ) -> tuple[bool, str]:
        check = validator or self.validator
        criteria = PHASE_DEFINITIONS[phase]["success_criteria"]
        if check is None:
            return False, f"no success-criteria validator for {phase!r} ({criteria})"
        if check(phase, PHASE_DEFINITIONS[phase]):
            return True, f"criteria met: {criteria}"
        return False, f"criteria not met: {criteria}"

    @staticmethod
    def _get_next_phase(phase: str) -> str | None:
        index = PHASES.index(phase)
        return PHASES[index + 1] if index + 1 < len(PHASES) else None

    def _apply_phase_configuration(self, phase: str) -> None:
        self.current_phase = phase
        self.flags = flags_for_phase(phase)
        if self.on_apply is not None:
            self.on_apply(phase, self.flags)


class RolloutTarget(Protocol):
    """What a rollout manager steers (MarketDataServiceIntegrator)."""

    def apply_feature_flags(self, flags: FeatureFlagConfig) -> None: ...

    @property
    def flags(self) -> FeatureFlagConfig: ...


class TickerSelector(Protocol):
    def select_rollout_tickers(self, percentage: int) -> list[str]: ...


class GradualRolloutManager:
    """Sets the rollout percentage on an integrator (and its ticker list when a selector is given)."""

    def __init__(self, integrator: RolloutTarget, selector: TickerSelector | None = None) -> None:
        self.integrator = integrator
        self.selector = selector

    def set_rollout_percentage(self, percentage: int) -> FeatureFlagConfig:
        """Enable multi-channel for `percentage` % of tickers (0 switches it off)."""
        check_percentage(percentage)
        selected = (
            self.selector.select_rollout_tickers(percentage)
            if self.selector is not None and 0 < percentage < 100
            else None
        )
        flags = self.integrator.flags.copy()
        flags.apply(
            {
                "rollout_percentage": percentage,
                "multichannel_system_enabled": percentage > 0,
                "tick_channel_enabled": percentage > 0,
                "integration_layer_enabled": True,
                "rollout_tickers": selected or [],
            }
        )
        self.integrator.apply_feature_flags(flags)
        if hasattr(self.integrator, "rollout_scope"):
            # a selection (even an empty one) is exact; no selection means the hash bucket
            scope = frozenset(selected) if selected is not None else None
            setattr(self.integrator, "rollout_scope", scope)  # noqa: B010
        return flags
