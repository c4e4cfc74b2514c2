"""The `harness` command line; the only module that imports click.

Subcommands are registered in this file, one function each; HarnessError subclasses become a
one-line message and their exit code (design.md §10), never a traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from harness import __version__
from harness.errors import HarnessError


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


# --- recordings: info, validate, synth, import ---


# --- replay core: replay, diff, runs ---


# --- readiness: gate, report, compare, calibrate ---


# --- live: feed, live ---


# --- end of subcommands ---


def main() -> None:
    cli(prog_name="harness")


if __name__ == "__main__":
    main()
