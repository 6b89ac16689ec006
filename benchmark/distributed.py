"""Running jobs on a Dask distributed cluster (``--scheduler ADDRESS`` or ``--dask-local N``).

The dataset is scattered to every worker once (``broadcast=True``) and jobs receive a
reference to it, so it is shipped once per worker, not once per job. Jobs run the same
`benchmark.worker.execute` as the local backends; workers return records and
predictions to the client, which writes them, so workers need no shared filesystem.
"""
from __future__ import annotations

from .worker import execute


def run_on_dask(todo, data, args: dict, scheduler: str | None, n_local: int):
    """Yield (record, prediction) per job as jobs finish on the cluster."""
    from dask.distributed import Client, LocalCluster, as_completed


    cluster = None
    if not scheduler:
        cluster = LocalCluster(n_workers=n_local, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
    client = Client(scheduler or cluster)
    try:
        shared = client.scatter(data, broadcast=True)
        futures = [client.submit(execute, job, shared, fold, pure=False, **args) for job, fold in todo]
        for fut in as_completed(futures):
            yield fut.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
