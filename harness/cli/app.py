"""The `harness` click group: a HarnessError becomes one line and its exit code, never a traceback.

Exit codes are design.md §10's (`harness.core.errors.ExitCode`); the commands live in the
modules beside this one, one per command group.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from harness import __version__
from harness.core.errors import HarnessError, IncompleteRunError


class HarnessGroup(click.Group):
    """Click group that turns HarnessError into `harness: error: …` and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HarnessError as exc:
            click.echo(f"harness: error: {exc}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=HarnessGroup)
@click.version_option(__version__, prog_name="harness")
def cli() -> None:
    """Shadow-replay TickStock's legacy and multi-channel stacks, diff them, gate rollout phases."""


def print_json(obj: Any, indent: int = 1, **dumps: Any) -> None:
    click.echo(json.dumps(obj, indent=indent, default=str, **dumps))


def print_summary(summary: dict[str, Any], path: Any, as_json: bool) -> None:
    """A run's summary: the compact text of `harness replay`, or JSON with its path."""
    from harness.diff.summary import render

    if as_json:
        print_json({**summary, "path": str(path)}, indent=2)
    else:
        click.echo(render(summary, str(path)))


def require_complete(result: Any) -> None:
    """An incomplete run is exit code 5, whatever else went right."""
    if result.status != "complete":
        raise IncompleteRunError(f"run {result.run_id} is {result.status}: {result.reason}")


def main() -> None:
    cli(prog_name="harness")
