"""Which accepted-differences file a run is judged by — the same answer from any directory.

The rules are found when the run is made, not when it is gated: `harness replay` looks for
`accepted-differences.toml` in the recording's directory and its parents (for `recordings/x` in
this repository: the repository's file), or takes `--accept FILE`, and keeps a copy in the run
(`RUN/accepted-differences.toml`) with its digest in the manifest. `harness gate` and `harness
report` then use that copy wherever they run, unless told otherwise (`--accept FILE`, or
`--no-accept` for none); every output states the file, its digest and how it was chosen.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.errors import ConfigError
from harness.diff.rules import EMPTY, RuleSet
from harness.diff.rules_file import load_rules

RULES_FILE = "accepted-differences.toml"


def discover(start: str | Path | None) -> Path | None:
    """The nearest accepted-differences.toml in `start` (a recording dir) or its parents."""
    if start is None:
        return None
    here = Path(start).resolve()
    for folder in (here, *here.parents):
        candidate = folder / RULES_FILE
        if candidate.is_file():
            return candidate
    return None


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(run_dir: Path, source: Path | None) -> dict[str, Any]:
    """Copy the rules file (validated by the caller before the run existed) into the run;
    returns the manifest's record of it."""
    if source is None:
        return {"source": None, "sha256": None, "copy": None}
    shutil.copyfile(source, run_dir / RULES_FILE)
    return {"source": str(source.resolve()), "sha256": file_sha256(source), "copy": RULES_FILE}


@dataclass(frozen=True, slots=True)
class RulesChoice:
    """The rules a gate uses, with where they came from (stated in every output)."""

    path: Path | None
    sha256: str | None
    how: str
    rules: RuleSet

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path) if self.path else None,
            "sha256": self.sha256,
            "how": self.how,
        }

    def statement(self) -> str:
        if self.path is None:
            return f"accepted differences: none ({self.how})"
        return f"accepted differences: {self.path} (sha256 {self.sha256}; {self.how})"


def choose(
    run_dir: Path, manifest: Mapping[str, Any], explicit: Path | None = None, none: bool = False
) -> RulesChoice:
    """The rules to judge a run by: none, an explicit file, or the copy recorded with the run."""
    if none and explicit is not None:
        raise ConfigError("give --accept FILE or --no-accept, not both")
    if none:
        return RulesChoice(None, None, "--no-accept", EMPTY)
    if explicit is not None:
        rules = load_rules(explicit)
        return RulesChoice(explicit.resolve(), rules.sha256, "given with --accept", rules)
    recorded = manifest.get("accepted_differences")
    copy = run_dir / RULES_FILE
    if isinstance(recorded, Mapping) and recorded.get("copy"):
        if not copy.is_file():
            raise ConfigError(
                f"{copy}: the rules file recorded with this run is missing; "
                "give --accept FILE or --no-accept"
            )
        rules = load_rules(copy)
        if recorded.get("sha256") and rules.sha256 != recorded.get("sha256"):
            raise ConfigError(
                f"{copy}: digest {rules.sha256} differs from the {recorded.get('sha256')} recorded "
                "at replay (the copy was edited); give --accept FILE explicitly"
            )
        return RulesChoice(
            copy.resolve(),
            rules.sha256,
            f"recorded with the run from {recorded.get('source')}",
            rules,
        )
    if isinstance(recorded, Mapping):
        return RulesChoice(
            None, None, "no accepted-differences.toml was found for the recording at replay", EMPTY
        )
    return RulesChoice(
        None,
        None,
        "the run records no rules file (replayed by an older harness); give --accept FILE",
        EMPTY,
    )
