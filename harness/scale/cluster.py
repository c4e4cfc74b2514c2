"""Dask clusters for sharded replay: a private LocalCluster on loopback, or an existing scheduler.

Workers are processes with one thread each (a stack is single-threaded, and the latency
comparison wants a core per stack call); nothing binds beyond 127.0.0.1 and no dashboard starts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from typing import Any

WORKER_DEATHS_ALLOWED = 2  # a shard whose worker dies more often than this fails the run


@contextlib.contextmanager
def local_cluster(
    workers: int | None = None, allowed_failures: int = WORKER_DEATHS_ALLOWED
) -> Iterator[Any]:
    """A private LocalCluster: worker processes with one thread each, everything on 127.0.0.1.

    No dashboard; the scheduler's small HTTP endpoint binds 127.0.0.1 (any free port).
    """
    import dask
    from distributed import LocalCluster

    n = workers or os.cpu_count() or 1
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        with dask.config.set(
            {
                "distributed.scheduler.allowed-failures": allowed_failures,
                "distributed.admin.system-monitor.gil.enabled": False,
            }
        ):
            cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.CRITICAL,
            )
    with cluster:
        yield cluster


@contextlib.contextmanager
def dask_client(workers: int | None, scheduler: str | None) -> Iterator[Any]:
    """A Dask client on an existing scheduler (tcp://host:port) or on a private LocalCluster."""
    from distributed import Client

    if scheduler and scheduler != "local":
        with Client(scheduler, timeout="30s") as client:
            yield client
        return
    with local_cluster(workers) as cluster, Client(cluster) as client:
        yield client


def executor_label(workers: int | None, scheduler: str | None) -> str:
    """How the shards run, as the manifest records it."""
    if workers == 0:
        return "in-process"
    if scheduler and scheduler != "local":
        return scheduler
    return f"LocalCluster({workers or os.cpu_count()})"
