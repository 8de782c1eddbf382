"""TriNMF (X ≈ F S Gᵀ, Ding, Li, Peng & Park 2006): co-clusters of planted block matrices
and graphs, the bicluster API, bad input, saving."""
import warnings

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import check_estimator

import nmfkit
from nmfkit import solvers
from nmfkit.estimators.tri import TriNMF, _start_factor
from nmfkit.monitor import Monitor
from nmfkit.solvers import SolverParams
from nmfkit.solvers import tri as tri_solver

K, L = 3, 4


def planted_blocks(seed=0, m=150, n=120, density=0.5, noise=0.5):
    """A 3 x 4 block matrix, rows and columns shuffled, half its entries kept (a sparse
    documents x words-like matrix), with Gaussian noise.  The block values are random with
    one dominant entry per column (two for the last), so that no two rows or columns of
    the block matrix point the same way."""
    rng = np.random.default_rng(seed)
    rows = rng.permutation(np.repeat(np.arange(K), m // K))
    cols = rng.permutation(np.repeat(np.arange(L), n // L))
    B = rng.uniform(0.1, 1.0, (K, L))
    B[[0, 1, 2, 0, 1], [0, 1, 2, 3, 3]] += 4.0
    X = np.abs(B[rows][:, cols] + noise * rng.standard_normal((m, n)))
    X *= rng.random((m, n)) < density
    return X, rows, cols, B


def largest_cosine(F):
    """The largest cosine between two different columns of F: 0 for orthogonal columns."""
    U = F / np.linalg.norm(F, axis=0)
    C = U.T @ U
    return float(np.max(C - np.diag(np.diag(C))))


def planted_graph(sizes=(30, 40, 50), p_in=0.3, p_out=0.02, seed=0):
    """A stochastic block model with string nodes inserted in a shuffled order."""
    G = nx.stochastic_block_model(list(sizes), [[p_in if i == j else p_out for j in range(3)]
                                                for i in range(3)], seed=seed)
    truth = dict(zip(G.nodes, np.repeat(np.arange(3), sizes)))
    order = np.random.default_rng(seed).permutation(len(G))
    H = nx.Graph()
    H.add_nodes_from(f"n{v}" for v in order)
    H.add_edges_from((f"n{u}", f"n{v}") for u, v in G.edges)
    return H, {f"n{v}": label for v, label in truth.items()}


@pytest.fixture(scope="module")
def planted():
    X, rows, cols, B = planted_blocks()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # converges within max_iter
        dense = TriNMF(K, L, random_state=0).fit(X)
        sparse = TriNMF(K, L, random_state=0).fit(sp.csr_matrix(X))
    return X, rows, cols, B, dense, sparse


def test_planted_co_clusters_are_recovered_from_dense_and_sparse_input(planted):
    X, rows, cols, B, dense, sparse = planted
    U = B / np.linalg.norm(B, axis=0)
    V = B / np.linalg.norm(B, axis=1, keepdims=True)
    assert largest_cosine(B) < 0.9 and np.max(V @ V.T - np.eye(K)) < 0.9  # distinct blocks
    assert U.shape == (K, L)
    for model in (dense, sparse):
        assert adjusted_rand_score(rows, model.row_labels_) >= 0.95
        assert adjusted_rand_score(cols, model.column_labels_) >= 0.95
        assert model.F_.shape == (150, K) and model.S_.shape == (K, L)
        assert model.G_.shape == (120, L) and model.components_.shape == (K, 120)
        assert min(model.F_.min(), model.S_.min(), model.G_.min()) >= 0
        assert model.solver_ == "tri-mu" and model.converged_ and not model.symmetric_
        # the reported error is the exact one of the factors kept
        exact = np.linalg.norm(X - model.F_ @ model.S_ @ model.G_.T)
        assert model.reconstruction_err_ == pytest.approx(exact, rel=1e-9)
        np.testing.assert_allclose(model.components_, model.S_ @ model.G_.T)
    # the same matrix in either container gives the same fit
    assert np.array_equal(dense.row_labels_, sparse.row_labels_)
    assert np.array_equal(dense.column_labels_, sparse.column_labels_)
    assert dense.n_iter_ == sparse.n_iter_
    for name in ("F_", "S_", "G_"):
        np.testing.assert_allclose(getattr(dense, name), getattr(sparse, name), rtol=1e-8,
                                   atol=1e-12)


def test_factors_move_towards_orthogonal_columns(planted):
    """The F and G rules pull FᵀF and GᵀG towards I: the columns, normalised, end far
    closer to orthogonal than Ding et al.'s start (k-means indicators + 0.2), and closer
    still with more iterations."""
    X, *_, dense, _ = planted
    F0 = _start_factor(X, K, "kmeans", 0, perturb=False)
    G0 = _start_factor(X.T, L, "kmeans", 0, perturb=False)
    assert largest_cosine(F0) > 0.3 and largest_cosine(G0) > 0.3
    assert largest_cosine(dense.F_) < 0.5 * largest_cosine(F0)
    assert largest_cosine(dense.G_) < 0.75 * largest_cosine(G0)
    longer = TriNMF(K, L, tol=0, max_iter=300, random_state=0).fit(X)
    assert largest_cosine(longer.F_) < largest_cosine(dense.F_)
    assert largest_cosine(longer.G_) < largest_cosine(dense.G_)
    assert longer.reconstruction_err_ < 1.01 * dense.reconstruction_err_


def test_the_s_rule_never_increases_the_objective():
    """Ding et al.'s S rule is a damped Lee & Seung step (with the exact rescaling first):
    monotone for any F, G ≥ 0."""
    rng = np.random.default_rng(1)
    for _ in range(5):
        X = rng.random((30, 20))
        F, G, S = rng.random((30, 3)), rng.random((20, 4)), rng.random((3, 4))
        FtXG, FtF, GtG = F.T @ X @ G, F.T @ F, G.T @ G
        before = 0.5 * np.linalg.norm(X - F @ S @ G.T) ** 2
        for _ in range(20):
            S = tri_solver.update_S(S, FtXG, FtF, GtG, steps=1, tiny=1e-150)
            after = 0.5 * np.linalg.norm(X - F @ S @ G.T) ** 2
            assert after <= before * (1 + 1e-12)
            before = after


def test_loss_curve_is_the_objective_and_falls(planted):
    """The curve holds ½‖X − F S Gᵀ‖².  The F and G rules descend on the Lagrangian of
    the orthogonality constraints, not on this objective, so it is not monotone in
    general; on the planted matrix it falls, with no rise above 10⁻³ of its start (the
    S rescaling and repeated S steps keep S from lagging behind F and G)."""
    X, *_, dense, sparse = planted
    for model in (dense, sparse):
        loss = model.loss_curve_["loss"].to_numpy()
        assert list(model.loss_curve_.columns) == ["iteration", "seconds", "loss"]
        assert len(loss) == model.n_iter_ + 1
        assert loss[-1] == pytest.approx(0.5 * model.reconstruction_err_ ** 2, rel=1e-9)
        assert loss[-1] < 0.95 * loss[0]
        assert np.max(np.diff(loss)) <= 1e-3 * loss[0]


def test_bicluster_api_follows_scikit_learn(planted):
    X, *_, model, _ = planted
    rows, columns = model.biclusters_
    assert rows.shape == (K * L, 150) and columns.shape == (K * L, 120)
    assert rows.dtype == bool and columns.dtype == bool
    # every row is in the l biclusters of its row cluster, every column in k
    assert np.all(rows.sum(axis=0) == L) and np.all(columns.sum(axis=0) == K)
    for i in range(K):
        for j in range(L):
            r, c = model.get_indices(i * L + j)
            np.testing.assert_array_equal(r, np.flatnonzero(model.row_labels_ == i))
            np.testing.assert_array_equal(c, np.flatnonzero(model.column_labels_ == j))
            assert model.get_shape(i * L + j) == (len(r), len(c))
            assert model.get_submatrix(i * L + j, X).shape == (len(r), len(c))


def test_graph_form_recovers_planted_communities_in_node_order():
    G, truth = planted_graph()
    model = TriNMF(3, random_state=0).fit(G)
    assert model.symmetric_ and model.solver_ == "tri-mu-symmetric"
    assert list(model.nodes_) == list(G.nodes)
    labels_truth = [truth[v] for v in model.nodes_]
    assert adjusted_rand_score(labels_truth, model.row_labels_) >= 0.95
    assert model.G_ is model.F_ and np.array_equal(model.column_labels_, model.row_labels_)
    np.testing.assert_allclose(model.S_, model.S_.T, atol=1e-12)
    assert largest_cosine(model.F_) < 0.15
    A = nx.to_numpy_array(G, nodelist=list(model.nodes_))
    assert model.reconstruction_err_ == pytest.approx(
        np.linalg.norm(A - model.F_ @ model.S_ @ model.F_.T), rel=1e-9)
    assert model.rows_.shape == (9, len(G))
    # the adjacency matrix with symmetric=True is the same fit; symmetric=False fits F ≠ G
    A_sparse = nx.to_scipy_sparse_array(G, nodelist=list(model.nodes_), format="csr")
    same = TriNMF(3, symmetric=True, random_state=0).fit(A_sparse)
    assert np.array_equal(same.row_labels_, model.row_labels_) and not hasattr(same, "nodes_")
    general = TriNMF(3, symmetric=False, random_state=0).fit(G)
    assert not general.symmetric_ and general.solver_ == "tri-mu"
    assert adjusted_rand_score(labels_truth, general.row_labels_) >= 0.95


def test_transform_gives_non_negative_weights_on_the_profiles(planted):
    X, rows, *_, model, _ = planted
    weights = model.transform(X)
    assert weights.shape == (150, K) and weights.min() >= 0
    # each row weighs most on its own row cluster's profile
    assert adjusted_rand_score(rows, np.argmax(weights, axis=1)) >= 0.95
    np.testing.assert_allclose(TriNMF(K, L, random_state=0).fit_transform(X), weights)
    assert list(model.get_feature_names_out()) == ["trinmf0", "trinmf1", "trinmf2"]
    assert model.inverse_transform(weights).shape == X.shape


def test_restarts_keep_the_lowest_objective_and_seeds_repeat(planted):
    X, *_ = planted
    one = TriNMF(K, L, random_state=3).fit(X)
    again = TriNMF(K, L, random_state=3).fit(X)
    np.testing.assert_array_equal(one.F_, again.F_)
    three = TriNMF(K, L, n_init=3, random_state=3).fit(X)
    assert three.reconstruction_err_ <= one.reconstruction_err_ * (1 + 1e-12)


def test_callback_stop_and_interrupt_keep_consistent_factors(planted):
    X, *_ = planted
    stopped = TriNMF(K, L, random_state=0, callback=lambda it, F, Gt, loss: it == 3).fit(X)
    assert stopped.n_iter_ == 3 and stopped.stop_reason_ == "callback"

    def interrupt(iteration, F, Gt, loss):
        if iteration == 5:
            raise KeyboardInterrupt

    with pytest.warns(UserWarning, match="interrupted"):
        model = TriNMF(K, L, random_state=0, callback=interrupt).fit(X)
    # the snapshot kept S with F and G: the error reported is that of the three kept
    assert model.stop_reason_ == "interrupted" and model.n_iter_ == 5
    assert model.reconstruction_err_ == pytest.approx(
        np.linalg.norm(X - model.F_ @ model.S_ @ model.G_.T), rel=1e-9)


def test_save_and_load_round_trip(tmp_path, planted):
    X, *_, model, _ = planted
    path = tmp_path / "tri.nmf"
    model.save(path)
    loaded = nmfkit.load(path)
    assert type(loaded) is TriNMF and loaded.get_params() == model.get_params()
    for name in ("F_", "S_", "G_", "components_", "row_labels_", "column_labels_", "rows_",
                 "columns_"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(model, name))
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))
    assert loaded.reconstruction_err_ == model.reconstruction_err_
    assert loaded.solver_ == model.solver_ and loaded.symmetric_ is False
    assert loaded.get_indices(5)[0].tolist() == model.get_indices(5)[0].tolist()

    G, _ = planted_graph(seed=1)
    graph_model = TriNMF(3, random_state=0).fit(G)
    graph_model.save(path)
    back = nmfkit.load(path)
    assert list(back.nodes_) == list(graph_model.nodes_) and back.symmetric_ is True


def test_clone_get_params_and_scikit_learn_checks():
    model = TriNMF(3, 5, symmetric=False, max_iter=50, random_state=1)
    params = model.get_params()
    assert params["n_row_clusters"] == 3 and params["n_column_clusters"] == 5
    assert params["symmetric"] is False and params["weight"] == "weight"
    twin = clone(model)
    assert twin.get_params() == params and twin is not model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # init='random': the checks are about the API, and skip k-means' many small runs
        check_estimator(TriNMF(init="random", max_iter=50))


def test_registry_lists_both_forms():
    assert solvers.resolve("auto", problem="tri").name == "tri-mu"
    assert {"auto", "tri-mu", "tri-mu-symmetric"} <= set(solvers.names("tri"))
    assert "tri-mu" not in solvers.names()  # not an NMF solver
    table = solvers.available()
    assert table.loc["tri-mu", "problem"] == "X ≈ F S Gᵀ"
    assert table.loc["tri-mu", "auto"] == "always" and table.loc["tri-mu-symmetric", "auto"] == "-"


def test_torch_arrays_give_the_numpy_fit():
    torch = pytest.importorskip("torch")
    X, *_ = planted_blocks(seed=2)
    F0 = _start_factor(X, K, "kmeans", 0, perturb=False)
    G0t = np.ascontiguousarray(_start_factor(X.T, L, "kmeans", 0, perturb=False).T)
    params = SolverParams(max_iter=20)
    ours = tri_solver.solve(X, F0, G0t, params=params, monitor=Monitor(tol=0, max_iter=20))
    theirs = tri_solver.solve(torch.from_numpy(X), torch.from_numpy(F0), torch.from_numpy(G0t),
                              params=params, monitor=Monitor(tol=0, max_iter=20))
    assert isinstance(theirs.S, torch.Tensor)
    np.testing.assert_allclose(theirs.S.numpy(), ours.S, rtol=1e-9)
    assert theirs.loss == pytest.approx(ours.loss, rel=1e-10)


@pytest.mark.parametrize("X, params, message", [
    (-np.eye(5), {}, "Negative values.*first at row 0, column 0"),
    (np.where(np.eye(5) > 0, np.nan, 1.0), {}, "NaN"),
    (np.ones((4, 6)), {"n_row_clusters": 5}, "n_row_clusters=5 is larger than n_samples=4"),
    (np.ones((4, 6)), {"n_row_clusters": 2, "n_column_clusters": 7},
     "n_column_clusters=7 is larger than n_features=6"),
    (np.ones((4, 6)), {"symmetric": True}, r"square symmetric matrix; X has shape \(4, 6\)"),
    (np.triu(np.ones((5, 5))), {"symmetric": True},
     r"largest asymmetry is \|X\[0, 1\] − X\[1, 0\]\| = 1.*symmetric=False"),
    (np.ones((5, 5)), {"symmetric": True, "n_column_clusters": 3},
     "n_column_clusters must be None or n_row_clusters=2"),
    (np.ones((5, 5)), {"solver": "tri-mu-symmetric"}, "pass symmetric=True"),
    (np.ones((5, 5)), {"symmetric": "yes"}, "'symmetric' parameter of TriNMF must be"),
    (np.ones((5, 5)), {"solver": "hals"}, "'solver' parameter of TriNMF must be"),
])
def test_bad_input_is_refused_before_any_work(X, params, message):
    with pytest.raises(ValueError, match=message):
        TriNMF(**{"n_row_clusters": 2, **params}).fit(X)


def test_directed_graph_is_refused():
    with pytest.raises(ValueError, match=r"directed graph.*to_undirected\(\)"):
        TriNMF(2).fit(nx.DiGraph([(0, 1), (1, 2), (2, 0)]))


def test_a_device_that_is_not_there_is_refused_before_any_work():
    with pytest.raises(ValueError, match="device='tpu' is not a device PyTorch knows"):
        TriNMF(2, device="tpu").fit(np.ones((4, 4)))
