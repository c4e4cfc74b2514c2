"""pytest plugin: `--shadow-recordings DIR` turns every recording into a test that replays and gates it.

    pytest --shadow-recordings recordings/ --shadow-phase phase_1_parallel_testing

Without `--shadow-recordings` the plugin adds its options and nothing else. Each item replays its
recording through primary and candidate, gates the phase and fails with the verdict's reasons and
the first divergence (policy in harness/ci/regression.py). A passing item still reports the phase's
rollout verdict and what CI judged (`pytest -rA` shows it): CI is a regression gate, not a rollout
decision.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

DEFAULT_PHASE = "phase_1_parallel_testing"
DEFAULT_PRIMARY = "tickstock.stacks:legacy"
DEFAULT_CANDIDATE = "tickstock.stacks:multichannel"


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("shadow", "TickStock shadow-replay regression gate")
    g.addoption("--shadow-recordings", metavar="DIR", help="gate every recording under DIR")
    g.addoption("--shadow-phase", default=DEFAULT_PHASE, help="rollout phase to gate")
    g.addoption("--shadow-primary", default=DEFAULT_PRIMARY, help="primary stack factory")
    g.addoption(
        "--shadow-candidate", default=DEFAULT_CANDIDATE, help="candidate factory ('' = A/A)"
    )
    g.addoption("--shadow-primary-config", default="{}", help="primary config as JSON")
    g.addoption(
        "--shadow-candidate-config",
        default=None,
        help='candidate config as JSON (default {"phase": <shadow-phase>})',
    )
    g.addoption(
        "--shadow-accept",
        metavar="TOML",
        help="accepted-differences file (default: the one found beside the recording, recorded with the run)",
    )
    g.addoption("--shadow-runs", metavar="DIR", help="where runs are written (default: a temp dir)")
    g.addoption("--shadow-max-ticks", type=int, help="replay only the first N ticks of each")
    g.addoption("--shadow-strict", action="store_true", help="inconclusive latency fails too")


class ShadowFailure(Exception):
    """A gated recording that CI must not accept; its text is the verdict's reasons."""


class ShadowItem(pytest.Item):
    """One recording replayed, gated and judged."""

    def __init__(self, *, recording: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.recording = recording

    def runtest(self) -> None:
        from harness.ci.regression import Judging, gate_recording
        from harness.replay.shadow import RunSpec

        opt = self.config.getoption
        phase = opt("--shadow-phase")
        cand_cfg = opt("--shadow-candidate-config")
        accept = opt("--shadow-accept")
        runs = opt("--shadow-runs") or tempfile.mkdtemp(prefix="shadow-runs-")
        outcome = gate_recording(
            self.recording,
            phase,
            RunSpec.of(
                primary=opt("--shadow-primary"),
                candidate=opt("--shadow-candidate") or None,
                primary_config=json.loads(opt("--shadow-primary-config")),
                candidate_config=json.loads(cand_cfg) if cand_cfg else {"phase": phase},
            ),
            runs_root=Path(runs),
            judging=Judging(accept=Path(accept) if accept else None, strict=opt("--shadow-strict")),
            max_ticks=opt("--shadow-max-ticks"),
        )
        self.user_properties.append(("verdict", outcome.result.verdict.value))
        self.user_properties.append(("run", str(outcome.run_dir)))
        if not outcome.ok:
            raise ShadowFailure(outcome.message())
        # a passing item still states the rollout verdict, which CI does not turn into a pass
        self.add_report_section("call", "shadow", outcome.message())

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, ShadowFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.recording, None, f"shadow gate {self.recording.name}"


class ShadowRecordings(pytest.Collector):
    """The recordings directory as a collector of ShadowItems."""

    def __init__(self, *, root: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.root = root

    def collect(self) -> Iterator[ShadowItem]:
        from harness.ci.regression import recording_dirs

        for rec in recording_dirs(self.root):
            yield ShadowItem.from_parent(self, name=rec.name, recording=rec)


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    root = config.getoption("--shadow-recordings", default=None)
    if not root:
        return
    collector = ShadowRecordings.from_parent(session, name="shadow-recordings", root=Path(root))
    items.extend(collector.collect())
