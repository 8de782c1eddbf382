"""Clusters from factorizations: soft memberships, hard labels, communities in graphs.

NMF is a clustering method in disguise: a row of W (for the rows of X) says how much
each component explains that row, so normalising it gives soft memberships and its
largest entry a hard label (Ding, He & Simon 2005 show that symmetric NMF of a kernel
is equivalent to kernel k-means, and that orthogonal NMF is k-means).  For a graph,
symmetric NMF of the adjacency matrix (:class:`nmfkit.SymmetricNMF`) gives each node's
community; :func:`graph_communities` does it in one call and scores the partition by
Newman's modularity, choosing the number of communities by it when none is given.

This module is an application layer over the estimators (importable as
``nmfkit.cluster``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from ._validation import is_graph
from .estimators._base import hard_labels as _hard_labels
from .estimators._base import soft_memberships as _soft_memberships

__all__ = ["soft_membership", "hard_labels", "graph_communities", "GraphCommunities"]


def _as_factor(W, name="W"):
    if isinstance(W, pd.DataFrame):
        values = W.to_numpy(dtype=np.float64)
    else:
        values = np.asarray(W, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"{name} must be a 2-D factor (samples x components); got "
                         f"{values.ndim} dimension(s), shape {values.shape}.")
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        r, c = (int(v) for v in np.argwhere(bad)[0])
        raise ValueError(f"{name} must be finite and non-negative (a fitted NMF factor); "
                         f"{name}[{r}, {c}] = {float(values[r, c])!r}.")
    return values


def _weighted(W, H):
    """W with column j scaled by ‖h_j‖, the norm of component j (row j of H).

    W and H of a factorization share their scale freely (W D and D⁻¹ H fit equally
    well), so the raw entries of W compare components on arbitrary scales; W_ij ‖h_j‖ is
    the size of component j's part of row i of WH, whatever the split.
    """
    values = _as_factor(W)
    if H is None:
        return values
    norms = np.linalg.norm(_as_factor(H, name="H"), axis=1)
    if norms.shape[0] != values.shape[1]:
        raise ValueError(f"H has {norms.shape[0]} components (rows) but W has "
                         f"{values.shape[1]} (columns); pass the H of the same "
                         "factorization (model.components_).")
    return values * norms[None, :]


def soft_membership(W, H=None):
    """Soft cluster memberships: each row of W scaled to sum to 1.

    Parameters
    ----------
    W : array-like or DataFrame of shape (n_samples, n_components)
        A non-negative factor: NMF's W (``fit_transform``) for the rows of X, the
        transpose of ``components_`` for its columns, or ``SymmetricNMF.H_``.
    H : array-like of shape (n_components, n_features), optional
        The other factor (``model.components_``).  Given, each column of W is weighted
        by the norm of its component first, so that the memberships do not depend on
        how the factorization split the scale between W and H.

    Returns
    -------
    ndarray or DataFrame (when W is one, with its labels) of shape (n_samples, n_components)
        Rows sum to 1; a row of zeros (a sample no component explains) stays zero.

    Examples
    --------
    >>> from nmfkit.cluster import soft_membership
    >>> soft_membership([[3.0, 1.0], [0.0, 2.0], [0.0, 0.0]]).tolist()
    [[0.75, 0.25], [0.0, 1.0], [0.0, 0.0]]
    """
    values = _soft_memberships(_weighted(W, H))
    if isinstance(W, pd.DataFrame):
        return pd.DataFrame(values, index=W.index, columns=W.columns)
    return values


def hard_labels(W, H=None):
    """Hard cluster labels: the component of largest weight in each row of W.

    Parameters
    ----------
    W : array-like or DataFrame of shape (n_samples, n_components)
    H : array-like of shape (n_components, n_features), optional
        The other factor; given, the weights are W_ij ‖h_j‖ (see :func:`soft_membership`).

    Returns
    -------
    ndarray of int or Series (when W is a DataFrame, indexed like it) of shape (n_samples,)
        The column index of each row's largest entry (the first, on ties); -1 for a row
        of zeros, which no component explains.

    Examples
    --------
    >>> from nmfkit.cluster import hard_labels
    >>> hard_labels([[3.0, 1.0], [0.0, 2.0], [0.0, 0.0]]).tolist()
    [0, 1, -1]
    """
    labels = _hard_labels(_weighted(W, H))
    if isinstance(W, pd.DataFrame):
        return pd.Series(labels, index=W.index, name="cluster")
    return labels


@dataclass(frozen=True)
class GraphCommunities:
    """The communities :func:`graph_communities` found.

    Unpacks as ``communities, modularity = graph_communities(G)``.

    Attributes
    ----------
    communities : dict
        Node → community number (0 … k − 1); -1 for a node without edges.
    modularity : float
        Newman's modularity of the partition (a node without edges counts as a
        community of its own).
    k : int
        The number of communities fitted.
    scan : pandas.DataFrame or None
        When k was chosen: one row per k tried, with its modularity.
    model : nmfkit.SymmetricNMF
        The fit behind the partition (``H_``, ``memberships_`` for soft memberships).
    """

    communities: dict
    modularity: float
    k: int
    scan: pd.DataFrame | None = field(default=None, repr=False)
    model: object = field(default=None, repr=False)

    def __iter__(self):
        return iter((self.communities, self.modularity))

    def groups(self):
        """The communities as a list of sets of nodes (networkx's convention)."""
        out = {}
        for node, c in self.communities.items():
            out.setdefault(c, set()).add(node)
        return [out[c] for c in sorted(out)]


def graph_communities(G, k=None, *, k_range=range(2, 16), weight="weight", normalize=True,
                      n_init=5, random_state=None, **params):
    """Communities of an undirected networkx graph, by symmetric NMF of its adjacency.

    Parameters
    ----------
    G : networkx.Graph
        An undirected graph (weighted or not).
    k : int or None, default=None
        Number of communities.  None: each k of ``k_range`` is fitted and the partition
        of highest modularity kept.
    k_range : iterable of int, default=range(2, 16)
        The k tried when ``k`` is None (those above the number of nodes are skipped).
    weight : str or None, default='weight'
        Edge attribute holding the weights (edges without it weigh 1); None: 0/1 edges.
    normalize : bool, default=True
        Factorize the normalised adjacency D^(-1/2) A D^(-1/2) (see
        :class:`nmfkit.SymmetricNMF`), which keeps communities of low-degree nodes
        apart; False: A itself.
    n_init : int, default=5
        Starts per k (the first NNDSVD, the others random); the partition of highest
        modularity is kept.
    random_state : int, RandomState instance or None
        Seed of the starts.
    **params
        Other parameters of :class:`nmfkit.SymmetricNMF` (``max_iter``, ``tol``,
        ``solver``...).

    Returns
    -------
    GraphCommunities
        Unpacks as ``(communities, modularity)``: a dict node → community and the
        partition's modularity; also ``.k``, ``.scan`` (modularity per k tried) and
        ``.model``.

    Examples
    --------
    >>> import networkx as nx
    >>> from nmfkit.cluster import graph_communities
    >>> communities, Q = graph_communities(nx.karate_club_graph(), 2, random_state=0)
    >>> len(communities), len(set(communities.values())), bool(Q > 0.3)
    (34, 2, True)
    """
    if not is_graph(G):
        raise TypeError(f"graph_communities takes a networkx graph; got {type(G).__name__}. "
                        "For a matrix, use nmfkit.SymmetricNMF(k).fit_predict(A).")
    import networkx as nx  # installed: G is one of its graphs

    from .estimators.symmetric import SymmetricNMF

    n = G.number_of_nodes()
    if k is not None:
        ks = [k]
    else:
        ks = [int(v) for v in k_range if 1 <= int(v) <= n]
        if not ks:
            raise ValueError(f"no k in k_range={k_range!r} fits a graph of {n} nodes; pass "
                             f"k_range with values between 1 and {n}.")
    if not isinstance(n_init, int) or n_init < 1:
        raise ValueError(f"n_init must be a positive int; got {n_init!r}.")
    rng = check_random_state(random_state)
    best, rows = None, []
    for kk in ks:
        best_k = None
        for start in range(n_init):
            model = SymmetricNMF(kk, init="auto" if start == 0 else "random", weight=weight,
                                 normalize=normalize,
                                 random_state=rng.randint(np.iinfo(np.int32).max), **params)
            model.fit(G)
            q = _modularity(nx, G, model, weight)
            if best_k is None or q > best_k[0]:
                best_k = (q, model)
        rows.append({"k": kk, "modularity": best_k[0]})
        if best is None or best_k[0] > best[0]:
            best = best_k
    q, model = best
    communities = {node: int(label) for node, label in zip(model.nodes_.tolist(), model.labels_)}
    scan = pd.DataFrame(rows).set_index("k") if k is None else None
    return GraphCommunities(communities=communities, modularity=float(q),
                            k=model.n_components_, scan=scan, model=model)


def _modularity(nx, G, model, weight):
    groups = {}
    for node, label in zip(model.nodes_.tolist(), model.labels_):
        # A node without edges is no community's member: it stands alone.
        groups.setdefault(int(label) if label >= 0 else ("alone", node), set()).add(node)
    return float(nx.community.modularity(G, list(groups.values()), weight=weight))
