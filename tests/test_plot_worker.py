"""Figures drawn by the plot worker (spawned process or thread) are the bytes drawn in-process."""

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from harness.report import plots
from harness.report.plot_worker import PlotWorker

Q = np.linspace(0.0, 1.0, 21)
P_US = np.geomspace(20.0, 900.0, 21)
C_US = P_US * 1.2
COUNTS = pd.DataFrame({"class": ["extra", "missing"], "unexplained": [3, 5], "accepted": [1, 0]})


def test_a_spawned_worker_draws_the_png_this_process_draws():
    with PlotWorker.process() as worker:
        worker.draw("latency_cdf", Q, P_US, C_US)
        worker.draw("mismatch_bars", COUNTS)
        cdf, bars = worker.png("latency_cdf"), worker.png("mismatch_bars")
    assert cdf.startswith(b"\x89PNG") and cdf == plots.latency_cdf(Q, P_US, C_US)
    assert bars == plots.mismatch_bars(COUNTS) and bars != cdf


def test_a_thread_worker_draws_the_same_png():
    with PlotWorker.thread() as worker:
        worker.draw("mismatch_bars", COUNTS)
        assert worker.png("mismatch_bars") == plots.mismatch_bars(COUNTS)


def test_figures_are_drawn_here_when_the_worker_process_dies():
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    with PlotWorker(pool) as worker:
        pool.submit(os._exit, 3)  # the worker process dies: the pool is broken
        worker.draw("latency_cdf", Q, P_US, C_US)
        assert worker.png("latency_cdf") == plots.latency_cdf(Q, P_US, C_US)
