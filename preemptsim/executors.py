"""Where a sweep's tasks run (DESIGN.md §4): in this process, a process pool, or Dask.

An executor takes tasks and yields (task, rows) as they finish, in any order; the rows of a
task are the same whichever executor ran it.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any, Literal

import pandas as pd

from preemptsim.grid import Point, Task
from preemptsim.scenario import Scenario
from preemptsim.simulate import simulate

CONNECT_TIMEOUT_S = 5
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
    with ProcessPoolExecutor(max_workers=workers, initializer=_leave_ctrl_c_to_the_parent) as pool:
        futures = {
            pool.submit(run_task, points[t.point].scenario, t, seed, engine): t
            for t in _largest_first(tasks)
        }
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _leave_ctrl_c_to_the_parent() -> None:
    """Workers ignore SIGINT: Ctrl-C on a terminal reaches the whole process group, and a
    worker interrupted mid-task can leave the pool hanging; the parent cancels and waits."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


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
        cluster = dd.LocalCluster(
            n_workers=jobs,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.CRITICAL,
        )
        with cluster, dd.Client(cluster) as client:
            yield client
        return
    try:
        client = dd.Client(scheduler, timeout=CONNECT_TIMEOUT_S)
    except Exception as exc:  # any failure to connect is one line, exit 1
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise RuntimeError(f"cannot reach the Dask scheduler at {scheduler}: {reason}") from None
    with client:
        yield client


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
