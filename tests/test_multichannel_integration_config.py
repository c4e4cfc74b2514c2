"""IntegrationConfig defaults and each environment override, typed and with clear errors."""

from __future__ import annotations

import pytest

from tickstock.multichannel.errors import EnvironmentOverrideError
from tickstock.multichannel.integration_config import (
    CHANNEL_CONFIG_OVERRIDES,
    IntegrationConfig,
    apply_environment_overrides,
    set_nested_config_value,
)


def test_defaults_are_the_seeds():
    cfg = IntegrationConfig()
    assert (cfg.enable_multi_channel, cfg.fallback_to_legacy, cfg.channel_timeout_ms) == (
        False,
        True,
        100.0,
    )
    assert set(CHANNEL_CONFIG_OVERRIDES) == {
        "ENABLE_MULTICHANNEL",
        "CHANNEL_TIMEOUT_MS",
        "FALLBACK_TO_LEGACY",
        "TICK_CHANNEL_ENABLED",
        "HIGHLOW_DETECTION_ENABLED",
    }


@pytest.mark.parametrize(
    ("var", "raw", "read", "expected"),
    [
        ("ENABLE_MULTICHANNEL", "true", lambda c: c.enable_multi_channel, True),
        ("CHANNEL_TIMEOUT_MS", "250.5", lambda c: c.channel_timeout_ms, 250.5),
        ("FALLBACK_TO_LEGACY", "0", lambda c: c.fallback_to_legacy, False),
        ("TICK_CHANNEL_ENABLED", "off", lambda c: c.tick_channel.enabled, False),
        (
            "HIGHLOW_DETECTION_ENABLED",
            "no",
            lambda c: c.tick_channel.highlow_detection["enabled"],
            False,
        ),
    ],
    ids=["enable", "timeout", "fallback", "tick-channel", "highlow"],
)
def test_each_environment_override_sets_its_typed_value(var, raw, read, expected):
    cfg = IntegrationConfig()
    applied = apply_environment_overrides(cfg, {var: raw})
    assert read(cfg) == expected
    assert applied == {var: expected}


def test_unset_and_empty_variables_change_nothing():
    cfg = IntegrationConfig()
    assert apply_environment_overrides(cfg, {"ENABLE_MULTICHANNEL": ""}) == {}
    assert cfg == IntegrationConfig()


@pytest.mark.parametrize(
    ("var", "raw"),
    [
        ("ENABLE_MULTICHANNEL", "maybe"),
        ("CHANNEL_TIMEOUT_MS", "fast"),
        ("CHANNEL_TIMEOUT_MS", "-5"),
        ("TICK_CHANNEL_ENABLED", "2"),
    ],
)
def test_a_bad_value_is_an_error_naming_the_variable(var, raw):
    with pytest.raises(EnvironmentOverrideError, match=var):
        apply_environment_overrides(IntegrationConfig(), {var: raw})


def test_an_unknown_path_is_an_error():
    with pytest.raises(EnvironmentOverrideError, match="no setting"):
        set_nested_config_value(IntegrationConfig(), "tick_channel.colour", "red")
