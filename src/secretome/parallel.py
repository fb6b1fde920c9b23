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
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, TypeVar

from secretome.errors import SecretomeError

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """Worker processes used when none are asked for: the machine's cores."""
    return max(1, os.cpu_count() or 1)


def check_executor(workers: int | None = 1, scheduler: Any = None) -> None:
    """Refuse a bad worker count or an unreachable Dask scheduler, before any work.

    Parameters
    ----------
    workers : int or None
        Local worker processes (at least 1; ``None``: every core).
    scheduler : str or dask.distributed.Client, optional
        A scheduler address is connected to once (and the connection closed).

    Raises
    ------
    SecretomeError
        Naming the value at fault, or the address that could not be reached.
    """
    if scheduler is not None:
        client = _client(scheduler)
        if client is not scheduler:
            client.close()
        return
    if workers is None:
        return
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SecretomeError(f"workers must be a whole number of at least 1, not {workers!r}")


def _ignore_sigint() -> None:
    """Worker initialiser: Ctrl-C is the main process's to handle (it stops the workers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _new_pool(workers: int) -> ProcessPoolExecutor:
    """A local pool of spawned workers that leave Ctrl-C to this process."""
    # spawn: a fresh interpreter per worker; RoadRunner and fork do not mix safely
    ctx = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_ignore_sigint)


def _workers(pool: ProcessPoolExecutor) -> list:
    """The pool's worker processes now running."""
    return list((getattr(pool, "_processes", None) or {}).values())


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: cancel what has not started and end the workers' running tasks.

    ``shutdown`` alone waits for every running task to finish (a fit's start can
    take minutes), which is what an interrupt must not do.
    """
    processes = _workers(pool)
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + 10.0
    for p in processes:
        p.join(timeout=max(0.0, deadline - time.monotonic()))
        # The pool's own management thread may reap a worker first; is_alive() then
        # still says True (its waitpid fails) until that thread records the exit
        # code, a few ms later. Seen in 7 of 40 stops before this wait.
        while p.is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)


def run_tasks(
    fn: Callable[[T], R],
    tasks: Sequence[T],
    *,
    workers: int | None = 1,
    scheduler: str | None = None,
) -> Iterator[tuple[int, R]]:
    """Run ``fn`` on every task and yield ``(index, result)`` as each finishes.

    An interrupt (Ctrl-C, or SIGINT to this process alone) or an error stops the
    local workers at once, running tasks included; results already yielded are
    the caller's to keep (a fit has written them to disk).

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
    check_executor(workers)
    n = default_workers() if workers is None else int(workers)
    if n == 1 or len(tasks) <= 1:
        for i, task in enumerate(tasks):
            yield i, fn(task)
        return
    pool = _new_pool(min(n, len(tasks)))
    try:
        futures = {pool.submit(fn, task): i for i, task in enumerate(tasks)}
        for fut in as_completed(futures):
            yield futures[fut], fut.result()
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown(wait=True)


class KeptExecutor:
    """One executor kept open for many small batches: here, a local pool, or Dask.

    :func:`run_tasks` starts a pool per call, right for a fit's minutes-long starts;
    a sampler needs a batch every fraction of a second, so this keeps the pool (and
    each worker's compiled model) for the whole run. Use it as a context manager: a
    normal exit waits for the workers, an exception (Ctrl-C included) stops them at
    once, as :func:`run_tasks` does.

    Parameters
    ----------
    workers : int or None
        Local worker processes; ``1`` runs in this process, ``None`` every core.
        Ignored when ``scheduler`` is given.
    scheduler : str or dask.distributed.Client, optional
        A Dask scheduler's address (or a client, left open afterwards).
    """

    def __init__(self, workers: int | None = 1, scheduler: Any = None) -> None:
        if scheduler is None:  # a scheduler is reached (and checked) on entry
            check_executor(workers)
        self.workers = default_workers() if workers is None else int(workers)
        self.scheduler = scheduler
        self._pool: ProcessPoolExecutor | None = None
        self._client = None

    @property
    def slots(self) -> int | None:
        """How many pieces a batch is best split into (``None``: as many as it has)."""
        if self._client is not None:
            return None
        return self.workers if self._pool is not None else 1

    @property
    def processes(self) -> list:
        """The local pool's worker processes now running (none here or on Dask)."""
        return [] if self._pool is None else _workers(self._pool)

    def __enter__(self) -> KeptExecutor:
        if self.scheduler is not None:
            self._client = _client(self.scheduler)
        elif self.workers > 1:
            self._pool = _new_pool(self.workers)
        return self

    def __exit__(self, exc_type, *exc: object) -> None:
        if self._pool is not None:
            if exc_type is None:
                self._pool.shutdown(wait=True)
            else:
                _stop(self._pool)
        if self._client is not None and self._client is not self.scheduler:
            self._client.close()

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> list[R]:
        """``[fn(t) for t in tasks]``, in order, on this executor."""
        if self._client is not None:
            return self._client.gather(self._client.map(fn, list(tasks), pure=False))
        if self._pool is not None:
            return list(self._pool.map(fn, tasks))
        return [fn(t) for t in tasks]


def _client(address: Any):
    try:
        from dask.distributed import Client
    except ImportError:
        raise SecretomeError(
            "--scheduler needs Dask: install the extra with `pip install -e '.[dask]'`"
        ) from None
    if isinstance(address, Client):
        return address
    try:
        return Client(address, timeout="5s")
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise SecretomeError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


def _run_dask(fn: Callable[[T], R], tasks: Sequence[T], address: Any) -> Iterator[tuple[int, R]]:
    client = _client(address)
    from dask.distributed import as_completed as dask_completed

    owned = client is not address
    try:
        futures = client.map(fn, list(tasks), pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in dask_completed(futures):
            yield index[fut.key], fut.result()
    finally:
        if owned:
            client.close()
