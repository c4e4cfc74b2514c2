"""The CPU of threads the stacks start (harness/replay/threads.py), measured, not guessed."""

from __future__ import annotations

import threading
import time

from harness.replay.threads import ThreadCpu, ThreadLedger


def _burn(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def _burner(seconds: float, name: str) -> tuple[threading.Thread, threading.Event, threading.Event]:
    """A thread that burns `seconds` of CPU, says so, then waits to be released."""
    burnt, release = threading.Event(), threading.Event()

    def run() -> None:
        _burn(seconds)
        burnt.set()
        release.wait()

    return threading.Thread(target=run, name=name), burnt, release


def test_threads_started_after_the_ledger_count_with_their_cpu_and_names():
    env, env_burnt, env_release = _burner(0.15, "environment")
    env.start()  # alive before the stacks are built: the environment's, never counted
    ledger = ThreadLedger.before()
    idle, idle_ready, idle_release = _burner(0.0, "built-with-the-stack")
    idle.start()  # started while the stacks were built, idle in the loop: 0 CPU, not named
    idle_ready.wait()
    ledger.start()
    worker, burnt, release = _burner(0.2, "stack-worker")
    worker.start()  # started during the loop: all its CPU counts
    exiting, exiting_burnt, exiting_release = _burner(0.1, "stack-exiting")
    exiting.start()
    exiting_burnt.wait()
    ledger.sample()  # read while alive; it exits before the end and keeps this reading
    exiting_release.set()
    exiting.join()
    burnt.wait()
    env_burnt.wait()
    _burn(0.1)  # the loop's own thread: never counted
    used = ledger.used()
    for ev in (release, idle_release, env_release):
        ev.set()
    for t in (worker, idle, env):
        t.join()
    assert 0.28e9 <= used.cpu_ns <= 0.45e9, used  # 0.2 + 0.1 s, not the 0.15 + 0.1 s of others
    assert used.names == ("stack-exiting", "stack-worker")


def test_the_harness_own_threads_are_ignored_and_cpu_before_the_loop_does_not_count():
    ledger = ThreadLedger.before()
    done = threading.Event()

    def burn_then_wait() -> None:
        _burn(0.15)  # while "being built": before start(), not counted
        done.wait()

    stack_thread = threading.Thread(target=burn_then_wait, name="stack-own")
    stack_thread.start()
    harness_done = threading.Event()

    def harness_work() -> None:
        _burn(0.15)
        harness_done.wait()

    harness_thread = threading.Thread(target=harness_work, name="watchdog-like")
    harness_thread.start()
    ledger.ignore(harness_thread)
    time.sleep(0.3)
    ledger.start()
    time.sleep(0.05)
    used = ledger.used()
    done.set()
    harness_done.set()
    stack_thread.join()
    harness_thread.join()
    assert used.cpu_ns < 0.05e9, used
    assert "watchdog-like" not in used.names


def test_thread_cpu_adds_up_over_shards_and_reads_back():
    a = ThreadCpu(10, ("b", "a"))
    b = ThreadCpu(5, ("a", "c"))
    total = a.plus(b)
    assert total == ThreadCpu(15, ("a", "b", "c"))
    assert ThreadCpu.of(total.as_dict()) == total
    assert ThreadCpu.of(None) == ThreadCpu()
