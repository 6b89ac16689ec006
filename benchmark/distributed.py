"""Running jobs on a Dask distributed cluster (``--scheduler ADDRESS`` or ``--dask-local N``).

The dataset is scattered to every worker once (``broadcast=True``) and jobs receive a
reference to it, so it is shipped once per worker, not once per job. Jobs run the same
`benchmark.worker.execute` as the local backends; workers return records and
predictions to the client, which writes them, so workers need no shared filesystem.

A worker must run the client's code: a record is stamped with the client's code fingerprint
(:func:`benchmark.fastpath.code_fingerprint`) and a job's key does not change with the code, so
a worker on another checkout would write records that claim code they were not made by. Each
worker's fingerprint is therefore compared with the client's before any job is sent (every
worker connected then), and again by every job on the worker that runs it (workers that join
later); a mismatch stops the run with one ``error:`` line naming the worker (docs/cluster.md).
"""
from __future__ import annotations

import functools

from .errors import UsageError
from .worker import execute

WAIT_FOR_WORKERS_S = 60


@functools.cache
def worker_code() -> str:
    """This process's code fingerprint (computed once per worker process)."""
    from .fastpath import code_fingerprint

    return code_fingerprint()


def _mismatch(where: str, theirs: str, ours: str) -> UsageError:
    return UsageError(f"worker {where} runs code {theirs}, this client {ours}: start every worker "
                      "from the same commit and checkout as the client (docs/cluster.md)")


def checked_execute(job, data, fold, **args):
    """:func:`execute` after checking that this worker runs the client's code (``args['code']``)."""
    expected = args.get("code")
    if expected and worker_code() != expected:
        from dask.distributed import get_worker

        raise _mismatch(get_worker().address, worker_code(), expected)
    return execute(job, data, fold, **args)


def check_workers(client, expected: str, scheduler: str) -> None:
    """Refuse a cluster with no worker, or with a worker whose code differs from ``expected``."""
    try:
        client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS_S)
    except TimeoutError:
        raise UsageError(f"--scheduler {scheduler}: no worker joined within {WAIT_FOR_WORKERS_S} s "
                         "(start one with `dask worker ADDRESS`, docs/cluster.md)") from None
    codes = client.run(worker_code)
    bad = {addr: code for addr, code in codes.items() if code != expected}
    if bad:
        addr, code = sorted(bad.items())[0]
        raise _mismatch(addr + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""), code, expected)


def run_on_dask(todo, data, args: dict, scheduler: str | None, n_local: int):
    """Yield (record, prediction) per job as jobs finish on the cluster."""
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if not scheduler:
        cluster = LocalCluster(n_workers=n_local, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
    try:
        client = Client(scheduler or cluster, timeout=WAIT_FOR_WORKERS_S)
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
    try:
        if args.get("code"):
            check_workers(client, args["code"], scheduler or "local")
        shared = client.scatter(data, broadcast=True)
        futures = [client.submit(checked_execute, job, shared, fold, pure=False, **args) for job, fold in todo]
        for fut in as_completed(futures):
            yield fut.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
