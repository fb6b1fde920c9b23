"""One way to run independent tasks: in this process, on a local process pool, or on Dask.

Fitting (one task per start) and sensitivity analysis (one task per batch of
parameter sets) both call :func:`run_tasks`. Results come back as each task
finishes, tagged with the task's index, so callers can write them to disk at once
and put them back in order; the values never depend on which executor ran them.

* ``workers=1`` (and no scheduler): tasks run here, one after another.
* ``workers=N``: a local :class:`concurrent.futures.ProcessPoolExecutor`; each
  worker process builds its own RoadRunner on first use (see
  :mod:`secretome.simulation`), so the model is compiled once per worker.
* ``scheduler="tcp://host:8786"``: a running Dask distributed cluster (started
  with Dask's own ``dask scheduler`` / ``dask worker`` commands; ``docs/scaling.md``).
  Needs the ``dask`` extra.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, TypeVar

from secretome.errors import SecretomeError

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """Worker processes used when none are asked for: the machine's cores."""
    return max(1, os.cpu_count() or 1)


def run_tasks(
    fn: Callable[[T], R],
    tasks: Sequence[T],
    *,
    workers: int | None = 1,
    scheduler: str | None = None,
) -> Iterator[tuple[int, R]]:
    """Run ``fn`` on every task and yield ``(index, result)`` as each finishes.

    Parameters
    ----------
    fn : callable
        A module-level function (it is pickled to reach other processes).
    tasks : sequence
        Arguments, one per call; each must be picklable.
    workers : int or None
        Local worker processes; ``1`` runs in this process, ``None`` uses every core.
        Ignored when ``scheduler`` is given.
    scheduler : str, optional
        Address of a Dask distributed scheduler.

    Yields
    ------
    (int, result)
        In completion order; sort by index for submission order.
    """
    if scheduler is not None:
        yield from _run_dask(fn, tasks, scheduler)
        return
    n = default_workers() if workers is None else int(workers)
    if n < 1:
        raise SecretomeError(f"workers must be at least 1, not {workers}")
    if n == 1 or len(tasks) <= 1:
        for i, task in enumerate(tasks):
            yield i, fn(task)
        return
    # spawn: a fresh interpreter per worker; RoadRunner and fork do not mix safely
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(n, len(tasks)), mp_context=ctx) as pool:
        futures = {pool.submit(fn, task): i for i, task in enumerate(tasks)}
        try:
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise


def _run_dask(fn: Callable[[T], R], tasks: Sequence[T], address: Any) -> Iterator[tuple[int, R]]:
    try:
        from dask.distributed import Client
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        raise SecretomeError(
            "--scheduler needs Dask: install the extra with `pip install -e '.[dask]'`"
        ) from None
    try:
        client = address if isinstance(address, Client) else Client(address, timeout="5s")
    except OSError as exc:
        raise SecretomeError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    owned = client is not address
    try:
        futures = client.map(fn, list(tasks), pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in dask_completed(futures):
            yield index[fut.key], fut.result()
    finally:
        if owned:
            client.close()
