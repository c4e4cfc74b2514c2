"""Accepted differences: TOML rules that mark known diff rows with the id of the rule accepting them.

Ignored is not matched: an accepted row stays in the diff with `accepted_by = <rule id>`; gates
count only rows no active rule accepts. Every rule carries id, reason, owner and an expiry date;
an expired rule stops applying (and is listed as expired, so the report says why rows came back).

    [[rule]]
    id = "KD-001"
    reason = "multi-channel trend detector uses a 180 s window"   # docs/known-divergences.md
    owner = "tickstock-rollout"
    expires = 2027-03-31
    type = "trend"                    # optional matchers; lists and globs (*, ?) allowed
    ticker = ["AAPL", "BRK.*"]
    class = ["field_mismatch"]
    field = ["price", "*_vwap"]       # every differing field of the row must match one
    between = ["09:30", "09:45"]      # US/Eastern time of day of the causing tick
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ConfigError

DIFF_CLASSES = ("field_mismatch", "missing", "extra", "order")
_REQUIRED = ("id", "reason", "owner", "expires")
_MATCHERS = ("ticker", "type", "class", "field", "between")
_KEYS = frozenset(_REQUIRED + _MATCHERS)


@dataclass(frozen=True, slots=True)
class AcceptRule:
    """One accepted-difference rule; empty matcher tuples match everything."""

    id: str
    reason: str
    owner: str
    expires: dt.date
    tickers: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    between: tuple[str, str] | None = None

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    @property
    def needs_time(self) -> bool:
        return self.between is not None


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The parsed rules of one file, in file order (the first matching rule wins)."""

    rules: tuple[AcceptRule, ...]
    source: str = ""

    def active(self, today: dt.date) -> tuple[AcceptRule, ...]:
        return tuple(r for r in self.rules if not r.expired(today))

    def expired(self, today: dt.date) -> tuple[AcceptRule, ...]:
        return tuple(r for r in self.rules if r.expired(today))

    def needs_time(self, today: dt.date) -> bool:
        return any(r.needs_time for r in self.active(today))

    def sql_case(self, today: dt.date, time_column: str = "tick_time") -> str:
        """A DuckDB expression giving the id of the first active rule matching a diff row, or NULL.

        Expects columns ticker, type, class, fields (list<struct<path,…>>) and, when a rule has
        `between`, a TIMESTAMPTZ column named `time_column`.
        """
        arms = [
            f"WHEN {_rule_predicate(r, time_column)} THEN {_lit(r.id)}" for r in self.active(today)
        ]
        if not arms:
            return "CAST(NULL AS VARCHAR)"
        return "CASE " + " ".join(arms) + " ELSE CAST(NULL AS VARCHAR) END"


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _glob_any(column: str, patterns: tuple[str, ...]) -> str:
    return "(" + " OR ".join(f"{column} GLOB {_lit(p)}" for p in patterns) + ")"


def _rule_predicate(rule: AcceptRule, time_column: str) -> str:
    parts = ["class <> 'match'"]
    if rule.tickers:
        parts.append(_glob_any("ticker", rule.tickers))
    if rule.types:
        parts.append(_glob_any("type", rule.types))
    if rule.classes:
        parts.append("class IN (" + ", ".join(_lit(c) for c in rule.classes) + ")")
    if rule.fields:
        any_field = _glob_any("f.path", rule.fields)
        parts.append(
            "coalesce(len(fields), 0) > 0 AND "
            f"(SELECT bool_and({any_field}) FROM (SELECT unnest(fields) AS f))"
        )
    if rule.between:
        start, end = rule.between
        tod = f"strftime(timezone('America/New_York', {time_column}), '%H:%M')"
        parts.append(f"{tod} >= {_lit(start)} AND {tod} < {_lit(end)}")
    return "(" + " AND ".join(parts) + ")"


def _strings(raw: object, key: str, where: str) -> tuple[str, ...]:
    values = [raw] if isinstance(raw, str) else raw
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{where}: '{key}' must be a string or a non-empty list of strings")
    return tuple(values)


def _time_of_day(value: str, where: str) -> str:
    try:
        return dt.time.fromisoformat(value).strftime("%H:%M")
    except ValueError:
        raise ConfigError(f"{where}: 'between' times must be HH:MM, got {value!r}") from None


def parse_rule(raw: dict[str, object], where: str) -> AcceptRule:
    """Validate one `[[rule]]` table; unknown keys and missing accountability fields are errors."""
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {sorted(_KEYS)}")
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise ConfigError(f"{where}: missing required key(s) {', '.join(missing)}")
    for key in ("id", "reason", "owner"):
        if not isinstance(raw[key], str) or not str(raw[key]).strip():
            raise ConfigError(f"{where}: '{key}' must be a non-empty string")
    expires = raw["expires"]
    if isinstance(expires, dt.datetime):
        expires = expires.date()
    if not isinstance(expires, dt.date):
        raise ConfigError(f"{where}: 'expires' must be a TOML date like 2027-03-31")
    classes = _strings(raw["class"], "class", where) if "class" in raw else ()
    bad = [c for c in classes if c not in DIFF_CLASSES]
    if bad:
        raise ConfigError(f"{where}: unknown class {bad[0]!r}; one of {', '.join(DIFF_CLASSES)}")
    between = None
    if "between" in raw:
        pair = _strings(raw["between"], "between", where)
        if len(pair) != 2:
            raise ConfigError(f"{where}: 'between' must be [start, end] as HH:MM")
        between = (_time_of_day(pair[0], where), _time_of_day(pair[1], where))
    return AcceptRule(
        id=str(raw["id"]),
        reason=str(raw["reason"]),
        owner=str(raw["owner"]),
        expires=expires,
        tickers=_strings(raw["ticker"], "ticker", where) if "ticker" in raw else (),
        types=_strings(raw["type"], "type", where) if "type" in raw else (),
        classes=classes,
        fields=_strings(raw["field"], "field", where) if "field" in raw else (),
        between=between,
    )


def load_rules(path: str | Path) -> RuleSet:
    """Read and validate an accepted-differences TOML file."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: accepted-differences file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML: {exc}") from None
    extra = sorted(set(data) - {"rule"})
    if extra:
        raise ConfigError(f"{p}: unknown top-level key(s) {', '.join(extra)}; expected [[rule]]")
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list):
        raise ConfigError(f"{p}: 'rule' must be an array of tables ([[rule]])")
    rules = tuple(parse_rule(r, f"{p}: rule #{i + 1}") for i, r in enumerate(raw_rules))
    seen: set[str] = set()
    for r in rules:
        if r.id in seen:
            raise ConfigError(f"{p}: duplicate rule id {r.id!r}")
        seen.add(r.id)
    return RuleSet(rules, str(p))


EMPTY = RuleSet(())
