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


def _waiting_burner(
    seconds: float, name: str
) -> tuple[threading.Thread, threading.Event, threading.Event]:
    """A thread that waits for `go`, burns `seconds` of CPU, says so (`done`) and stays alive
    until the go event is cleared by the test (`go.clear()` then `done` is awaited again)."""
    go, done = threading.Event(), threading.Event()

    def run() -> None:
        go.wait()
        _burn(seconds)
        done.set()
        while go.is_set():
            time.sleep(0.01)

    return threading.Thread(target=run, name=name), go, done


def test_threads_started_after_the_ledger_count_with_their_cpu_and_names():
    env, env_burnt, env_release = _burner(0.15, "environment")
    env.start()  # alive before the stacks are built: the environment's, never counted
    ledger = ThreadLedger.before()
    built, built_go, built_done = _waiting_burner(0.1, "built-with-the-stack")
    built.start()  # started while the stacks were built: theirs; it works once the loop runs
    ledger.built()
    harness, harness_go, harness_done = _waiting_burner(0.1, "heartbeat-like")
    harness.start()  # started after the build, before the loop: the harness's, never counted
    ledger.start()
    built_go.set()
    harness_go.set()
    worker, burnt, release = _burner(0.2, "stack-worker")
    worker.start()  # started during the loop: all its CPU counts
    exiting, exiting_burnt, exiting_release = _burner(0.1, "stack-exiting")
    exiting.start()
    exiting_burnt.wait()
    ledger.sample()  # read while alive; it exits before the end and keeps this reading
    exiting_release.set()
    exiting.join()
    for ev in (burnt, env_burnt, built_done, harness_done):
        ev.wait()
    _burn(0.1)  # the loop's own thread: never counted
    used = ledger.used()
    for ev in (release, env_release):
        ev.set()
    built_go.clear()
    harness_go.clear()
    for t in (worker, env, built, harness):
        t.join()
    # 0.2 + 0.1 + 0.1 s, not the 0.15 + 0.1 + 0.1 s of the others
    assert 0.36e9 <= used.cpu_ns <= 0.6e9, used
    assert used.names == ("built-with-the-stack", "stack-exiting", "stack-worker")


def test_the_harness_own_threads_are_ignored_and_cpu_before_the_loop_does_not_count():
    ledger = ThreadLedger.before()
    built_burnt, done = threading.Event(), threading.Event()

    def burn_then_wait() -> None:
        _burn(0.15)  # while "being built": before start(), not counted
        built_burnt.set()
        done.wait()

    stack_thread = threading.Thread(target=burn_then_wait, name="stack-own")
    stack_thread.start()
    built_burnt.wait()
    ledger.built()
    harness_go, harness_done = threading.Event(), threading.Event()

    def harness_work() -> None:
        harness_go.wait()
        _burn(0.15)  # in the loop, but started after the build (a heartbeat, the watchdog)
        harness_done.set()
        done.wait()

    harness_thread = threading.Thread(target=harness_work, name="watchdog-like")
    harness_thread.start()
    ledger.start()
    harness_go.set()
    harness_done.wait()
    used = ledger.used()
    done.set()
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


def _process_burner(seconds: float, wait_for: str | None = None):
    """A child Python process that (after `wait_for` exists, when given) burns `seconds` of CPU,
    then sleeps until killed."""
    import subprocess
    import sys

    code = (
        "import os, sys, time\n"
        f"w = {wait_for!r}\n"
        "while w and not os.path.exists(w): time.sleep(0.005)\n"
        f"end = time.process_time() + {seconds}\n"
        "while time.process_time() < end: pass\n"
        "print('burnt', flush=True)\n"
        "time.sleep(60)\n"
    )
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def test_child_processes_the_stacks_start_count_like_their_threads(tmp_path):
    env = _process_burner(0.2)  # alive before the stacks are built: the environment's
    ledger = ThreadLedger.before()
    go = tmp_path / "go"
    pool = _process_burner(0.2, wait_for=str(go))  # a pool built with the stack; works in the loop
    ledger.built()
    ledger.start()
    go.touch()
    spawned = _process_burner(0.3)  # spawned by a call during the loop
    try:
        for p in (env, pool, spawned):
            assert p.stdout is not None and p.stdout.readline().strip() == "burnt"
        used = ledger.used()
    finally:
        for p in (env, pool, spawned):
            p.kill()
            p.wait()
    # the pool's 0.2 s and the spawned 0.3 s (+ their interpreters' start-up), not the
    # environment's 0.2 s; the names say they are processes
    assert 0.45e9 <= used.cpu_ns <= 0.75e9, used
    assert len(used.names) == 2 and all(n.startswith("process ") for n in used.names), used
