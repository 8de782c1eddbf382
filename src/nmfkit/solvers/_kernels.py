"""Compiled inner loops (numba): Newton-CD's sweeps, and the NumPy backend's HALS sweep.

Three layouts of the same Newton-CD sweep: :func:`kl_dense_rows` (dense X),
:func:`stored_rows` (the stored entries of a sparse or mostly-zero X, or the observed
entries of a masked X; KL or least squares) and :func:`gram_rows` (least squares on a
dense X with few unobserved entries, from each row's Gram matrix).  :func:`hals_columns` is the HALS sweep of
:func:`nmfkit.solvers.hals.hals_sweep` for NumPy factors (see the end of this module).

Newton-CD for KL on a dense X (``newton_cd.py``) needs, for every variable of a row and
after every step, two sums over the row's n entries, Σ_j h_j x_j/y_j and
Σ_j h_j² x_j/y_j², where y = WH changes with each step.  As numpy and BLAS calls on row
blocks this was ten passes over a block per variable (two divisions, two matrix-vector
products, a rank-one update), bound by memory and single-threaded divisions.  Here a row
is one task: its y (n values) stays in L1 cache for all k steps, each step is one pass
that divides once, and rows run on several threads (the kernels release the GIL).
Same steps, same order (Gauss–Seidel over the components, rows independent): the
iterates equal the vectorised ones up to rounding (tests/test_beta.py).

The Newton step itself is written once, :func:`newton_step` (KL's, with its optional
bound, :func:`kl_step`), and both kernels call it.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from .._data import entry_cuts
from .._sums import _log

# Reassociation lets LLVM vectorise the sums (their order changes; see SUM_BLOCK for
# their precision); no approximate division, no NaN/Inf assumptions.
# error_model='numpy': a division by zero gives inf like numpy's instead of raising
# (WH is floored at eps, so no divisor is zero anyway).  Python's model, which tests
# every divisor, kept the loops from vectorising with earlier numba releases (recent
# releases vectorise either way).
_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}
_FASTMATH = {"reassoc", "contract"}


@njit(**_JIT)
def newton_step(u, grad, hess, l1, l2):
    """Projected Newton step of one variable's sub-problem: the change to u.

    ``grad`` and ``hess`` are the data part of the derivatives at u; the elastic-net
    penalty is added here.  A variable with no curvature (no observed entry) goes to 0
    when its gradient is positive and stays otherwise.
    """
    hess = hess + l2
    return newton_step_given(u, grad, 1.0 / hess if hess > 0 else 0.0, l1, l2)


@njit(**_JIT)
def newton_step_given(u, grad, inverse, l1, l2):
    """:func:`newton_step` given ``inverse`` = 1 / (hess + l2) (0: no curvature), for a
    caller whose curvature stays fixed over many steps (:func:`gram_rows`): the
    division is then out of the chain of dependent steps."""
    grad = grad + l1 + l2 * u
    if inverse > 0:
        target = u - grad * inverse
    elif grad > 0:
        target = 0.0
    else:
        target = u
    return max(target, 0.0) - u


@njit(**_JIT)
def kl_step(u, linear, s, h, l1, l2, bounded):
    """A KL variable's step: :func:`newton_step` from the data part of its derivatives,
    g = ``linear`` − ``s`` and h (``s`` = Σ_q o_q x_q/y_q, ``linear`` = Σ o over the
    entries the gradient runs over).

    The one-variable problem f(v) = (ℓ + l1)·v + ½·l2·v² − Σ_q x_q log(c_q + o_q v) is
    convex with f'' falling in v, so a Newton step up never passes the minimiser, while
    one down can land past it, higher than it started (even at 0, where f may be
    infinite).  ``bounded`` keeps a step down no longer than the step to the minimiser
    of Jensen's majoriser of f at u (Lee & Seung's multiplicative step, for this one
    variable): a·v + ½·l2·v² − s·u·log v, a = ℓ + l1, minimised at the positive root of
    l2·v² + a·v − s·u.  That point lowers f (it minimises a function above f that
    touches it at u), and f is convex, so every point between it and u lowers f too:
    each bounded step is monotone.
    """
    step = newton_step(u, linear - s, h, l1, l2)
    if bounded and step < 0.0:
        a = linear + l1
        c = s * u
        # 2c / (a + √(a² + 4·l2·c)): the root, in the form without cancellation
        den = a + np.sqrt(a * a + 4.0 * l2 * c)
        if den > 0.0:
            step = max(step, 2.0 * c / den - u)
    return step


# The row-level pieces both layouts share (numba inlines these small functions).

@njit(fastmath=_FASTMATH, **_JIT)
def _row_model(y, U, i, O, eps, floor):
    """y ← Σ_r U[r, i]·O[r, :] (a row of WH, in y's dtype), floored at ``eps`` when
    ``floor`` (KL divides by it)."""
    y[:] = 0
    for r in range(U.shape[0]):
        u = y.dtype.type(U[r, i])
        for j in range(y.shape[0]):
            y[j] += u * O[r, j]
    if floor:
        for j in range(y.shape[0]):
            if y[j] < eps:
                y[j] = eps


#: Entries the dense kernel's KL sums add up in its scratch dtype before they join the
#: float64 total.  float32 sums in blocks of 256 (16 or 8 per SIMD lane) vectorise at
#: full width, where float64 ones converted every term and halved it.  The price is a
#: block sum's rounding, ~1e-7 relative,
#: the size of the float32 terms' own (tests/test_beta.py).
SUM_BLOCK = 256


@njit(fastmath=_FASTMATH, **_JIT)
def _kl_sums(x, y, o, o2, zero):
    """(Σ_j o_j x_j/y_j, Σ_j o2_j x_j/y_j²) over a row (o2 = o², or None to form it
    here): the data part of a KL variable's gradient and curvature; one division per
    entry, summed in the type of ``zero`` (float64 for the stored-entry kernel; the
    dense kernel sums blocks in its scratch dtype, :func:`_kl_sums_in_blocks`)."""
    one = y.dtype.type(1.0)
    s = zero
    h = zero
    for j in range(y.shape[0]):
        inv = one / y[j]
        q = x[j] * inv
        s += q * o[j]
        # (o2 is None: decided when numba compiles, not per entry)
        h += q * inv * (o[j] * o[j] if o2 is None else o2[j])
    return s, h


@njit(fastmath=_FASTMATH, **_JIT)
def _kl_sums_in_blocks(x, y, o):
    """:func:`_kl_sums` summed in y's dtype over blocks of ``SUM_BLOCK`` entries and in
    float64 across blocks, with o² formed in the loop: the k rows of o and o² a dense
    row's steps read outgrow L1 on problems of a few thousand columns, and there a
    multiplication costs less than the load.  (The stored-entry kernel's rows are short
    and gathered: there, reading its gathered o² was faster.)"""
    zero = y.dtype.type(0.0)
    s = 0.0
    h = 0.0
    for a in range(0, y.shape[0], SUM_BLOCK):
        # slices, so the loop's index is known non-negative: an index numba might have
        # to wrap around keeps LLVM from loading consecutive entries (much slower)
        b = min(a + SUM_BLOCK, y.shape[0])
        sb, hb = _kl_sums(x[a:b], y[a:b], o[a:b], None, zero)
        s += sb
        h += hb
    return s, h


@njit(fastmath=_FASTMATH, **_JIT)
def _add_step(y, step, o, eps, floor):
    """y ← y + step·o after a variable moved, floored at ``eps`` when ``floor``."""
    st = y.dtype.type(step)
    for j in range(y.shape[0]):
        v = y[j] + st * o[j]
        y[j] = v if (not floor or v > eps) else eps


@njit(fastmath=_FASTMATH, **_JIT)
def _xlogy(x, y):
    """Σ_j x_j log y_j in float64 (y ≥ eps: a zero of x adds 0·log y = 0)."""
    acc = 0.0
    for j in range(y.shape[0]):
        acc += x[j] * _log(np.float64(y[j]))
    return acc


@njit(fastmath=_FASTMATH, **_JIT)
def kl_dense_rows(Z, U, O, linear, l1, l2, bounded, eps, steps, measure, a, b):
    """One Gauss–Seidel Newton sweep of rows a:b of Z ≈ Uᵀ·O for KL; returns Σ z log(WH).

    Z (m x n) and O (k x n) are in the scratch dtype; U (k x m) is the factor
    swept in place (column i of U holds row i's k variables); ``linear`` (k) is Σ_j O_rj,
    where the zeros of X enter the gradient.  y = WH of the row is formed once, floored
    at ``eps`` like every later update of it.  With ``measure``, the return value is
    Σ_j z_ij log y_ij over the rows after their steps (float64), else 0.  Without
    ``steps``, nothing moves: the call only measures.  ``bounded``: steps down bounded
    so that each lowers the objective (:func:`kl_step`).
    """
    y = np.empty(Z.shape[1], Z.dtype)
    total = 0.0
    for i in range(a, b):
        _row_model(y, U, i, O, eps, True)
        for r in range(U.shape[0] if steps else 0):
            s, h = _kl_sums_in_blocks(Z[i], y, O[r])
            step = kl_step(U[r, i], linear[r], s, h, l1, l2, bounded)
            if step != 0.0:
                U[r, i] += step
                _add_step(y, step, O[r], eps, True)
        if measure:
            total += _xlogy(Z[i], y)
    return total


@njit(fastmath=_FASTMATH, **_JIT)
def stored_rows(indptr, cols, x, U, OT, linear, least_squares, l1, l2, bounded, eps, steps,
                measure, a, b):
    """:func:`kl_dense_rows` for the stored (or observed) entries of X only, given as CSR
    (``indptr``, ``cols``, ``x``); returns [Σ x log WH, Σ WH] (KL) or [Σ (x − WH)², Σ WH]
    (least squares) over the entries when ``measure``, else zeros.

    ``OT`` (n x k, float64) is the other factor transposed: a row gathers the k values
    at each of its columns once into a k x nnz_i buffer, and its steps then run on
    contiguous memory.  WH at the row's entries is formed afresh (floored at ``eps`` for
    KL, which divides by it), so nothing is carried between sweeps.

    KL: g = ℓ_r − Σ_q o_q x_q/y_q, h = Σ_q o_q² x_q/y_q², where ℓ_r = Σ_j o_rj over
    all j — ``linear`` (1 x k), when the unstored entries are zeros of X — or over the
    row's entries only, gathered here (``linear`` of 0 rows: the entries are the
    observed ones of a mask).  Least squares on observed entries: g = −Σ_q o_q (x_q −
    y_q), h = Σ_q o_q², the exact step (weighted HALS).  Both row sums come from the
    gather, so a sweep reads the other factor once.  A row without entries has no
    curvature: its variables go to 0 when their gradient is positive, as
    :func:`newton_step` says.  ``bounded``: KL's steps down bounded (:func:`kl_step`;
    least squares' steps are exact).
    """
    k = U.shape[0]
    longest = 0
    for i in range(a, b):
        longest = max(longest, indptr[i + 1] - indptr[i])
    G = np.empty((k, longest))
    G2 = np.empty((k, longest))
    buffer = np.empty(longest)
    row_sums = np.empty(k)
    sums = np.zeros(2)
    shared = linear.shape[0] == 1
    for i in range(a, b):
        p0 = indptr[i]
        L = indptr[i + 1] - p0
        xi, y = x[p0:p0 + L], buffer[:L]
        # The branches are the same for every entry (LLVM takes them out of the loop):
        # least squares sums o², KL keeps o² and, over a mask, sums o.
        if least_squares or not shared:
            row_sums[:] = 0.0
        for q in range(L):
            c = cols[p0 + q]
            for r in range(k):
                o = OT[c, r]
                G[r, q] = o
                if least_squares:
                    row_sums[r] += o * o
                else:
                    G2[r, q] = o * o
                    if not shared:
                        row_sums[r] += o
        _row_model(y, U, i, G, eps, not least_squares)
        for r in range(k if steps else 0):
            if least_squares:
                s = 0.0
                for q in range(L):
                    s += (xi[q] - y[q]) * G[r, q]
                step = newton_step(U[r, i], -s, row_sums[r], l1, l2)
            else:
                s, h = _kl_sums(xi, y, G[r], G2[r], 0.0)
                step = kl_step(U[r, i], linear[0, r] if shared else row_sums[r], s, h, l1,
                               l2, bounded)
            if step != 0.0:
                U[r, i] += step
                _add_step(y, step, G[r], eps, not least_squares)
        if measure:
            if least_squares:
                for q in range(L):
                    sums[0] += (xi[q] - y[q]) ** 2
            else:
                sums[0] += _xlogy(xi, y)
            sums[1] += y.sum()
    return sums


@njit(fastmath=_FASTMATH, **_JIT)
def _add_outer(Qf, OT, c, o, sign):
    """Qf ← Qf + sign·vec(o oᵀ) for o = OT[c] (copied to ``o`` first: a row of OT read k
    times from a small contiguous buffer)."""
    k = o.shape[0]
    for t in range(k):
        o[t] = OT[c, t]
    for r in range(k):
        v = sign * o[r]
        for t in range(k):
            Qf[r * k + t] += v * o[t]


@njit(fastmath=_FASTMATH, **_JIT)
def _add_row(Qf, row, sign):
    """Qf ← Qf + sign·row: one outer product formed by :func:`column_outers`, a single
    contiguous loop of k² the compiler vectorises (the k loops of k above are too short
    for it)."""
    if sign > 0:
        for e in range(Qf.shape[0]):
            Qf[e] += row[e]
    else:
        for e in range(Qf.shape[0]):
            Qf[e] -= row[e]


@njit(fastmath=_FASTMATH, **_JIT)
def column_outers(OT, out):
    """Row j of ``out`` (n x k²) ← vec(o_j o_jᵀ) for the rows o_j of OT (n x k, the other
    factor transposed): :func:`gram_rows`'s ``outer``, formed once per call for all rows'
    Gram matrices."""
    n, k = OT.shape
    for j in range(n):
        for r in range(k):
            v = OT[j, r]
            for t in range(k):
                out[j, r * k + t] = v * OT[j, t]
    return out


@njit(fastmath=_FASTMATH, **_JIT)
def gram_rows(B, gram, indptr, cols, OT, outer, U, l1, l2, max_sweeps, delta, steps, measure,
              a, b):
    """Exact coordinate descent on rows a:b of U for least squares on the observed entries
    of a dense X, from each row's Gram matrix: the layout of :func:`stored_rows`'s
    weighted HALS for an X with few unobserved entries.

    Row i's problem is ½ Σ_{j observed} (x_ij − u·o_j)², whose data are the k x k
    Q_i = Σ_{j observed} o_j o_jᵀ and b_i = Σ_{j observed} x_ij o_j.  ``B`` (rows x k)
    holds the b_i (X with its unobserved entries zeroed, times the other factor: one
    product for all rows).  The row's observed columns are the CSR ``indptr``, ``cols``
    (sorted within a row).  Q_i is their sum where they are at most half the row, and
    otherwise ``gram`` (OOᵀ) less the outer products of the unobserved columns (the
    gaps between the observed ones): the smaller set is summed, so the work per row is
    k² times the smaller of its observed and unobserved counts, and the subtraction
    never cancels more than half of OOᵀ.  ``OT`` is the other factor, transposed;
    ``outer`` its columns' outer products (:func:`column_outers`), or an empty array to
    form them from OT per row.  With Q_i and b_i at hand a sweep over the row's k
    variables costs k² (the row's gradient Q_i u − b_i is kept and moved with each
    step, so a step reads one row of Q_i and sums nothing), and sweeps repeat (Gillis &
    Glineur 2012) up to ``max_sweeps`` until one moves the row by less than ``delta``
    times the first.  A variable whose curvature Q_rr is lost to cancellation (below 1e-12 of OOᵀ's) is
    treated as having none, as :func:`newton_step` says.

    Returns Σ_i (uᵀ Q_i u − 2 u·b_i) over the rows after their steps when ``measure``
    (½‖X_Ω‖² plus half of it is the objective), else 0.
    """
    k = U.shape[0]
    Qf = np.empty(k * k)
    Q = Qf.reshape((k, k))
    gram_flat = np.ascontiguousarray(gram).reshape(k * k)
    w = np.empty(k)
    o = np.empty(k)
    grad = np.empty(k)
    inverse = np.empty(k)
    total = 0.0
    n = OT.shape[0]
    formed = outer.shape[0] > 0
    for i in range(a, b):
        q0, q1 = indptr[i], indptr[i + 1]
        if 2 * (q1 - q0) <= n:  # the observed columns
            Qf[:] = 0.0
            for q in range(q0, q1):
                if formed:
                    _add_row(Qf, outer[cols[q]], 1.0)
                else:
                    _add_outer(Qf, OT, cols[q], o, 1.0)
        else:  # OOᵀ less the unobserved columns
            Qf[:] = gram_flat
            q = q0
            for c in range(n):
                if q < q1 and cols[q] == c:
                    q += 1
                elif formed:
                    _add_row(Qf, outer[c], -1.0)
                else:
                    _add_outer(Qf, OT, c, o, -1.0)
        for r in range(k):
            w[r] = U[r, i]
        for r in range(k):
            acc = -B[i, r]
            for t in range(k):
                acc += Q[r, t] * w[t]
            grad[r] = acc
        for r in range(k):
            h = (Q[r, r] if Q[r, r] > 1e-12 * gram[r, r] else 0.0) + l2
            inverse[r] = 1.0 / h if h > 0 else 0.0
        first = 0.0
        for sweep in range(max_sweeps if steps else 0):
            moved = 0.0
            for r in range(k):
                step = newton_step_given(w[r], grad[r], inverse[r], l1, l2)
                if step != 0.0:
                    w[r] += step
                    moved += step * step
                    for t in range(k):  # Q_i is symmetric: its row r is its column r
                        grad[t] += step * Q[r, t]
            if sweep == 0:
                first = moved
            if moved <= delta * delta * first:
                break
        for r in range(k):
            U[r, i] = w[r]
        if measure:
            for r in range(k):
                if w[r] != 0.0:
                    acc = 0.0
                    for t in range(k):
                        acc += Q[r, t] * w[t]
                    total += w[r] * (acc - 2.0 * B[i, r])
    return total


@njit(fastmath=_FASTMATH, **_JIT)
def xlogx_rows(Z, a, b):
    """Σ z log z over rows a:b of Z (0 log 0 = 0), logs and sums in float64: KL's
    x-only term, on all cores (one log per entry is the whole cost)."""
    total = 0.0
    for i in range(a, b):
        acc = 0.0
        for j in range(Z.shape[1]):
            z = np.float64(Z[i, j])
            acc += z * _log(z if z > 0.0 else 1.0)
        total += acc
    return total


def threads():
    """Threads the kernels use: numba's count (``NUMBA_NUM_THREADS``, or
    ``numba.set_num_threads``; all cores by default).  Not the BLAS count: nmfkit holds
    BLAS to one thread for small products, where a thread costs more than the product,
    while a kernel's rows are independent work of ~10·k operations per entry."""
    import numba

    return max(1, int(numba.get_num_threads()))


_POOL = {}


def over_rows(kernel, m, n_threads, *args, indptr=None, work=0, min_work=0):
    """Run ``kernel(*args, a, b)`` over rows 0:m in ``n_threads`` contiguous chunks, in
    parallel (the kernels release the GIL); returns the sum of the results.  With a CSR
    ``indptr`` the chunks hold about equal numbers of entries, not of rows.  A call whose
    ``work`` (entries x components) is below ``min_work`` runs on the calling thread:
    handing chunks to the pool and waking its threads costs tens of microseconds per
    chunk, more than such a call takes on one core."""
    if n_threads <= 1 or m < 2 * n_threads or work < min_work:
        return kernel(*args, 0, m)
    if indptr is None:
        cuts = np.linspace(0, m, n_threads + 1).astype(int)
    else:
        cuts = np.concatenate([[0], entry_cuts(indptr, n_threads), [m]])
    pool = _POOL.get(n_threads)
    if pool is None:
        pool = _POOL[n_threads] = ThreadPoolExecutor(n_threads, thread_name_prefix="nmfkit")
    futures = [pool.submit(kernel, *args, int(a), int(b)) for a, b in zip(cuts[:-1], cuts[1:])]
    return sum(f.result() for f in futures)


# ----------------------------------------------------------------------------- HALS
#: Bytes of the factor's k rows one tile of :func:`hals_columns` covers: the k row
#: segments, read once per row update, stay in L2 cache for all k updates.
HALS_TILE_BYTES = 1 << 17


@njit(**_JIT)
def hals_inverse_diagonal(A):
    """1 / a_jj for each j (divided in A's dtype, returned as float64), or 0 where a_jj
    is at most ε² of the largest a_jj (a vanished component,
    :func:`nmfkit.solvers.hals.update`)."""
    k = A.shape[0]
    largest = -np.inf
    for j in range(k):
        largest = max(largest, np.float64(A[j, j]))
    eps = np.finfo(A.dtype).eps
    threshold = A.dtype.type(np.float64(eps) ** 2 * largest)
    one = A.dtype.type(1.0)
    inv = np.zeros(k)
    for j in range(k):
        if A[j, j] > threshold:
            inv[j] = one / A[j, j]
    return inv


@njit(**_JIT)
def hals_columns(U, A, B, inv, l1, order, a, b):
    """One Gauss–Seidel HALS sweep of columns a:b of U (k x r) in place; returns the
    sweep's Σ (ΔU)² over them, in float64.  ``order``: the rows in the order to visit
    them, or empty for 0, 1, ..., k − 1; ``inv`` (float64): 1 / a_jj for each row, or
    empty for :func:`hals_inverse_diagonal` of A.

    The NumPy backend's implementation of :func:`nmfkit.solvers.hals.hals_sweep`: the
    same step, row order and operations, each rounded on its own in U's dtype
    (no fast-math: a contracted multiply-add would leave rounding residues where the
    array form gives exact zeros), for each row j in ``order``
    u_j ← max(((b_j − a_jᵀU) − l1)·inv_j + u_j, 0), NaN kept as NaN.  Only the order of
    the k terms of a_jᵀU may differ from BLAS's.  Columns are independent, so they are
    swept one tile at a time (:data:`HALS_TILE_BYTES`); in the array-API form each row
    update is several array calls, here one pass over the tile's row.
    """
    k = U.shape[0]
    natural = order.shape[0] == 0
    if inv.shape[0] == 0:
        inv = hals_inverse_diagonal(A)  # both float64: one type for numba
    zero = U.dtype.type(0.0)
    width = max(16, HALS_TILE_BYTES // max(1, k * U.itemsize))
    tile = min(width, max(1, b - a))
    g = np.empty(tile, U.dtype)
    # Σ (ΔU)² per column of the tile: a sum that vectorises without reassociating
    squares = np.zeros(tile)
    for c0 in range(a, b, width):
        c1 = min(c0 + width, b)
        w = c1 - c0
        # (row slices, not U[t, c0 + c]: an index numba cannot prove non-negative gets a
        # wrap-around test that keeps LLVM from vectorising the loops)
        gw, sw = g[:w], squares[:w]
        for jj in range(k):
            j = jj if natural else order[jj]
            # a_jᵀU, its terms added in order; four rows of U per pass over the tile
            # (the same sums, a quarter of the loads and stores of g)
            gw[:] = zero
            t = 0
            while t + 4 <= k:
                a0, a1, a2, a3 = A[j, t], A[j, t + 1], A[j, t + 2], A[j, t + 3]
                U0, U1, U2, U3 = U[t, c0:c1], U[t + 1, c0:c1], U[t + 2, c0:c1], U[t + 3, c0:c1]
                for c in range(w):
                    gw[c] = (((gw[c] + a0 * U0[c]) + a1 * U1[c]) + a2 * U2[c]) + a3 * U3[c]
                t += 4
            while t < k:
                at, Ut = A[j, t], U[t, c0:c1]
                for c in range(w):
                    gw[c] += at * Ut[c]
                t += 1
            step = U.dtype.type(inv[j])
            Bj, Uj = B[j, c0:c1], U[j, c0:c1]
            for c in range(w):
                old = Uj[c]
                v = ((Bj[c] - gw[c]) - l1) * step + old
                if v < zero:  # not for NaN, which stays (as with np.maximum)
                    v = zero
                Uj[c] = v
                d = np.float64(v) - np.float64(old)
                sw[c] += d * d
    return squares.sum()


# ------------------------------------------------------------------- extrapolation
#: Fast-math for the compiled loops that sum: reassociation only, so that the sums
#: vectorise; no contraction (a fused multiply-add would round the entries differently
#: from the array form's separate operations, and leave residues where it gives zeros).
#: The entries themselves are formed in functions without fast-math (LLVM keeps each
#: instruction's flags when it inlines them).
_SUMS = {"reassoc"}


@njit(**_JIT)
def _extrapolated_value(new, prev, beta, zero):
    """[(new − prev)·β + new]₊ of one entry, each operation rounded on its own (as
    :func:`nmfkit.solvers.alternating.extrapolated`'s array form); NaN stays NaN."""
    v = (new - prev) * beta + new
    return zero if v < zero else v


@njit(**_JIT)
def extrapolate(new, prev, beta, out):
    """out ← [new + β(new − prev)]₊ for 2-D arrays of one shape: the NumPy backend's
    :func:`nmfkit.solvers.alternating.extrapolated`, in one pass (``out`` may be
    ``prev`` or ``new``: each entry is read before it is written)."""
    zero = out.dtype.type(0.0)
    bt = out.dtype.type(beta)
    for i in range(new.shape[0]):
        for j in range(new.shape[1]):
            out[i, j] = _extrapolated_value(new[i, j], prev[i, j], bt, zero)


@njit(fastmath=_SUMS, **_JIT)
def extrapolate_terms(new, prev, beta, out, B):
    """:func:`extrapolate`, returning the candidate's terms of the Frobenius objective
    that need a pass over it: (⟨B, out⟩, Σ out), summed in float64."""
    zero = out.dtype.type(0.0)
    bt = out.dtype.type(beta)
    cross = 0.0
    total = 0.0
    for i in range(new.shape[0]):
        for j in range(new.shape[1]):
            v = _extrapolated_value(new[i, j], prev[i, j], bt, zero)
            out[i, j] = v
            cross += np.float64(B[i, j]) * np.float64(v)
            total += np.float64(v)
    return cross, total


# ---------------------------------------------------------------- multiplicative
@njit(**_JIT)
def _mu_value(u, den, b, l1, l2, tiny, zero):
    """u·([b]₊ / max(den + l2·u + l1, tiny)), each operation rounded on its own (as
    :func:`nmfkit.solvers.mu.update`'s array form); max as np.maximum takes it (NaN
    stays NaN)."""
    if l2 != zero:
        den = den + l2 * u
    if l1 != zero:
        den = den + l1
    return u * ((zero if b < zero else b) / (tiny if den < tiny else den))


@njit(fastmath=_SUMS, **_JIT)
def mu_step(U, D, B, l1, l2, tiny, out):
    """out ← U ∘ [B]₊ / max(D + l2·U + l1, tiny), D = AU: the NumPy backend's Frobenius
    multiplicative step (:func:`nmfkit.solvers.mu.update`) in one pass, the operations
    in the same order and dtype; returns Σ (out − U)², in float64."""
    zero = U.dtype.type(0.0)
    change = 0.0
    for i in range(U.shape[0]):
        for j in range(U.shape[1]):
            u = U[i, j]
            v = _mu_value(u, D[i, j], B[i, j], l1, l2, tiny, zero)
            out[i, j] = v
            d = np.float64(v) - np.float64(u)
            change += d * d
    return change
