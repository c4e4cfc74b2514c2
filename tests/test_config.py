"""ConfigManager: Profile 2 defaults, typed overrides from file/environment/mapping, clear errors."""

from __future__ import annotations

import json

import pytest

from tickstock.legacy.config import DEFAULTS, ConfigError, ConfigManager


def test_profile_2_midday_values_match_the_seed() -> None:
    cfg = ConfigManager()
    assert cfg.get("SURGE_THRESHOLD_MULTIPLIER_MIDDAY") == 0.4
    assert cfg.get("TREND_DIRECTION_THRESHOLD_MIDDAY") == 0.025
    assert cfg.get("SURGE_INTERVAL_SECONDS_MIDDAY") == 20.0
    assert cfg.get("SURGE_MIN_DATA_POINTS_MIDDAY") == 8
    assert cfg.get("SURGE_COOLDOWN_MULTIPLIER_MARKET") == 2.0
    assert cfg.get("SURGE_DETECTION_MODE_MIDDAY") == "STRICT"
    assert cfg.get("SURGE_PRICE_BAND_MID_DOLLAR") == 1.5
    assert cfg.get("TREND_DIRECTION_THRESHOLD_MID") == 0.015
    assert cfg.get("HIGHLOW_MIN_PERCENT_CHANGE") == 0.1
    assert cfg.get("SURGE_THRESHOLD_HIGH") == "2.5,1.50"
    assert cfg.get("UPDATE_INTERVAL") == 0.5


def test_every_period_has_every_trend_and_surge_key() -> None:
    for period in ("PREMARKET", "OPENING", "MIDDAY", "CLOSING", "AFTERHOURS"):
        for stem in (
            "TREND_DIRECTION_THRESHOLD",
            "TREND_WARMUP_PERIOD_SECONDS",
            "SURGE_VOLUME_THRESHOLD",
            "SURGE_PRICE_THRESHOLD_PERCENT",
        ):
            assert f"{stem}_{period}" in DEFAULTS


def test_unknown_key_without_default_names_the_key() -> None:
    with pytest.raises(ConfigError, match="NOT_A_KEY"):
        ConfigManager().get("NOT_A_KEY")


def test_optional_key_with_default_returns_the_default() -> None:
    cfg = ConfigManager()
    assert cfg.get("SURGE_DETECTION_MODE_OPENING", None) is None
    assert cfg.get("SURGE_DETECTION_MODE_MIDDAY", "OR") == "STRICT"


def test_override_of_unknown_key_is_rejected() -> None:
    with pytest.raises(ConfigError, match="SURGE_TRESHOLD_TYPO"):
        ConfigManager({"SURGE_TRESHOLD_TYPO": 1.0})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("SURGE_MIN_DATA_POINTS", 2.5),
        ("SURGE_MIN_DATA_POINTS", True),
        ("HIGHLOW_MARKET_AWARE", 1),
        ("UPDATE_INTERVAL", "fast"),
        ("UPDATE_INTERVAL", float("nan")),
        ("SURGE_DETECTION_MODE", 3),
        ("CORE_UNIVERSE", "AAPL"),
    ],
    ids=[
        "float-for-int",
        "bool-for-int",
        "int-for-bool",
        "str-for-float",
        "nan",
        "int-for-str",
        "str-for-list",
    ],
)
def test_value_of_the_wrong_type_is_rejected_with_the_key(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=key):
        ConfigManager({key: value})


def test_int_is_accepted_for_a_float_key() -> None:
    cfg = ConfigManager({"UPDATE_INTERVAL": 2})
    assert cfg.get("UPDATE_INTERVAL") == 2.0
    assert isinstance(cfg.get("UPDATE_INTERVAL"), float)


def test_environment_strings_are_converted_and_only_prefixed_names_count() -> None:
    env = {
        "TICKSTOCK_SURGE_MIN_DATA_POINTS": "5",
        "TICKSTOCK_HIGHLOW_MARKET_AWARE": "false",
        "TICKSTOCK_CORE_UNIVERSE": "AAPL, MSFT",
        "TICKSTOCK_EMISSION_INTERVAL": "0.25",
        "UPDATE_INTERVAL": "9",
    }
    cfg = ConfigManager(environ=env)
    assert cfg.get("SURGE_MIN_DATA_POINTS") == 5
    assert cfg.get("HIGHLOW_MARKET_AWARE") is False
    assert cfg.get("CORE_UNIVERSE") == ("AAPL", "MSFT")
    assert cfg.get("EMISSION_INTERVAL") == 0.25
    assert cfg.get("UPDATE_INTERVAL") == 0.5


def test_bad_environment_value_names_key_and_source() -> None:
    with pytest.raises(ConfigError, match=r"SURGE_MIN_DATA_POINTS.*environment"):
        ConfigManager(environ={"TICKSTOCK_SURGE_MIN_DATA_POINTS": "many"})


def test_file_then_environment_then_overrides_later_wins(tmp_path) -> None:
    path = tmp_path / "tick.toml"
    path.write_text(
        'UPDATE_INTERVAL = 0.75\nEMISSION_INTERVAL = 3.0\nSURGE_DETECTION_MODE = "STRICT"\n'
    )
    cfg = ConfigManager(
        {"EMISSION_INTERVAL": 4.0},
        path=path,
        environ={"TICKSTOCK_UPDATE_INTERVAL": "0.6", "TICKSTOCK_EMISSION_INTERVAL": "5"},
    )
    assert cfg.get("UPDATE_INTERVAL") == 0.6
    assert cfg.get("EMISSION_INTERVAL") == 4.0
    assert cfg.get("SURGE_DETECTION_MODE") == "STRICT"
    assert cfg.overrides() == {
        "UPDATE_INTERVAL": 0.6,
        "EMISSION_INTERVAL": 4.0,
        "SURGE_DETECTION_MODE": "STRICT",
    }


def test_json_file_with_wrong_type_names_the_file(tmp_path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"MAX_QUEUE_SIZE": "big"}))
    with pytest.raises(ConfigError, match=r"MAX_QUEUE_SIZE.*c\.json"):
        ConfigManager(path=path)


def test_unreadable_or_malformed_file_is_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        ConfigManager(path=tmp_path / "missing.json")
    bad = tmp_path / "bad.toml"
    bad.write_text("UPDATE_INTERVAL = = 1")
    with pytest.raises(ConfigError, match="not valid toml"):
        ConfigManager(path=bad)


def test_as_dict_is_json_serialisable() -> None:
    assert json.loads(json.dumps(ConfigManager().as_dict()))["MARKET_OPEN_PRIORITY_TICKERS"] == [
        "SPY",
        "QQQ",
        "IWM",
        "DIA",
    ]
