"""Options shared by several commands, and `collect`, which hands a command a block of options
as one dataclass (so no command takes two dozen parameters). Parameter types: `cli.types`."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from harness.cli.types import FaultsType

F = TypeVar("F", bound=Callable[..., Any])


def compose(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Apply click decorators in the order they are listed (top to bottom, as if stacked)."""

    def apply(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


def collect(cls: type, name: str) -> Callable[[F], F]:
    """Pass the options named like `cls`'s fields to the command as one `cls` keyword `name`."""
    fields = [f.name for f in dataclasses.fields(cls)]

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def command(**kwargs: Any) -> Any:
            block = cls(**{f: kwargs.pop(f) for f in fields})
            return func(**kwargs, **{name: block})

        return command  # type: ignore[return-value]

    return decorate


@dataclass(frozen=True)
class StackArgs:
    """Which stacks run, and their configs (`--primary/--candidate/--aa/--set/--stack-config`)."""

    primary: str
    candidate: str | None
    aa: bool
    sets: tuple[str, ...]
    stack_config: str | None

    def configs(self) -> dict[str, dict[str, Any]]:
        from harness.replay.stack_config import stack_configs

        return stack_configs(self.sets, self.stack_config)

    def candidate_or_none(self, configs: dict[str, dict[str, Any]]) -> str | None:
        """None means A/A: asked for, no candidate given, or the primary with no config of its own."""
        c = self.candidate
        if self.aa or c is None or (c == self.primary and configs["candidate"] == {}):
            return None
        return c


def knob(name: str, kind: Any, default: Any, help_text: str) -> Callable[[F], F]:
    """A tuning option (a size, a count, seconds, a port) whose default `--help` shows."""
    return click.option(name, type=kind, default=default, show_default=True, help=help_text)


stack_options = compose(
    click.option(
        "--primary",
        default="tickstock.stacks:legacy",
        show_default=True,
        help="Primary stack factory, package.module:function.",
    ),
    click.option(
        "--candidate", default=None, help="Candidate stack factory (default: the primary, A/A)."
    ),
    click.option(
        "--aa", is_flag=True, help="A/A run: the candidate is the primary with its config."
    ),
    click.option(
        "--set",
        "sets",
        multiple=True,
        metavar="SIDE.KEY=VALUE",
        help="Stack config, e.g. candidate.phase=phase_1_parallel_testing (typed; repeatable).",
    ),
    click.option(
        "--stack-config", type=click.Path(dir_okay=False), help="TOML with [primary]/[candidate]."
    ),
    collect(StackArgs, "stacks"),
)


@dataclass(frozen=True)
class RunnerArgs:
    """Runner knobs shared by `replay` and `live`."""

    seed: int
    tick_timeout: float
    max_hangs: int
    inject: Any  # a FaultSpec
    diff_config: str | None

    def options(self, **more: Any) -> Any:
        from harness.replay.outcome import RunOptions

        return RunOptions(
            seed=self.seed,
            tick_timeout_s=self.tick_timeout or None,
            max_hangs=self.max_hangs,
            **more,
        )

    def diff(self) -> Any:
        from harness.diff.align import DiffConfig

        return DiffConfig.load(self.diff_config)


runner_options = compose(
    knob("--seed", int, 0, "Seeds call order and faults."),
    knob(
        "--tick-timeout",
        float,
        5.0,
        "Seconds one stack call may take before it is a timeout observation (0: off).",
    ),
    knob(
        "--max-hangs",
        click.IntRange(min=1),
        3,
        "Consecutive timeouts on one ticker that abort the run as incomplete.",
    ),
    click.option(
        "--inject",
        type=FaultsType(),
        default="",
        help="Candidate faults: error_rate=,delay_ms=,drop_rate=,hang_ticker=",
    ),
    click.option("--diff-config", type=click.Path(dir_okay=False), help="TOML diff config."),
    collect(RunnerArgs, "runner"),
)


class _OldNameHidden(click.Option):
    """An option whose later names are old spellings: accepted, but not shown in --help."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        record = super().get_help_record(ctx)
        if record is None:
            return None
        names, text = record
        return names.replace(", " + ", ".join(self.opts[1:]), ""), text


def runs_dir_option(help_text: str = "Where run directories go.") -> Callable[[F], F]:
    """`--runs-dir`, the one name for the runs directory (`--runs-root` accepted for a release)."""
    from harness.core.model import DEFAULT_RUNS_DIR  # not the store: the CLI starts light

    return click.option(
        "--runs-dir",
        "--runs-root",
        "runs_dir",
        cls=_OldNameHidden,
        default=str(DEFAULT_RUNS_DIR),
        show_default=True,
        help=help_text,
    )


@dataclass(frozen=True)
class OutputArgs:
    """Where the run goes and what is shown while it runs."""

    runs_dir: str
    as_json: bool
    progress: bool | None


def output_options(progress_what: str = "Progress bar") -> Callable[[F], F]:
    return compose(
        runs_dir_option(),
        click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON."),
        progress_option(progress_what),
        collect(OutputArgs, "output"),
    )


def progress_option(what: str = "Progress bar") -> Callable[[F], F]:
    return click.option(
        "--progress/--no-progress", default=None, help=f"{what} (default: when a terminal)."
    )
