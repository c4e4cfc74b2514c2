"""Who ran in a run: the identity of each stack (factory + config digest) that rules are scoped to.

An accepted difference is a statement about one pair of stacks with one configuration on one
recording. If any of those change — a wrapper around the real candidate, another config value, an
environment override, injected faults, another recording — the statement no longer holds, so the
rule must not apply. The identity is computed from what the run recorded (the manifest and the
stacks' own `stats()`), never from what a rule file claims::

    ident = run_identity(manifest, stack_stats)
    ident.candidate.factory, ident.candidate.config   # "tickstock.stacks:multichannel", "sha256:…"

`config` is the digest of the canonical JSON of the stack's config *without* its `phase` (the
rollout phase is a scope dimension of its own, `phase`), together with the non-default values the
stack reports it ran with (`stats()["config_overrides"]`, e.g. TICKSTOCK_* environment variables)
and any injected faults (`--inject`, candidate only).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Prefix of every config digest, so a digest in a rule file is recognisable as one.
DIGEST_PREFIX = "sha256:"
#: Hex digits kept: 64 bits is ample to tell configurations apart and short enough to read.
DIGEST_HEX = 16


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def digest(value: Any) -> str:
    """`sha256:<16 hex>` of the canonical JSON of `value`."""
    h = hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
    return DIGEST_PREFIX + h[:DIGEST_HEX]


@dataclass(frozen=True, slots=True)
class StackIdentity:
    """One stack as it ran: its factory, the digest of its configuration and its rollout phase."""

    factory: str
    config: str
    phase: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"factory": self.factory, "config": self.config, "phase": self.phase}


@dataclass(frozen=True, slots=True)
class RunIdentity:
    """Both stacks and the recording (name and content digest) of one run."""

    primary: StackIdentity
    candidate: StackIdentity
    recording: str | None
    recording_sha256: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "primary": self.primary.as_dict(),
            "candidate": self.candidate.as_dict(),
            "recording": self.recording,
            "recording_sha256": self.recording_sha256,
        }


#: Config key the sharded runner adds itself: the rollout tickers it selected once, before
#: sharding, with the stack's own rule (harness/replay/pinning.py). Derived from the rest of the config,
#: so it is no part of the identity when the harness pinned it.
PINNED_KEY = "rollout_tickers"


def stack_identity(
    spec: Mapping[str, Any] | None,
    stats: Mapping[str, Any] | None = None,
    inject: Mapping[str, Any] | None = None,
    pinned: bool = False,
) -> StackIdentity:
    """The identity of a manifest's `primary`/`candidate` entry ({factory, config})."""
    spec = spec if isinstance(spec, Mapping) else {}
    raw = spec.get("config")
    config = dict(raw) if isinstance(raw, Mapping) else {}
    phase = config.pop("phase", None)
    if pinned:
        config.pop(PINNED_KEY, None)
    overrides = (stats or {}).get("config_overrides") if isinstance(stats, Mapping) else None
    material: dict[str, Any] = {"config": config}
    if overrides:
        material["overrides"] = overrides
    if inject:
        material["inject"] = dict(inject)
    return StackIdentity(
        str(spec.get("factory") or ""), digest(material), str(phase) if phase else None
    )


def run_identity(
    manifest: Mapping[str, Any], stack_stats: Mapping[str, Any] | None = None
) -> RunIdentity:
    """The identity of a run from its manifest and stack_stats.json (both as recorded)."""
    stats = stack_stats if isinstance(stack_stats, Mapping) else {}
    inject = manifest.get("inject")
    sharding = manifest.get("sharding")
    decided = sharding.get("rollout") if isinstance(sharding, Mapping) else None
    pinned = isinstance(decided, Mapping) and decided.get("method") not in (None, "given")
    rec = manifest.get("recording")
    rec = rec if isinstance(rec, Mapping) else {}

    def side(name: str, faults: Any = None) -> StackIdentity:
        own = stats.get(name)
        return stack_identity(
            manifest.get(name),  # type: ignore[arg-type]
            own if isinstance(own, Mapping) else None,
            faults if isinstance(faults, Mapping) else None,
            pinned,
        )

    return RunIdentity(
        side("primary"),
        side("candidate", inject),
        str(rec["name"]) if rec.get("name") else None,
        str(rec["sha256"]) if rec.get("sha256") else None,
    )
