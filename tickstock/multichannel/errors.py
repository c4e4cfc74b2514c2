"""Errors of the multi-channel stack: bad channel files, bad environment overrides, bad phases.

MultichannelError (ValueError)
├── ChannelConfigError       unreadable/unknown channel file, unknown key, missing global key
├── EnvironmentOverrideError an environment variable whose value does not convert
├── RolloutError             unknown phase or flag, bad rollout percentage
└── ConditionError           an alert condition the safe parser rejects
"""

from __future__ import annotations


class MultichannelError(ValueError):
    """Base class: a configuration the multi-channel stack refuses, with a message naming it."""


class ChannelConfigError(MultichannelError):
    """A channel configuration file or merged global key that cannot be used."""


class EnvironmentOverrideError(MultichannelError):
    """An environment override whose value cannot be converted to the target's type."""


class RolloutError(MultichannelError):
    """An unknown rollout phase or feature flag, or an out-of-range rollout percentage."""


class ConditionError(MultichannelError):
    """An alert-rule condition outside the small `source.metric OP number` grammar."""
