"""Configuration files as pydantic models: unknown keys refused, one clear line per mistake.

Every TOML config of the harness (diff config, stack config, accepted differences) is a
`ConfigModel`: `extra="forbid"` (a typo must not silently do nothing), frozen, and validated by
`parse(data, where)`, which turns pydantic's error list into the one-line ConfigError (exit 5)
of the bad-input contract (docs/bad-input.md). Validators raise ValueError with the exact text
a user should read; `unknown` / `missing` say how a model words those two cases.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar, cast

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from harness.core.errors import ConfigError
from harness.core.files import read_document

T = TypeVar("T")


def unknown_keys(keys: Iterable[str], allowed: Iterable[str]) -> str:
    return f"unknown key(s) {', '.join(sorted(keys))}; allowed: {sorted(allowed)}"


def missing_keys(keys: Iterable[str]) -> str:
    return f"missing required key(s) {', '.join(keys)}"


class ConfigModel(BaseModel):
    """Base of the config models (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    #: how this model words unknown and missing keys (the file's own vocabulary)
    unknown: ClassVar[Callable[[Iterable[str], Iterable[str]], str]] = staticmethod(unknown_keys)
    missing: ClassVar[Callable[[Iterable[str]], str]] = staticmethod(missing_keys)

    @classmethod
    def keys(cls) -> list[str]:
        """The keys a file may use (aliases where a key is a Python keyword)."""
        return [f.alias or name for name, f in cls.model_fields.items()]

    @classmethod
    def parse(cls, data: Any, where: str) -> Self:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(f"{where}: {cls.explain(exc)}") from None

    def build(self, target: type[T], **renamed: str) -> T:
        """The runtime value (a dataclass) this entry describes: each of `target`'s fields from
        this entry's field of the same name, or of the name `renamed` gives (a file says
        `ticker = [...]` where the value holds `tickers`)."""
        names = (f.name for f in dataclasses.fields(cast(Any, target)))
        return target(**{n: getattr(self, renamed.get(n, n)) for n in names})

    @classmethod
    def explain(cls, exc: ValidationError) -> str:
        """One line for the first mistake: unknown keys, then missing ones, then values in the
        order the model declares its fields."""
        errors = exc.errors()
        top = [e for e in errors if len(e["loc"]) == 1]
        extra = [str(e["loc"][0]) for e in top if e["type"] == "extra_forbidden"]
        if extra:
            return cls.unknown(extra, cls.keys())
        missing = [str(e["loc"][0]) for e in top if e["type"] == "missing"]
        if missing:
            order = cls.keys()
            return cls.missing(sorted(missing, key=lambda k: order.index(k) if k in order else 99))
        first = errors[0]
        error = (first.get("ctx") or {}).get("error")
        if isinstance(error, ValueError):
            return str(error)
        key = ".".join(str(x) for x in first["loc"])
        return f"'{key}': {first['msg']}"


def read_toml(path: str | Path, what: str) -> dict[str, Any]:
    """A TOML file's tables; a missing or malformed file is one line naming `what` and the path."""
    p = Path(path)
    data: dict[str, Any] = read_document(p, "TOML", ConfigError, f"{what} {p}")
    return data


def checked(check: Callable[[Any], Any]) -> BeforeValidator:
    """A before-validator: `check` sees the raw TOML value and returns it, or raises ValueError."""
    return BeforeValidator(check)
