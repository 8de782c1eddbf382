"""NMF on a Dask cluster: used by :class:`nmfkit.NMF` whenever X is a ``dask.array``.

X stays row-partitioned where Dask holds it (persisted in the workers' memory when it
fits there, otherwise read from its source, zarr or ``.npz`` shards, block by block in
each iteration).  Each iteration sums the k x n and k x k products across the blocks,
updates H on the client and each block of W where its rows live, by the registered
solvers' own update rules (:mod:`nmfkit.distributed.driver`).  The fit runs on the
active ``dask.distributed.Client``, or on Dask's threaded scheduler when there is none.

Importing this module does not import Dask.  See the guide page "Beyond one machine"
(``docs/scaling.md``) for what runs where and what it costs.
"""
from .data import from_npz, is_dask

__all__ = ["from_npz", "is_dask"]
