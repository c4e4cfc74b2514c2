"""Replay pacing (afap / realtime / speed=N) and --from/--to parsing."""

import pytest
from tickgen import T0, make_ticks

from harness.core.errors import ConfigError
from harness.replay.sources import Pace, paced, parse_time


class FakeClock:
    def __init__(self):
        self.now = 0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, s):
        self.sleeps.append(s)
        self.now += int(s * 1e9)


@pytest.mark.parametrize(
    "text,speed,label",
    [("afap", 0.0, "afap"), ("realtime", 1.0, "realtime"), ("speed=10", 10.0, "speed=10")],
)
def test_modes_parse_to_speeds(text, speed, label):
    pace = Pace.parse(text)
    assert pace.speed == speed and pace.label == label


@pytest.mark.parametrize("bad", ["fast", "speed=0", "speed=x", "speed=-2"])
def test_bad_modes_are_config_errors(bad):
    with pytest.raises(ConfigError):
        Pace.parse(bad)


def test_realtime_pacing_follows_tick_time_and_speed_divides_it():
    ticks = list(make_ticks(5))  # 10 ms apart
    for speed, gap in ((1.0, 0.010), (10.0, 0.001)):
        fake = FakeClock()
        out = list(paced(ticks, Pace(speed), fake.sleep, fake.clock))
        assert out == ticks
        assert fake.sleeps == pytest.approx([gap] * 4)
        assert fake.now == pytest.approx(4 * gap * 1e9)


def test_afap_never_sleeps():
    fake = FakeClock()
    assert len(list(paced(make_ticks(100), Pace(0.0), fake.sleep, fake.clock))) == 100
    assert fake.sleeps == []


def test_from_and_to_accept_iso_and_nanoseconds():
    assert parse_time("2024-06-21T13:30:00Z", "--from") == T0
    assert parse_time("2024-06-21T13:30:00", "--from") == T0
    assert parse_time(str(T0), "--from") == T0
    assert parse_time(None, "--from") is None
    with pytest.raises(ConfigError, match="--to"):
        parse_time("yesterday", "--to")
