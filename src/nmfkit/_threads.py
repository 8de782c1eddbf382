"""Threads: the shared worker pool, BLAS thread limits, and Ctrl-C around in-place work."""
from __future__ import annotations

import numpy as np

from ._backends import is_sparse


_POOL = None


def pool():
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max_workers=cores(), thread_name_prefix="nmfkit")
    return _POOL


def cores() -> int:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


#: Width of the column blocks a factor is swept in: about this many bytes of a k x r
#: factor, so that a block's k rows stay in cache while all k rows are updated; factors
#: under two blocks are swept whole (blocking gains nothing there).
SWEEP_BLOCK_BYTES = 4 << 20


def one_column_block(U) -> bool:
    """Whether :func:`map_column_blocks` sweeps the k x r factor ``U`` as one block."""
    if not isinstance(U, np.ndarray) or U.nbytes < SWEEP_BLOCK_BYTES:
        return True
    k, r = U.shape
    return r < 2 * max(1, SWEEP_BLOCK_BYTES // max(1, k * U.itemsize))


def map_column_blocks(fn, U):
    """``[fn(slice) ...]`` over cache-sized column blocks of a k x r factor ``U``.

    For an update whose columns are independent (every Frobenius sub-problem: column j
    of Wᵀ is row j of W).  Large NumPy factors are cut into blocks of
    :data:`SWEEP_BLOCK_BYTES`, run on all cores with BLAS held at one thread; small
    ones, and other backends (a GPU wants the whole factor at once), get one block.
    """
    k, r = U.shape
    if one_column_block(U):
        return [fn(slice(0, r))]
    width = max(1, SWEEP_BLOCK_BYTES // max(1, k * U.itemsize))
    return map_threads(fn, [slice(a, min(a + width, r)) for a in range(0, r, width)])


def map_threads(fn, items):
    """``[fn(item) ...]`` on all cores (the shared pool), with BLAS held at one thread.

    Called from one of the pool's own threads (work already split), it runs in that
    thread.  If the caller is interrupted (Ctrl-C), items not yet started are cancelled
    and those running are waited for before the exception goes on, so nothing writes
    into the caller's arrays afterwards.
    """
    import threading

    if cores() == 1 or len(items) < 2 or threading.current_thread().name.startswith("nmfkit"):
        return [fn(item) for item in items]
    with _blas_controller().limit(limits=1, user_api="blas"):
        futures = [pool().submit(fn, item) for item in items]
        try:
            return [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            from concurrent.futures import wait

            wait(futures)
            raise


def interrupts_deferred():
    """A context in which Ctrl-C (SIGINT) is held back and delivered when it ends: for
    work that writes into arrays in place and must not be left half done.  Outside the
    main thread (where Python never delivers signals) it does nothing; nor where SIGINT
    is ignored (a process started in the background: there is nothing to hold back) or
    handled outside Python (a handler it could not put back)."""
    import contextlib
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, None):
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def held():
        caught = []
        previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
            if caught:
                signal.raise_signal(signal.SIGINT)  # to the handler that was there before

    return held()


_CONTROLLER = None


def _blas_controller():
    """threadpoolctl's controller, built once: building one inspects every loaded
    library, which costs far more than a limit."""
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


#: Below this many flops per product, BLAS threads cost more than they save (on busy
#: cores OpenBLAS's thread wake-ups dominate digits-sized products).
SMALL_PRODUCT_FLOPS = 5e7


def blas_threads_for(X, k):
    """Context limiting BLAS to one thread when the products with X are small.

    Never raises the thread count a user has set; large problems keep it.
    """
    import contextlib

    nnz = X.nnz if is_sparse(X) else X.shape[0] * X.shape[1]
    if 2.0 * nnz * k >= SMALL_PRODUCT_FLOPS:
        return contextlib.nullcontext()
    return _blas_controller().limit(limits=1, user_api="blas")
