"""The accepted-differences TOML file (`[[scope]]`, `[[rule]]`, `[[latency]]`) as pydantic
models: every key checked, every mistake one line naming the file, the entry and the key.

`load_rules(path)` reads and validates a file into a `RuleSet` (harness/diff/rules.py); the
file format is documented there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import Field

from harness.core.config import ConfigModel, checked, missing_keys
from harness.core.errors import ConfigError
from harness.core.identity import DIGEST_HEX, DIGEST_PREFIX
from harness.core.model import PERIODS
from harness.diff.rules import DIFF_CLASSES, AcceptRule, LatencyFinding, RuleSet, Scope

_PERIOD_NAMES = (*PERIODS, "CLOSED")
_ACCOUNTABLE = ("id", "reason", "owner", "expires")
_SCOPE_MISSING = (
    "missing required key 'scope' (the id of a [[scope]] naming the stacks, configs and "
    "recordings the rule was written for)"
)


def _non_empty(key: str) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        if not isinstance(v, str) or not v.strip():
            raise ValueError(f"'{key}' must be a non-empty string")
        return v

    return check


def _strings(key: str) -> Callable[[Any], Any]:
    def check(v: Any) -> tuple[str, ...]:
        values = [v] if isinstance(v, str) else v
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(x, str) for x in values)
        ):
            raise ValueError(f"'{key}' must be a string or a non-empty list of strings")
        return tuple(values)

    return check


def _one_of(key: str, allowed: tuple[str, ...], what: str) -> Callable[[Any], Any]:
    strings = _strings(key)

    def check(v: Any) -> tuple[str, ...]:
        values = strings(v)
        bad = [x for x in values if x not in allowed]
        if bad:
            raise ValueError(f"unknown {what} {bad[0]!r}; one of {', '.join(allowed)}")
        return values

    return check


def _expires(v: Any) -> dt.date:
    if isinstance(v, dt.datetime):
        v = v.date()
    if not isinstance(v, dt.date):
        raise ValueError("'expires' must be a TOML date like 2027-03-31")
    return v


def _scope_ref(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ValueError(_SCOPE_MISSING)
    return v


def _between(v: Any) -> tuple[str, str]:
    pair = _strings("between")(v)
    if len(pair) != 2:
        raise ValueError("'between' must be [start, end] as HH:MM")
    out = []
    for value in pair:
        try:
            out.append(dt.time.fromisoformat(value).strftime("%H:%M"))
        except ValueError:
            raise ValueError(f"'between' times must be HH:MM, got {value!r}") from None
    return out[0], out[1]


def _expect(v: Any) -> tuple[tuple[str, int], ...]:
    if not isinstance(v, dict):
        raise ValueError("'expect' must be a table of run key = row count")
    for key, n in v.items():
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"expect[{key!r}] must be a row count ≥ 0, got {n!r}")
    return tuple((str(k), int(n)) for k, n in v.items())


def _keyed_digests(
    name: str, by_recording: bool = False
) -> Callable[[Any], tuple[tuple[str, str], ...]]:
    """A table of run key (or, `by_recording`, recording key) = "sha256:<16 hex>", as the gate
    prints digests."""
    keys = "recording key" if by_recording else "run key"

    def check(v: Any) -> tuple[tuple[str, str], ...]:
        if not isinstance(v, dict):
            raise ValueError(f"'{name}' must be a table of {keys} = \"sha256:<16 hex>\"")
        for key, d in v.items():
            if not isinstance(d, str) or not re.fullmatch(
                DIGEST_PREFIX + f"[0-9a-f]{{{DIGEST_HEX}}}", d
            ):
                raise ValueError(
                    f'{name}[{key!r}] must be "sha256:" and 16 hex digits (as the gate '
                    f"prints it), got {d!r}"
                )
            if by_recording and "/" in str(key):
                raise ValueError(
                    f"{name}[{key!r}]: the primary's events do not depend on the candidate's "
                    "phase; key them by recording (`<recording>[[:N]]`), not by run key"
                )
        return tuple((str(k), str(d)) for k, d in v.items())

    return check


_expect_digest = _keyed_digests("expect_digest")


def _tolerance(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v < 1:
        raise ValueError(f"'tolerance' must be a relative number in [0, 1), got {v!r}")
    return float(v)


def _max_ratio(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not v >= 1:
        raise ValueError(f"'max_ratio' must be a number ≥ 1, got {v!r}")
    return float(v)


def _exact_factory(key: str) -> Callable[[Any], Any]:
    non_empty = _non_empty(key)

    def check(v: Any) -> str:
        if any(ch in non_empty(v) for ch in "*?["):
            raise ValueError(
                f"'{key}' must name one factory exactly (no globs: a wrapper around the real "
                "stack is another candidate)"
            )
        return v

    return check


def _digests(key: str) -> Callable[[Any], Any]:
    strings = _strings(key)

    def check(v: Any) -> tuple[str, ...]:
        values = strings(v)
        bad = [x for x in values if not x.startswith(DIGEST_PREFIX)]
        if bad:
            raise ValueError(
                f"'{key}' must be config digests like '{DIGEST_PREFIX}0123456789abcdef' "
                f"(`harness gate` prints a run's), got {bad[0]!r}"
            )
        return values

    return check


def _recordings(v: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(v, dict) or not v or not all(isinstance(x, str) and x for x in v.values()):
        raise ValueError(
            "'recording' must be a table of recording name = content sha256 "
            "(recording.json's files digest, as the run manifest records it)"
        )
    return tuple((str(k), str(x)) for k, x in v.items())


def _accountable_missing(keys: Iterable[str]) -> str:
    """The id/reason/owner/expires every entry carries come first; then its scope."""
    keys = list(keys)
    named = [k for k in keys if k in _ACCOUNTABLE]
    return missing_keys(named) if named else _SCOPE_MISSING


class _Entry(ConfigModel):
    """What every rule and latency finding carries: who accepted it, why, and until when."""

    missing: ClassVar[Callable[[Iterable[str]], str]] = staticmethod(_accountable_missing)

    id: Annotated[str, checked(_non_empty("id"))]
    reason: Annotated[str, checked(_non_empty("reason"))]
    owner: Annotated[str, checked(_non_empty("owner"))]
    expires: Annotated[dt.date, checked(_expires)]


class RuleEntry(_Entry):
    """One `[[rule]]`: which diff rows it accepts, inside which scope, how many per run key."""

    classes: Annotated[tuple[str, ...], checked(_one_of("class", DIFF_CLASSES, "class"))] = Field(
        (), alias="class"
    )
    between: Annotated[tuple[str, str] | None, checked(_between)] = None
    period: Annotated[tuple[str, ...], checked(_one_of("period", _PERIOD_NAMES, "period"))] = ()
    scope: Annotated[str, checked(_scope_ref)]
    ticker: Annotated[tuple[str, ...], checked(_strings("ticker"))] = ()
    type: Annotated[tuple[str, ...], checked(_strings("type"))] = ()
    field: Annotated[tuple[str, ...], checked(_strings("field"))] = ()
    recording: Annotated[tuple[str, ...], checked(_strings("recording"))] = ()
    expect: Annotated[tuple[tuple[str, int], ...], checked(_expect)] = ()
    expect_digest: Annotated[tuple[tuple[str, str], ...], checked(_expect_digest)] = ()
    tolerance: Annotated[float, checked(_tolerance)] = 0.0

    def rule(self, where: str = "") -> AcceptRule:
        counted = {k for k, _ in self.expect}
        for key, _ in self.expect_digest:
            if key not in counted:
                raise ConfigError(
                    f"{where}: {self.id!r} declares expect_digest for {key!r} but no expect count "
                    "for it (the digest pins the contents of exactly the counted rows)"
                )
        if self.expect_digest and self.tolerance:
            raise ConfigError(
                f"{where}: {self.id!r} declares expect_digest with a count tolerance: rows that may "
                "vary in number have no fixed contents to pin (drop one of the two)"
            )
        plural = {"tickers": "ticker", "types": "type", "fields": "field", "periods": "period"}
        return self.build(AcceptRule, recordings="recording", **plural)


class LatencyEntry(_Entry):
    """One `[[latency]]`: a known latency gap CI measures regressions against."""

    max_ratio: Annotated[float, checked(_max_ratio)]
    scope: Annotated[str, checked(_scope_ref)]
    recording: Annotated[tuple[str, ...], checked(_strings("recording"))] = ()
    phase: Annotated[tuple[str, ...], checked(_strings("phase"))] = ()

    def finding(self) -> LatencyFinding:
        return self.build(LatencyFinding, recordings="recording", phases="phase")


class ScopeEntry(ConfigModel):
    """One `[[scope]]`: exact factories, config digests, recordings by content digest."""

    id: Annotated[str, checked(_non_empty("id"))]
    primary: Annotated[str, checked(_exact_factory("primary"))]
    primary_config: Annotated[tuple[str, ...], checked(_digests("primary_config"))]
    candidate: Annotated[str, checked(_exact_factory("candidate"))]
    candidate_config: Annotated[tuple[str, ...], checked(_digests("candidate_config"))]
    recording: Annotated[tuple[tuple[str, str], ...], checked(_recordings)]
    phase: Annotated[tuple[str, ...], checked(_strings("phase"))] = ()
    primary_events: Annotated[
        tuple[tuple[str, str], ...], checked(_keyed_digests("primary_events", by_recording=True))
    ] = ()
    reason: str = ""

    def scope(self) -> Scope:
        configs = {"primary_configs": "primary_config", "candidate_configs": "candidate_config"}
        return self.build(Scope, recordings="recording", phases="phase", **configs)


def _tables(data: dict[str, Any], p: Path) -> tuple[list[Any], list[Any], list[Any]]:
    extra = sorted(set(data) - {"rule", "latency", "scope"})
    if extra:
        raise ConfigError(
            f"{p}: unknown top-level key(s) {', '.join(extra)}; "
            "expected [[scope]] / [[rule]] / [[latency]]"
        )
    tables = data.get("scope", []), data.get("rule", []), data.get("latency", [])
    if not all(isinstance(x, list) for x in tables):
        raise ConfigError(f"{p}: 'scope', 'rule' and 'latency' must be arrays of tables ([[rule]])")
    return tables


def load_rules(path: str | Path) -> RuleSet:
    """Read and validate an accepted-differences TOML file."""
    p = Path(path)
    try:
        blob = p.read_bytes()
        data = tomllib.loads(blob.decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: accepted-differences file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML: {exc}") from None
    raw_scopes, raw_rules, raw_latency = _tables(data, p)
    scopes = tuple(
        ScopeEntry.parse(r, f"{p}: scope #{i + 1}").scope() for i, r in enumerate(raw_scopes)
    )
    rules = tuple(
        RuleEntry.parse(r, where := f"{p}: rule #{i + 1}").rule(where)
        for i, r in enumerate(raw_rules)
    )
    latency = tuple(
        LatencyEntry.parse(r, f"{p}: latency #{i + 1}").finding() for i, r in enumerate(raw_latency)
    )
    seen: set[str] = set()
    for rid in (*(r.id for r in rules), *(f.id for f in latency)):
        if rid in seen:
            raise ConfigError(f"{p}: duplicate rule id {rid!r}")
        seen.add(rid)
    scope_ids = [s.id for s in scopes]
    if len(set(scope_ids)) != len(scope_ids):
        raise ConfigError(f"{p}: duplicate scope id")
    entries: tuple[AcceptRule | LatencyFinding, ...] = (*rules, *latency)
    for entry in entries:
        if entry.scope not in scope_ids:
            raise ConfigError(
                f"{p}: {entry.id!r} names scope {entry.scope!r}, which no [[scope]] defines "
                f"(defined: {', '.join(scope_ids) or 'none'})"
            )
    return RuleSet(rules, str(p), latency, scopes, hashlib.sha256(blob).hexdigest())
