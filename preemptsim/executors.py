"""Where a sweep's tasks run (DESIGN.md §4): in this process, a process pool, or Dask.

An executor takes tasks and yields (task, rows) as they finish, in any order; the rows of a
task are the same whichever executor ran it.
"""

from __future__ import annotations

import ctypes
import importlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any, Literal

import pandas as pd

from preemptsim.grid import Point, Task
from preemptsim.scenario import Scenario
from preemptsim.simulate import simulate

CONNECT_TIMEOUT_S = 5
PARENT_CHECK_S = 0.5  # how often a pool worker checks that its parent lives (fallback)
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
Executor = Callable[[Sequence[Task]], Iterator[tuple[Task, pd.DataFrame]]]
Engine = Literal["auto", "simpy", "fast"]  # simulate's engines (DESIGN.md §5)


def run_task(scenario: Scenario, task: Task, seed: int, engine: Engine) -> pd.DataFrame:
    """The rows of one task: what a worker runs."""
    return simulate(scenario, task.reps, seed, first_rep=task.first_rep, engine=engine)


@contextmanager
def executor(
    points: Sequence[Point], seed: int, engine: Engine, workers: tuple[int, str, str | None]
) -> Iterator[Executor]:
    """A function running tasks and yielding (task, rows) as they finish, in any order.

    ``workers`` is (jobs, backend, scheduler): jobs 0 means every core this process may use.
    """
    jobs, backend, scheduler = workers
    jobs = jobs or _all_cores()
    if backend == "dask":
        with _dask_client(scheduler, jobs) as client:
            yield lambda tasks: _run_dask(client, tasks, points, seed, engine)
    else:
        yield lambda tasks: _run_pool(tasks, points, seed, engine, jobs)


def _all_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _run_pool(
    tasks: Sequence[Task], points: Sequence[Point], seed: int, engine: Engine, jobs: int
) -> Iterator[tuple[Task, pd.DataFrame]]:
    if jobs == 1 or len(tasks) <= 1:
        for task in tasks:
            yield task, run_task(points[task.point].scenario, task, seed, engine)
        return
    workers = min(jobs, len(tasks))
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_start_worker, initargs=_parent_of_workers()
    ) as pool:
        futures = {
            pool.submit(run_task, points[t.point].scenario, t, seed, engine): t
            for t in _largest_first(tasks)
        }
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _parent_of_workers() -> tuple[int | None, bool]:
    """This process's id where pool workers are its children (None where a fork server's),
    and whether they are started by the main thread, whose end is the process's."""
    import multiprocessing

    server = multiprocessing.get_start_method() == "forkserver"
    return None if server else os.getpid(), threading.current_thread() is threading.main_thread()


def _start_worker(parent_pid: int | None, by_main_thread: bool) -> None:
    """Workers ignore SIGINT: Ctrl-C on a terminal reaches the whole process group, and a
    worker interrupted mid-task can leave the pool hanging; the parent cancels and waits.
    And they die with the parent, however it dies (a SIGKILL leaves no one to stop them)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform == "linux" and by_main_thread:  # the kernel kills us when it dies
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    watched = os.getppid()  # the parent, or a fork server that dies with it
    if parent_pid is not None and watched != parent_pid:
        os._exit(1)  # the parent died before this worker started
    threading.Thread(target=_exit_when_orphaned, args=(watched,), daemon=True).start()


def _exit_when_orphaned(parent_pid: int) -> None:
    """Everywhere: exit once the parent is gone (this process is adopted by another)."""
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK_S)
    os._exit(1)


def _largest_first(tasks: Sequence[Task]) -> list[Task]:
    """Full chunks before remainders, so that workers finish together."""
    return sorted(tasks, key=lambda task: -task.reps)


def _distributed() -> Any:
    """The dask.distributed module (untyped: held as Any)."""
    try:
        return importlib.import_module("distributed")
    except ImportError:
        raise RuntimeError("--backend dask needs dask: pip install 'preemptsim[dask]'") from None


@contextmanager
def _dask_client(scheduler: str | None, jobs: int) -> Iterator[Any]:
    """A client of a local cluster of ``jobs`` processes, or of the one at ``scheduler``."""
    dd = _distributed()
    if scheduler is None:
        with _local_cluster(dd, jobs) as cluster, dd.Client(cluster) as client:
            yield client
        return
    try:
        client = dd.Client(scheduler, timeout=CONNECT_TIMEOUT_S)
    except Exception as exc:  # any failure to connect is one line, exit 1
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise RuntimeError(f"cannot reach the Dask scheduler at {scheduler}: {reason}") from None
    with client:
        yield client


def dask_setup(worker: Any) -> None:
    """Run by each Dask worker of a local cluster as it starts (a Dask preload): like a pool
    worker, it ignores SIGINT, so a Ctrl-C (which a terminal sends to the whole process
    group) stops the sweep with one line rather than pages of worker tracebacks."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def _local_cluster(dd: Any, jobs: int) -> Iterator[Any]:
    """A LocalCluster of ``jobs`` worker processes; a Ctrl-C during its start stops it once
    it is up (or has failed: a worker may die of that Ctrl-C before it ignores it)."""
    with _held_ctrl_c() as pressed, _workers_stderr_silenced():
        try:
            cluster = dd.LocalCluster(
                n_workers=jobs,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.CRITICAL,
                preload=[__name__],  # dask_setup
            )
        except Exception:
            if pressed:
                raise KeyboardInterrupt from None
            raise
    with cluster:
        if pressed:
            raise KeyboardInterrupt
        yield cluster


@contextmanager
def _held_ctrl_c() -> Iterator[list[int]]:
    """A Ctrl-C inside is held back (the list it yields gets the signal) rather than raised
    in the middle of a cluster's start, whose half-made cluster could not be closed."""
    pressed: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield pressed
        return
    before = signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum))
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, before)


@contextmanager
def _workers_stderr_silenced() -> Iterator[None]:
    """Processes started inside write their stderr to the null device: a local cluster's
    workers, whose logs are silenced anyway, and whose tracebacks, when a Ctrl-C comes
    before they ignore it (dask_setup), would fill pages."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _run_dask(
    client: Any, tasks: Sequence[Task], points: Sequence[Point], seed: int, engine: Engine
) -> Iterator[tuple[Task, pd.DataFrame]]:
    futures = {
        client.submit(run_task, points[t.point].scenario, t, seed, engine, pure=False): t
        for t in _largest_first(tasks)
    }
    try:
        for future in _distributed().as_completed(list(futures)):
            yield futures[future], future.result()
    finally:
        client.cancel(list(futures))
