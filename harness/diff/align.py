"""Event alignment: the diff config (key, ignored fields, tolerances) and the DuckDB join pairing events.

Primary and candidate events are paired on the key — by default (ticker, type, direction,
tick_seq) plus the occurrence number of that key, so repeated keys pair in emission order — with
an optional ±k `tick_seq` tolerance for the leftovers (design.md §6). Everything is SQL over the
`events_primary` / `events_candidate` views; no Python loop touches events::

    cfg = DiffConfig.load("diff.toml")       # or DiffConfig() for the TickStock defaults
    align(con, cfg)                          # → temp table _pairs
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, ClassVar

import duckdb

from harness.core.config import ConfigModel, checked, read_toml
from harness.core.errors import ConfigError
from harness.core.sqlfiles import statement

STORED = ("ticker", "type", "direction", "tick_seq")
DEFAULT_KEY = ("ticker", "type", "direction", "tick_seq")
#: Wall-clock or id fields of TickStock transport dicts (tickstock-reference.md, events).
DEFAULT_IGNORE = ("event_id", "surge_age")
_FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass(frozen=True, slots=True)
class Tolerance:
    """Numbers match when |p − c| ≤ abs or |p − c| ≤ rel · max(|p|, |c|)."""

    abs: float = 0.0
    rel: float = 0.0


@dataclass(frozen=True, slots=True)
class DiffConfig:
    """How events are keyed, which fields are ignored and how close numbers must be."""

    key: tuple[str, ...] = DEFAULT_KEY
    tick_seq_tolerance: int = 0
    ignore: tuple[str, ...] = DEFAULT_IGNORE
    default_tolerance: Tolerance = Tolerance(abs=1e-9, rel=1e-9)
    tolerances: Mapping[str, Tolerance] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in (*self.key, *self.ignore, *self.tolerances):
            if not _FIELD_RE.match(name):
                raise ConfigError(f"diff config: bad field name {name!r}")
        if not self.key:
            raise ConfigError("diff config: key must name at least one field")
        if self.tick_seq_tolerance < 0:
            raise ConfigError("diff config: tick_seq_tolerance must be ≥ 0")

    def with_ignored(self, extra: Iterable[str]) -> DiffConfig:
        """This config plus fields the stacks declared ignorable (stats()['ignorable_fields'])."""
        names = [n for n in extra if isinstance(n, str) and _FIELD_RE.match(n)]
        return replace(self, ignore=tuple(dict.fromkeys((*self.ignore, *names))))

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": {"fields": list(self.key), "tick_seq_tolerance": self.tick_seq_tolerance},
            "ignore": {"fields": list(self.ignore)},
            "tolerance": {
                "default": {"abs": self.default_tolerance.abs, "rel": self.default_tolerance.rel},
                "fields": {k: {"abs": t.abs, "rel": t.rel} for k, t in self.tolerances.items()},
            },
        }

    @classmethod
    def load(cls, path: str | Path | None) -> DiffConfig:
        """Parse a TOML diff config; missing sections keep the defaults, unknown keys are errors."""
        if path is None:
            return cls()
        return cls.from_dict(read_toml(path, "diff config"), str(path))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], origin: str = "diff config") -> DiffConfig:
        f = _DiffFile.parse(data, origin)
        key = _KeySection.parse(f.key, f"{origin} [key]")
        ign = _IgnoreSection.parse(f.ignore, f"{origin} [ignore]")
        tol = _ToleranceSection.parse(f.tolerance, f"{origin} [tolerance]")
        return cls(
            key=key.fields,
            tick_seq_tolerance=key.tick_seq_tolerance,
            ignore=ign.fields,
            default_tolerance=_tolerance(tol.default, origin),
            tolerances={k: _tolerance(v, origin) for k, v in tol.fields.items()},
        )


class _Section(ConfigModel):
    """A table of the diff config file; unknown keys are worded as the diff config always did."""

    unknown: ClassVar[Callable[[Iterable[str], Iterable[str]], str]] = staticmethod(
        lambda keys, allowed: f"unknown keys {sorted(keys)}; allowed {sorted(allowed)}"
    )


class _DiffFile(_Section):
    key: dict[str, Any] = {}
    ignore: dict[str, Any] = {}
    tolerance: dict[str, Any] = {}


class _KeySection(_Section):
    fields: tuple[str, ...] = DEFAULT_KEY
    tick_seq_tolerance: int = 0


class _IgnoreSection(_Section):
    fields: tuple[str, ...] = DEFAULT_IGNORE


class _ToleranceSection(_Section):
    default: Any = {"abs": 1e-9, "rel": 1e-9}
    fields: dict[str, Any] = {}


def _number(key: str) -> Any:
    def check(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueError(f"tolerance {key} = {v!r}: expected a number")
        if v < 0:
            raise ValueError("tolerances must be ≥ 0")
        return float(v)

    return checked(check)


class _ToleranceTable(_Section):
    unknown: ClassVar[Callable[[Iterable[str], Iterable[str]], str]] = staticmethod(
        lambda keys, allowed: f"tolerance: unknown keys {sorted(keys)}; allowed {sorted(allowed)}"
    )

    abs: Annotated[float, _number("abs")] = 0.0
    rel: Annotated[float, _number("rel")] = 0.0


def _tolerance(value: Any, origin: str) -> Tolerance:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{origin}: a tolerance must be a table like {{abs = 0.01, rel = 0}}")
    t = _ToleranceTable.parse(value, origin)
    return Tolerance(abs=t.abs, rel=t.rel)


def ignore_patch(ignore: Iterable[str]) -> str | None:
    """A JSON merge patch that deletes the ignored (possibly dotted) fields, or None."""
    patch: dict[str, Any] = {}
    for name in ignore:
        node = patch
        parts = name.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = None
    return json.dumps(patch) if patch else None


def _key_sql(name: str) -> str:
    return name if name in STORED else f"json_extract_string(event_json, '$.{name}')"


EID = "(shard::bigint << 40) + emit_pos"  # unique per event and stack, no sort needed


def align(con: duckdb.DuckDBPyConnection, cfg: DiffConfig) -> None:
    """Create temp table `_pairs` (one row per paired or unpaired event) from the event views.

    Windows and joins run on narrow key columns only; the JSON is joined back afterwards by
    eid (harness/diff/classify.py), because a window operator materialises every column it is given.
    """
    key = list(cfg.key)
    parts = ", ".join(f"k_{i}" for i in range(len(key)))
    for side, view in (("p", "events_primary"), ("c", "events_candidate")):
        keys = ", ".join(f"{_key_sql(k)} as k_{i}" for i, k in enumerate(key))
        con.execute(_sql("side_keys", side=side, view=view, eid=EID, keys=keys, parts=parts))
    on = " and ".join(f"p.k_{i} is not distinct from c.k_{i}" for i in range(len(key)))
    con.execute(_sql("exact", on=on))
    pairs = _sql("exact_pairs")
    if cfg.tick_seq_tolerance:
        loose = [k for k in key if k != "tick_seq"]
        on_loose = (
            " and ".join(
                f"p.k_{key.index(k)} is not distinct from c.k_{key.index(k)}" for k in loose
            )
            or "true"
        )
        con.execute(_sql("near", on_loose=on_loose, tolerance=int(cfg.tick_seq_tolerance)))
        pairs = _sql("near_pairs")
    con.execute(_sql("pairs", pairs=pairs))


def _sql(name: str, **params: object) -> str:
    return statement("harness.diff", "align", name, **params)
