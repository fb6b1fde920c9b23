"""The executor: the same results in this process, on a process pool and on Dask."""

from __future__ import annotations

import math

import pytest

from secretome.errors import SecretomeError
from secretome.parallel import KeptExecutor, run_tasks

TASKS = list(range(12))
EXPECTED = [math.factorial(n) for n in TASKS]


def _ordered(pairs):
    return [r for _, r in sorted(pairs)]


def test_serial():
    assert _ordered(run_tasks(math.factorial, TASKS, workers=1)) == EXPECTED


def test_process_pool_matches_serial():
    assert _ordered(run_tasks(math.factorial, TASKS, workers=2)) == EXPECTED


def test_dask_local_cluster_matches_serial():
    distributed = pytest.importorskip("dask.distributed")
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster,
        distributed.Client(cluster) as client,
    ):
        pairs = list(run_tasks(math.factorial, TASKS, scheduler=client))
    assert _ordered(pairs) == EXPECTED


def test_bad_worker_count():
    with pytest.raises(SecretomeError, match="at least 1"):
        list(run_tasks(math.factorial, TASKS, workers=0))


def test_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(SecretomeError, match="cannot reach the Dask scheduler"):
        list(run_tasks(math.factorial, TASKS, scheduler="tcp://127.0.0.1:1"))


@pytest.mark.parametrize("workers", [1, 2])
def test_kept_executor_maps_in_order_over_many_batches(workers):
    with KeptExecutor(workers) as ex:
        batches = [ex.map(math.factorial, TASKS[k::3]) for k in range(3)]
    assert batches == [EXPECTED[k::3] for k in range(3)]


def test_kept_executor_on_dask_maps_in_order():
    distributed = pytest.importorskip("dask.distributed")
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster,
        distributed.Client(cluster) as client,
    ):
        with KeptExecutor(scheduler=client) as ex:
            assert ex.map(math.factorial, TASKS) == EXPECTED
            assert ex.slots is None
        assert client.status == "running"  # a client passed in is the caller's to close


def test_an_error_in_a_task_stops_the_kept_pool():
    """Regression, repeated: the pool's management thread can reap a worker before
    the stop's own join, and is_alive() then read True just after the stop (7 of
    40 stops did)."""
    for _ in range(6):
        with pytest.raises(ValueError), KeptExecutor(2) as ex:
            assert ex.map(math.factorial, [3, 4]) == [6, 24]
            workers = ex.processes  # this pool's own (the suite has other processes)
            assert workers and all(p.is_alive() for p in workers)
            ex.map(math.factorial, [3, -1])  # factorial() not defined for negative values
        assert not any(p.is_alive() for p in workers)


def test_kept_executor_refuses_a_bad_worker_count():
    with pytest.raises(SecretomeError, match="at least 1"):
        KeptExecutor(0)
