"""Where the distributed work runs: the user's Dask client, or Dask's threaded scheduler.

nmfkit starts no cluster of its own.  A fit on a dask array runs on the
``dask.distributed.Client`` that is active when it starts (the one ``Client(...)`` made
the default, or the client of the task it runs in), and otherwise on Dask's local
threaded scheduler, in this process.
"""
from __future__ import annotations

#: Partial results summed per task of the reduction tree: the client receives one k x n
#: sum, not one per block, and no task holds more than this many of them.
FAN_IN = 8


def active_client():
    """The active ``dask.distributed.Client``, or None (no client, or distributed not
    installed)."""
    try:
        from distributed import default_client, get_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:
        pass
    try:  # inside a task on a worker: the worker's own client
        return get_client()
    except ValueError:
        return None


class Runner:
    """Runs the driver's graphs on a client or on the threaded scheduler.

    Parameters
    ----------
    client : distributed.Client or None
        None: the active client if there is one, else the threaded scheduler.
    """

    def __init__(self, client=None):
        self.client = client if client is not None else active_client()

    def persist(self, *objects):
        """The objects with their results held where they were computed (on the workers
        of a cluster; in this process otherwise)."""
        if self.client is None:
            import dask

            return list(dask.persist(*objects, scheduler="threads"))
        return list(self.client.persist(list(objects)))

    def compute(self, *objects):
        """The results, brought to this process."""
        if self.client is None:
            import dask

            return list(dask.compute(*objects, scheduler="threads"))
        return list(self.client.gather(self.client.compute(list(objects))))

    def step(self, kept, parts):
        """One round of the driver: hold the blocks ``kept`` where they were computed and
        bring here the sum of the partial results ``parts`` (dicts of arrays and
        numbers, :func:`nmfkit.distributed.blocks.combine`), summed on the workers in a
        tree.  Returns (held blocks, sum); the tasks they share run once."""
        total = tree_sum(parts)
        *held, total = self.persist(*kept, total)
        return held, self.compute(total)[0]

    def memory(self) -> float:
        """Bytes the workers may hold (the sum of their ``memory_limit``; the memory
        available on this machine for the threaded scheduler, or for workers without a
        limit)."""
        import psutil

        available = float(psutil.virtual_memory().available)
        if self.client is None:
            return available
        limits = [float(w.get("memory_limit") or 0) for w in self._workers()]
        if not limits:
            return available
        return float(sum(limit if limit > 0 else available / len(limits) for limit in limits))

    def _workers(self):
        import inspect

        info = self.client.scheduler_info
        try:  # recent clients list only the first few workers unless asked for all
            all_of_them = "n_workers" in inspect.signature(info).parameters
        except (TypeError, ValueError):
            all_of_them = False
        return list((info(n_workers=-1) if all_of_them else info())["workers"].values())


def task(function, nout=None):
    """``function`` as a pure task of the graph: its key comes from its arguments, so
    the scheduler can recompute it (a block lost with a worker) and runs it once."""
    from dask import delayed

    return delayed(function, pure=True, nout=nout)


def literal(value):
    """A small array as one key of the graph: every block's task reads the same copy,
    and the scheduler keeps it, so a block lost with a worker can be recomputed."""
    from dask import delayed

    return delayed(value, pure=True)


def tree_sum(parts):
    """The delayed sum of delayed partial results, :data:`FAN_IN` at a time."""
    from .blocks import combine

    parts = list(parts)
    while True:
        parts = [task(combine)(*parts[i:i + FAN_IN])
                 for i in range(0, len(parts), FAN_IN)]
        if len(parts) == 1:
            return parts[0]
