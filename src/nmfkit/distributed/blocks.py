"""What runs where a row block of X lives: one partition's share of each iteration.

The Frobenius objective and its gradients are sums over the rows of X, and so are the
β-divergence terms of H's update, so each block X_p (m_p x n, with its rows W_p of W)
returns its part of the k x n and k x k products, which are summed across blocks; W_p's
own update needs only X_p, H and HHᵀ (Gillis 2020, §8.3: the rows of W are independent
sub-problems given H).  Every function here is a pure function of its arguments (no
state kept on a worker), so a block lost with a worker is recomputed from its inputs.

The update rules are the solvers' own: the Frobenius rule passed in as ``update``
(:func:`nmfkit.solvers.hals.update`, :func:`nmfkit.solvers.mu.update`, ...),
:func:`nmfkit.solvers.mu.beta_update` and :func:`nmfkit.solvers.mu.floored_candidate`
for the β-divergence, :func:`nmfkit.solvers.anls.nnls` for MU's final exact W step; the
products are :mod:`nmfkit._data`'s and the β terms :class:`nmfkit.objectives.BetaData`'s.
Frobenius blocks hold Wᵀ_p (k x m_p, row-major, as :mod:`nmfkit.solvers.alternating`
keeps W); β blocks hold W_p (m_p x k), as :func:`nmfkit.solvers.mu.solve_beta` does.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .. import _data, _sums
from ..objectives import BetaData, beta_divergence


# ----------------------------------------------------------------------------- data
def prepare(X_p, dtype):
    """A block of X in the form the products take: C-ordered NumPy, or CSR with
    duplicates summed (as :func:`nmfkit._validation.as_matrix` leaves an in-memory X)."""
    dtype = np.dtype(dtype)
    if hasattr(X_p, "to_scipy_sparse"):  # pydata sparse
        X_p = X_p.to_scipy_sparse()
    if sp.issparse(X_p):
        C = sp.csr_matrix(X_p, dtype=dtype, copy=False)
        if not C.has_canonical_format:
            C = C.copy()
            C.sum_duplicates()
        return C
    return np.ascontiguousarray(np.asarray(X_p), dtype=dtype)


def read_npz(path):
    """One shard written by ``scipy.sparse.save_npz`` or ``numpy.savez``."""
    with np.load(path, allow_pickle=False) as archive:
        if "format" in archive.files and "indptr" in archive.files:
            return sp.load_npz(path).tocsr()
        return archive[archive.files[0]]


def _first(mask, rows=None, cols=None):
    """(row, column, index) of the first True of a flag array, in row-major order."""
    if rows is None:
        r, c = np.unravel_index(int(np.argmax(mask.ravel())), mask.shape)
        return int(r), int(c), None
    flagged = np.flatnonzero(mask)
    order = np.lexsort((cols[flagged], rows[flagged]))[0]
    return int(rows[flagged[order]]), int(cols[flagged[order]]), int(flagged[order])


def summary(X_p, offset, want_xlogx=False, want_zeros=False):
    """The block's sums and the first bad entry of each kind (rows counted from the top
    of X): what :class:`nmfkit.distributed.data.DaskMatrix` checks and keeps."""
    sparse = sp.issparse(X_p)
    if sparse:
        values = X_p.data
        coo = X_p.tocoo() if values.size else None
        rows = None if coo is None else coo.row
        cols = None if coo is None else coo.col
    else:
        values = X_p
        rows = cols = None
    out = {"sparse": sparse, "rows": X_p.shape[0],
           "nnz": int(X_p.nnz) if sparse else int(X_p.shape[0] * X_p.shape[1])}
    for kind, test in (("nan", np.isnan), ("inf", np.isinf)):
        mask = test(values)
        out[kind] = int(mask.sum())
        if out[kind]:
            r, c, _ = _first(mask, rows, cols)
            out[kind + "_at"] = (r + offset, c)
    with np.errstate(invalid="ignore"):
        negative = values < 0
    out["neg"] = int(negative.sum())
    if out["neg"]:
        r, c, at = _first(negative, rows, cols)
        out["neg_at"] = (r + offset, c, float(values[r, c] if at is None else values[at]))
    finite = not (out["nan"] or out["inf"])
    out["sumsq"] = _sums.squared_norm(X_p) if finite else float("nan")
    out["sum"] = float(np.sum(values, dtype=np.float64)) if finite else float("nan")
    out["nonzero"] = int(np.count_nonzero(values))
    out["max"] = float(np.max(values)) if finite and values.size else 0.0
    if want_xlogx:
        positive = np.asarray(values[values > 0], dtype=np.float64)
        out["xlogx"] = float(np.dot(positive, np.log(positive)))
    if want_zeros:
        if sparse:
            out["zeros"] = X_p.shape[0] * X_p.shape[1] - out["nonzero"]
            if out["zeros"]:
                out["zero_at"] = _first_sparse_zero(X_p, offset)
        else:
            zero = values == 0
            out["zeros"] = int(zero.sum())
            if out["zeros"]:
                r, c, _ = _first(zero)
                out["zero_at"] = (r + offset, c)
    return out


def _first_sparse_zero(C, offset):
    from .._validation import _first_sparse_zero as first_zero

    row, column = first_zero(C)
    return (row + offset, column)


def combine(*parts):
    """The sum of the blocks' partial results (dicts of arrays and floats), in float64."""
    total = {}
    for part in parts:
        for key, value in part.items():
            if value is None:
                total.setdefault(key, None)
                continue
            if key not in total or total[key] is None:
                total[key] = np.array(value, dtype=np.float64, copy=True) \
                    if isinstance(value, np.ndarray) else float(value)
            else:
                total[key] += value
    return total


# ----------------------------------------------------------------------------- Frobenius
def _frobenius_terms(Wt_p, B_W, l1_W):
    """The block's share of the objective's terms for (Wᵀ_p, H), with B_W = H X_pᵀ:
    ⟨B_W, Wᵀ_p⟩, Wᵀ_pW_p, ΣW_p."""
    return {"cross": _sums.vdot64(B_W, Wt_p) if B_W is not None else None,
            "WtW": _sums.gram64(Wt_p),
            "sum_W": float(np.sum(Wt_p, dtype=np.float64)) if l1_W else 0.0}


def products(X_p, Wt_p):
    """{"WtX": W_pᵀX_p}, the block's part of the next H update's product (float64)."""
    return {"WtX": np.asarray(_data.Wt_times_X(Wt_p.T, X_p), dtype=np.float64)}


def frobenius_start(X_p, W_p, dtype, l1_W):
    """Wᵀ_p from a start W_p, and its part of WᵀW and WᵀX (the first H update's)."""
    Wt_p = np.ascontiguousarray(np.asarray(W_p, dtype=dtype).T)
    return Wt_p, {**_frobenius_terms(Wt_p, None, l1_W), **products(X_p, Wt_p)}


def frobenius_step(X_p, Wt_p, H, A, update, l1_W, l2_W, state, Wt_prev=None, beta=0.0):
    """The block's W update given H (the solver's rule ``update`` on Wᵀ_p with
    A = HHᵀ in the factor's dtype, B = H X_pᵀ) and its share of the new objective.

    With ``Wt_prev`` (the previous iterate), also the terms of the extrapolated
    candidate [Wᵀ_new + β(Wᵀ_new − Wᵀ_prev)]₊ (Ang & Gillis 2019, as
    :func:`nmfkit.solvers.alternating.run` tests it), under ``candidate_*`` keys; without
    it, the block's part of the next WᵀX, from the same read of X_p.
    """
    from ..solvers.alternating import extrapolated

    B_W = _data.H_times_Xt(H, X_p)
    Wt_new = update(Wt_p, A, B_W, l1_W, l2_W, dict(state))
    terms = _frobenius_terms(Wt_new, B_W, l1_W)
    if Wt_prev is None:
        terms.update(products(X_p, Wt_new))
    else:
        candidate = _frobenius_terms(extrapolated(Wt_new, Wt_prev, beta), B_W, l1_W)
        terms.update({"candidate_" + key: value for key, value in candidate.items()})
    return Wt_new, terms


def nnls_step(X_p, H, HHt, l1_W, l2_W):
    """The exact Wᵀ_p for H (non-negative least squares, Kim & Park 2011), as
    :func:`nmfkit.solvers.mu.solve` ends; with its exact residual ½‖X_p − W_p H‖²."""
    from ..solvers.anls import nnls

    Wt_new = nnls(HHt, _data.H_times_Xt(H, X_p), l1=l1_W, l2=l2_W)
    return np.ascontiguousarray(Wt_new), residual(X_p, Wt_new, H)


def residual(X_p, Wt_p, H):
    """{"divergence": ½‖X_p − W_p H‖²}, exactly (by row blocks) for dense X_p."""
    return {"divergence": 0.5 * _data.residual_squared_norm(X_p, np.ascontiguousarray(Wt_p.T), H)}


def divergence(X_p, W_p, H, beta):
    """{"divergence": D_β(X_p | W_p H)}: the in-memory definition on one block (the
    divergence is a sum over entries, so the blocks' values add up to X's)."""
    return {"divergence": float(beta_divergence(X_p, np.asarray(W_p), H, beta))}


# ----------------------------------------------------------------------------- β-divergence
def _beta_data(X_p, beta, x_sums):
    data = BetaData(X_p, beta)
    if x_sums is not None:
        data.cache_x_sums(*x_sums)  # from the summary pass: no log pass over X_p per call
    return data


def _beta_terms(data, W_p, H, Y, want_H_terms):
    """The block's divergence at (W_p, H), ΣW_p and ‖W_p‖², and (``want_H_terms``) its
    part of H's MU ratio at that pair."""
    out = {"value": data.value(Y, W_p, H),
           "sum_W": float(np.sum(W_p, dtype=np.float64)),
           "sq_W": _sums.vdot64(W_p, W_p)}
    if want_H_terms:
        out.update(_h_terms(data, W_p, H, Y))
    return out


def _h_terms(data, W_p, H, Y):
    numerator, denominator = data.terms_H(W_p, H, Y)
    return {"numerator": np.asarray(numerator, dtype=np.float64),
            "denominator": np.asarray(denominator, dtype=np.float64)}


def beta_start(X_p, W_p, H, beta, x_sums, dtype):
    """W_p of the start, and its share of D_β and of H's first MU ratio."""
    W_p = np.ascontiguousarray(np.asarray(W_p, dtype=dtype))
    data = _beta_data(X_p, beta, x_sums)
    return W_p, _beta_terms(data, W_p, H, data.model(W_p, H), True)


def beta_terms_H(X_p, W_p, H, beta, x_sums):
    """The block's part of H's MU ratio at (W_p, H): for an iteration that starts from
    an extrapolated pair."""
    data = _beta_data(X_p, beta, x_sums)
    return _h_terms(data, W_p, H, data.model(W_p, H))


def beta_step(X_p, W_p, H, beta, gamma, l1_W, l2_W, x_sums, want_H_terms):
    """The block's MM update of W_p given H (Févotte & Idier 2011, eq. 11 with the
    exponent γ(β)), then its share of D_β (and of the next H update's ratio)."""
    from ..solvers.mu import beta_update

    data = _beta_data(X_p, beta, x_sums)
    numerator, denominator = data.terms_W(W_p, H, data.model(W_p, H))
    W_new = beta_update(W_p, numerator, denominator, l1_W, l2_W, gamma)
    return W_new, _beta_terms(data, W_new, H, data.model(W_new, H), want_H_terms)


def beta_candidate(W_p, W_prev, step, floor, lift):
    """The block of the extrapolated W of :func:`nmfkit.solvers.mu.floored_candidate`,
    floored at ``floor``: its fraction of the mean of the whole W, not of this block."""
    from ..solvers.mu import floored_candidate

    mean = float(np.mean(W_p)) if W_p.size else 0.0
    if mean <= 0:
        # W_p = 0: the extrapolated block [0 − step·W_prev]₊ is 0, so the candidate is
        # the floor where lifted, and W_p itself where not.
        return np.full_like(W_p, floor) if lift else W_p.copy()
    return floored_candidate(W_p, W_prev, step, fraction=floor / mean, lift=lift)


# ----------------------------------------------------------------------------- starts, views
def random_rows(state, rows, k, scale, dtype):
    """Rows of a random start, |N(0, 1)|·scale, from a saved RandomState state: the rows
    :func:`nmfkit.init.initialize` draws for them when it draws the whole W at once."""
    rng = np.random.RandomState()
    rng.set_state(state)
    return np.abs(scale * rng.standard_normal(size=(rows, k)).astype(dtype, copy=False))


def transposed(Wt_p):
    """W_p (m_p x k) from Wᵀ_p, row-major."""
    return np.ascontiguousarray(Wt_p.T)


def transform_rows(X_p, model, dtype):
    """W for one row block of new data, by the fitted estimator's own ``transform``
    (given H, the rows of W are independent)."""
    return model.transform(prepare(X_p, dtype))
