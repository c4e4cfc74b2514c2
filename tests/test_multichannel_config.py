"""Channel configuration files, the seed's global merge, and the detector view it produces."""

from __future__ import annotations

import json

import pytest

from tickstock.legacy.config import ConfigManager
from tickstock.multichannel.config import (
    PERIODS,
    ChannelConfigurationManager,
    ChannelType,
    parse_channel_config,
)
from tickstock.multichannel.errors import ChannelConfigError


def test_default_tick_merges_highlow_and_midday_surge_keys_from_the_global_config():
    glob = ConfigManager(
        {
            "HIGHLOW_MIN_PRICE_CHANGE": 0.02,
            "HIGHLOW_MIN_PERCENT_CHANGE": 0.25,
            "HIGHLOW_COOLDOWN_SECONDS": 3.0,
            "SURGE_THRESHOLD_MULTIPLIER_MIDDAY": 0.7,
            "SURGE_VOLUME_THRESHOLD_MIDDAY": 2.2,
            "SURGE_MIN_DATA_POINTS_MIDDAY": 6,
            "SURGE_THRESHOLD_MULTIPLIER_OPENING": 9.9,
        }
    )
    cfg = ChannelConfigurationManager(glob).load_configuration("default_tick", ChannelType.TICK)
    assert cfg.highlow_detection["min_price_change"] == 0.02
    assert cfg.highlow_detection["min_percent_change"] == 0.25
    assert cfg.highlow_detection["cooldown_seconds"] == 3.0
    assert cfg.surge_detection["threshold_multiplier"] == 0.7
    assert cfg.surge_detection["volume_threshold"] == 2.2
    assert cfg.surge_detection["min_data_points"] == 6
    # not merged by the seed: comes from the channel file
    assert cfg.surge_detection["interval_seconds"] == 20
    assert cfg.trend_detection["direction_threshold"] == 0.025


def test_the_midday_surge_value_applies_to_every_period_of_the_day():
    glob = ConfigManager({"SURGE_THRESHOLD_MULTIPLIER_MIDDAY": 0.7})
    view = (
        ChannelConfigurationManager(glob)
        .load_configuration("default_tick", ChannelType.TICK)
        .detector_config()
    )
    for period in PERIODS:
        assert view.get(f"SURGE_THRESHOLD_MULTIPLIER_{period}", 1.0) == 0.7
        assert view.get(f"TREND_DIRECTION_THRESHOLD_{period}", 0.3) == 0.025


def test_keys_the_channel_does_not_set_answer_the_detectors_code_default():
    view = (
        ChannelConfigurationManager(ConfigManager())
        .load_configuration("default_tick", ChannelType.TICK)
        .detector_config()
    )
    assert view.get("SURGE_COOLDOWN_MULTIPLIER_MARKET", 1.0) == 1.0
    assert view.get("TREND_DIRECTION_THRESHOLD_PENNY", None) is None
    assert view.get("TREND_DIRECTION_THRESHOLD", 0.3) == 0.3
    assert view.get("HIGHLOW_MIN_PERCENT_CHANGE", 99) == 0.1


def test_constructed_without_a_global_config_it_uses_the_legacy_defaults():
    cfg = ChannelConfigurationManager().load_configuration("default_tick", ChannelType.TICK)
    assert cfg.surge_detection["volume_threshold"] == ConfigManager().get(
        "SURGE_VOLUME_THRESHOLD_MIDDAY"
    )


def test_a_missing_global_key_is_an_error_naming_the_key():
    with pytest.raises(ChannelConfigError, match="HIGHLOW_MIN_PERCENT_CHANGE"):
        ChannelConfigurationManager({"HIGHLOW_MIN_PRICE_CHANGE": 0.01}).load_configuration(
            "default_tick", ChannelType.TICK
        )


def test_an_unknown_channel_file_names_the_path(tmp_path):
    with pytest.raises(ChannelConfigError, match="nope.json"):
        ChannelConfigurationManager(ConfigManager(), tmp_path).load_configuration(
            "nope", ChannelType.TICK
        )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"name": "x", "colour": "red"}, "unknown key"),
        ({"name": "x", "surge_detection": {"threshold": 1}}, "surge_detection"),
        ({"name": "x", "trend_detection": {"direction_threshold": "high"}}, "must be a number"),
        ({"name": "x", "channel_type": "video"}, "channel_type"),
        ({"name": "", "enabled": True}, "name"),
        ({"name": "x", "stock_data_refresh": "sometimes"}, "stock_data_refresh"),
    ],
    ids=[
        "unknown-top-key",
        "unknown-param",
        "non-numeric",
        "bad-type",
        "empty-name",
        "bad-refresh",
    ],
)
def test_bad_channel_files_are_rejected_with_the_offending_key(raw, message):
    with pytest.raises(ChannelConfigError, match=message):
        parse_channel_config(raw)


def test_a_channel_file_of_another_type_is_refused(tmp_path):
    (tmp_path / "bars.json").write_text(json.dumps({"name": "bars", "channel_type": "ohlcv"}))
    with pytest.raises(ChannelConfigError, match="ohlcv"):
        ChannelConfigurationManager(ConfigManager(), tmp_path).load_configuration(
            "bars", ChannelType.TICK
        )


def test_outside_midday_the_channel_answers_other_values_than_the_legacy_profile():
    legacy = ConfigManager()
    view = (
        ChannelConfigurationManager(legacy)
        .load_configuration("default_tick", ChannelType.TICK)
        .detector_config()
    )
    assert view.get("SURGE_THRESHOLD_MULTIPLIER_OPENING") == 0.4
    assert legacy.get("SURGE_THRESHOLD_MULTIPLIER_OPENING") == 0.7
    assert view.get("SURGE_INTERVAL_SECONDS_CLOSING") == 20
    assert legacy.get("SURGE_INTERVAL_SECONDS_CLOSING") == 2
    # MIDDAY agrees: that is where the seed took the values from
    for key in ("SURGE_THRESHOLD_MULTIPLIER", "SURGE_VOLUME_THRESHOLD", "SURGE_MIN_DATA_POINTS"):
        assert view.get(f"{key}_MIDDAY") == legacy.get(f"{key}_MIDDAY")
