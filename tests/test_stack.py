"""load_stack, FakeStack defects and typed --set parsing."""

import pytest
from tickgen import make_ticks

from harness.core.errors import ConfigError
from harness.replay.stack import FakeStack, load_stack
from harness.replay.stack_config import parse_sets, parse_value, stack_configs


def test_load_stack_builds_the_fake_from_its_spec_and_config():
    stack = load_stack("harness.replay.stack:fake", {"name": "f1", "seed": 3})
    assert stack.name == "f1"
    assert isinstance(stack, FakeStack)


@pytest.mark.parametrize(
    "spec",
    ["no_colon", "harness.replay.stack:", "no.such.module:fn", "harness.replay.stack:nothing_here"],
    ids=["no-colon", "no-function", "missing-module", "missing-attr"],
)
def test_bad_stack_specs_are_config_errors(spec):
    with pytest.raises(ConfigError):
        load_stack(spec, {})


def test_fake_stack_rejects_unknown_and_mistyped_knobs():
    with pytest.raises(ConfigError, match="unknown config keys"):
        FakeStack({"drop": 0.1})
    with pytest.raises(ConfigError, match="drop_rate must be float"):
        FakeStack({"drop_rate": "lots"})


def test_fake_stack_is_deterministic_and_emits_highs_lows_and_surges():
    def run():
        s = FakeStack({})
        return [e for t in make_ticks(3000) for e in s.process(t)]

    a, b = run(), run()
    assert a == b
    assert {e["type"] for e in a} == {"high", "low", "surge"}
    assert all(e["tick_seq"] >= 0 and e["ticker"].startswith("T") for e in a)


def test_fake_stack_skips_are_visible_in_its_ticks_processed():
    s = FakeStack({"skip_rate": 0.5, "seed": 1})
    for t in make_ticks(200):
        s.process(t)
    st = s.stats()
    assert st["ticks"] == 200
    assert st["ticks_processed"] == 200 - st["skipped"]
    assert 60 < st["skipped"] < 140


def test_null_stack_counts_every_tick_finds_nothing_and_takes_no_config():
    stack = load_stack("harness.replay.stack:null")
    ticks = make_ticks(250)
    assert [stack.process(t) for t in ticks] == [[]] * 250
    assert stack.flush() == []
    assert stack.stats() == {"ticks": 250, "ticks_processed": 250}
    assert load_stack("harness.replay.stack:null", {"name": "b"}).name == "b"
    with pytest.raises(ConfigError, match="null stack: the only config key is 'name'"):
        load_stack("harness.replay.stack:null", {"seed": 1})


def test_set_values_are_typed_like_toml_scalars():
    assert parse_value("3") == 3
    assert parse_value("2.5") == 2.5
    assert parse_value("true") is True
    assert parse_value('"123"') == "123"
    assert parse_value("[1, 2]") == [1, 2]
    assert parse_value("phase_1_parallel_testing") == "phase_1_parallel_testing"


def test_set_keys_split_by_side_and_nest_on_dots():
    out = parse_sets(["candidate.phase=phase_2", "primary.a.b=1", "candidate.rate=0.5"])
    assert out == {"primary": {"a": {"b": 1}}, "candidate": {"phase": "phase_2", "rate": 0.5}}


def test_set_key_without_a_side_is_rejected():
    with pytest.raises(ConfigError, match="primary"):
        parse_sets(["phase=x"])


def test_toml_stack_config_is_overridden_by_set(tmp_path):
    f = tmp_path / "stacks.toml"
    f.write_text('[primary]\nseed = 1\n[candidate]\nphase = "phase_0"\nseed = 2\n')
    cfg = stack_configs(["candidate.seed=9"], f)
    assert cfg == {"primary": {"seed": 1}, "candidate": {"phase": "phase_0", "seed": 9}}
    (tmp_path / "bad.toml").write_text("[other]\nx=1\n")
    with pytest.raises(ConfigError, match="unknown tables"):
        stack_configs([], tmp_path / "bad.toml")
