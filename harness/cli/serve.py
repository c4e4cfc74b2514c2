"""`harness serve`: the verdict service for Argo Rollouts and Flagger (docs/serve.md)."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import click

from harness.cli.app import cli
from harness.cli.options import runs_dir_option


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option(
    "--token-env",
    default="HARNESS_SERVE_TOKEN",
    show_default=True,
    metavar="VAR",
    help="Environment variable holding the bearer token (required off loopback).",
)
@click.option(
    "--accept",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="Accepted-differences TOML (default: the copy recorded with each run).",
)
@click.option("--no-accept", is_flag=True, help="Judge runs with no accepted differences.")
@runs_dir_option("Where the runs to serve live.")
def serve(
    host: str, port: int, token_env: str, accept: str | None, no_accept: bool, runs_dir: str
) -> None:
    """Serve verdicts over HTTP: GET /api/v1/verdict (Argo web metric), POST /flagger/gate."""
    from harness.service.server import check_binding, make_app, serving
    from harness.service.verdicts import VerdictService

    token = os.environ.get(token_env) or None
    check_binding(host, token, token_env)
    service = VerdictService(Path(runs_dir), Path(accept) if accept else None, no_accept)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    with serving(make_app(service, token), host, port) as running:
        auth = f"bearer token from ${token_env}" if token else "none (loopback only)"
        click.echo(
            f"serving verdicts of runs under {runs_dir} on {running.url} (auth: {auth})",
            err=False,
        )
        click.echo(f"  Argo web metric: GET {running.url}/api/v1/verdict?recording=NAME&phase=P")
        click.echo(f"  Flagger webhook: POST {running.url}/flagger/gate")
        done.wait()
    click.echo("stopped")
