"""Stack configuration from `--set side.key=value` options and TOML files, parsed once and typed.

    >>> parse_sets(["candidate.phase=phase_1_parallel_testing", "primary.seed=7"])
    {'primary': {'seed': 7}, 'candidate': {'phase': 'phase_1_parallel_testing'}}

Values are typed like TOML scalars: integers, floats, true/false, JSON lists/objects, else strings
(quote a value to force a string: `candidate.name="123"`). Dotted keys after the side nest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from harness.core.config import ConfigModel, read_toml
from harness.core.errors import ConfigError
from harness.core.model import SIDES


def parse_value(text: str) -> Any:
    """Type a `--set` value: int, float, bool, JSON list/object/string, else the raw string."""
    s = text.strip()
    low = s.lower()
    if low in ("true", "false"):
        return low == "true"
    if s[:1] in '[{"':
        try:
            return json.loads(s)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--set value {text!r} is not valid JSON: {exc}") from exc
    try:
        return int(s.replace("_", "")) if s.lstrip("+-").replace("_", "").isdigit() else float(s)
    except ValueError:
        return text


def _put(target: dict[str, Any], dotted: str, value: Any, origin: str) -> None:
    parts = dotted.split(".")
    if any(not p for p in parts):
        raise ConfigError(f"{origin}: empty key segment in {dotted!r}")
    node = target
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{origin}: {dotted!r} nests under non-table {part!r}")
        node = child
    node[parts[-1]] = value


def parse_sets(items: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Parse `side.key=value` strings into `{"primary": {...}, "candidate": {...}}`."""
    out: dict[str, dict[str, Any]] = {side: {} for side in SIDES}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set {item!r} must look like side.key=value")
        side, dot, rest = key.partition(".")
        if side not in SIDES or not dot or not rest:
            raise ConfigError(f"--set {item!r}: key must start with 'primary.' or 'candidate.'")
        _put(out[side], rest, parse_value(raw), f"--set {item!r}")
    return out


def load_toml(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read a TOML file with optional `[primary]` and `[candidate]` tables (nothing else)."""
    tables = StackConfigFile.parse(read_toml(path, "stack config"), f"stack config {path}")
    return {"primary": dict(tables.primary), "candidate": dict(tables.candidate)}


class StackConfigFile(ConfigModel):
    """A stack config TOML: `[primary]` and `[candidate]` tables, each handed to its factory
    (which checks its own keys), and nothing else."""

    unknown: ClassVar[Callable[[Iterable[str], Iterable[str]], str]] = staticmethod(
        lambda keys, allowed: f"unknown tables {sorted(keys)}; expected [primary]/[candidate]"
    )

    primary: dict[str, Any] = {}
    candidate: dict[str, Any] = {}


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge `override` into a copy of `base` (tables merge, scalars replace)."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def stack_configs(
    sets: Iterable[str] = (), toml_path: str | Path | None = None
) -> dict[str, dict[str, Any]]:
    """Primary and candidate configs: the TOML file first, `--set` options override it."""
    base = load_toml(toml_path) if toml_path else {side: {} for side in SIDES}
    over = parse_sets(sets)
    return {side: merge(base[side], over[side]) for side in SIDES}
