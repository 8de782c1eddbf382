"""SymmetricNMF (A ≈ HHᵀ) and nmfkit.cluster on graphs that ship with networkx."""
import warnings

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from networkx.algorithms.community import greedy_modularity_communities, louvain_communities
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import check_estimator

import nmfkit
from nmfkit import SymmetricNMF
from nmfkit.cluster import graph_communities, hard_labels, soft_membership


def planted_graph(sizes=(30, 40, 50), p_in=0.3, p_out=0.02, seed=0):
    G = nx.stochastic_block_model(list(sizes), [[p_in if i == j else p_out for j in range(len(sizes))]
                                                for i in range(len(sizes))], seed=seed)
    truth = np.repeat(np.arange(len(sizes)), sizes)
    return G, truth


def test_karate_club_two_communities_match_the_split():
    G = nx.karate_club_graph()
    model = SymmetricNMF(2, random_state=0).fit(G)
    truth = np.array([G.nodes[v]["club"] == "Officer" for v in model.nodes_])
    agree = np.mean(model.labels_ == truth)
    assert max(agree, 1 - agree) >= 0.9
    assert model.H_.shape == (34, 2) and model.solver_ == "sym-hals"
    assert list(model.nodes_) == list(G.nodes)
    np.testing.assert_allclose(model.memberships_.sum(axis=1), 1.0)
    # the fit is A ≈ HHᵀ of the weighted adjacency, and reports its exact error
    A = nx.to_numpy_array(G, nodelist=list(model.nodes_), weight="weight")
    assert model.reconstruction_err_ == pytest.approx(np.linalg.norm(A - model.H_ @ model.H_.T),
                                                      rel=1e-9)
    assert np.all(np.diff(model.loss_curve_["loss"]) <= 1e-9 * model.loss_curve_["loss"][0])


@pytest.mark.parametrize("solver", ["sym-hals", "sym-anls"])
def test_planted_blocks_are_recovered_dense_sparse_and_graph(solver):
    G, truth = planted_graph()
    A = nx.to_scipy_sparse_array(G, nodelist=sorted(G), format="csr")
    labels = {}
    for name, X in [("graph", G), ("sparse", A), ("dense", A.toarray())]:
        model = SymmetricNMF(3, solver=solver, random_state=0).fit(X)
        assert adjusted_rand_score(truth, model.labels_) >= 0.95, name
        labels[name] = model.labels_
    # the same matrix in any container gives the same fit
    assert np.array_equal(labels["sparse"], labels["dense"])
    assert np.array_equal(labels["graph"], labels["sparse"])


def test_the_two_factors_agree_at_the_end():
    """The penalised problem's two factors coincide at its solutions (Zhu et al. 2018),
    so the penalised objective ends at ½‖A − HHᵀ‖² of the H returned."""
    G, _ = planted_graph(seed=3)
    model = SymmetricNMF(3, tol=1e-7, max_iter=2000, random_state=0).fit(G)
    last = model.loss_curve_["loss"].iloc[-1]
    assert 0.5 * model.reconstruction_err_ ** 2 == pytest.approx(last, rel=1e-4)


def test_restarts_keep_the_lowest_objective_and_seeds_repeat():
    G, _ = planted_graph(seed=5)
    runs = [SymmetricNMF(3, init="random", random_state=s).fit(G).reconstruction_err_
            for s in range(4)]
    best = SymmetricNMF(3, init="random", n_init=4, random_state=0).fit(G)
    assert best.reconstruction_err_ <= min(runs[0], max(runs)) + 1e-9
    again = SymmetricNMF(3, init="random", n_init=4, random_state=0).fit(G)
    assert np.array_equal(best.H_, again.H_)


def test_custom_start_transform_and_save_load(tmp_path):
    G, truth = planted_graph(seed=1)
    A = nx.to_numpy_array(G, nodelist=sorted(G))
    first = SymmetricNMF(3, random_state=0).fit(A)
    warm = SymmetricNMF(3, init="custom", max_iter=5).fit(A, H=first.H_)
    assert adjusted_rand_score(first.labels_, warm.labels_) == 1.0
    # transform: new nodes' memberships from their edges to the fitted nodes
    W = first.transform(A[:10])
    assert W.shape == (10, 3) and np.all(W >= 0)
    assert adjusted_rand_score(first.labels_[:10], W.argmax(axis=1)) == 1.0
    path = tmp_path / "sym.nmf"
    first.save(path)
    back = nmfkit.load(path)
    assert isinstance(back, SymmetricNMF)
    assert np.array_equal(back.H_, first.H_) and np.array_equal(back.labels_, first.labels_)
    assert np.array_equal(back.transform(A[:10]), W)


def test_string_nodes_and_dataframe_labels_come_back():
    G = nx.les_miserables_graph()
    model = SymmetricNMF(4, random_state=0).fit(G)
    assert model.nodes_[0] == list(G)[0] and len(model.nodes_) == G.number_of_nodes()
    import pandas as pd

    A = nx.to_pandas_adjacency(G)
    again = SymmetricNMF(4, random_state=0).fit(A)
    assert list(again.nodes_) == list(A.columns)
    assert np.array_equal(again.labels_, model.labels_)


def test_passes_scikit_learn_estimator_checks():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        results = check_estimator(SymmetricNMF(), on_fail=None)
    failed = {r["check_name"] for r in results if r["status"] == "failed"}
    # Regression: scikit-learn's NaN check transforms a raw X of another width with NaN
    # in it, and the width error used to come before the NaN one.
    assert failed == set()
    assert len(results) > 40


# --------------------------------------------------------------------------- bad input
def test_non_symmetric_matrix_names_the_largest_asymmetry():
    A = np.ones((4, 4))
    A[1, 3], A[3, 1] = 5.0, 2.0
    A[0, 2] = 1.5
    with pytest.raises(ValueError, match=r"A is not symmetric: the largest asymmetry is "
                                         r"\|A\[1, 3\] − A\[3, 1\]\| = 3 \(A\[1, 3\] = 5, "
                                         r"A\[3, 1\] = 2\).*\(A \+ A.T\) / 2"):
        SymmetricNMF(2).fit(A)
    with pytest.raises(ValueError, match=r"largest asymmetry is \|A\[1, 3\] − A\[3, 1\]\| = 3"):
        SymmetricNMF(2).fit(sp.csr_matrix(A))
    with pytest.raises(ValueError, match=r"square symmetric matrix.*shape \(4, 3\)"):
        SymmetricNMF(2).fit(np.ones((4, 3)))


def test_directed_graph_and_negative_weights_are_refused():
    D = nx.DiGraph([(0, 1), (1, 2)])
    with pytest.raises(ValueError, match=r"directed graph \(DiGraph\).*to_undirected\(\)"):
        SymmetricNMF(2).fit(D)
    G = nx.Graph()
    G.add_edge("a", "b", weight=1.0)
    G.add_edge("b", "c", weight=-0.5)
    with pytest.raises(ValueError, match=r"edge \('b', 'c'\) of the graph has 'weight' = -0.5"):
        SymmetricNMF(2).fit(G)
    SymmetricNMF(2, weight=None).fit(G)  # weights ignored: a 0/1 graph
    with pytest.raises(ValueError, match="Negative values"):
        SymmetricNMF(2).fit(-np.eye(3))
    with pytest.raises(ValueError, match=r"n_components=5 is larger than the number of nodes \(3\)"):
        SymmetricNMF(5).fit(np.eye(3))
    with pytest.raises(ValueError, match="has no edges"):
        SymmetricNMF(1).fit(nx.empty_graph(3))


# --------------------------------------------------------------------------- nmfkit.cluster
def test_soft_membership_and_hard_labels_keep_labels():
    import pandas as pd

    W = pd.DataFrame([[3.0, 1.0], [0.0, 2.0], [0.0, 0.0]], index=["x", "y", "z"],
                     columns=["a", "b"])
    S = soft_membership(W)
    assert list(S.index) == ["x", "y", "z"] and S.loc["x", "a"] == 0.75
    assert S.loc["z"].tolist() == [0.0, 0.0]
    labels = hard_labels(W)
    assert labels.to_dict() == {"x": 0, "y": 1, "z": -1}
    with pytest.raises(ValueError, match=r"W\[0, 1\] = -1.0"):
        hard_labels([[1.0, -1.0]])
    with pytest.raises(ValueError, match="2-D factor"):
        soft_membership([1.0, 2.0])


def test_labels_with_h_do_not_depend_on_how_the_scale_is_split():
    rng = np.random.default_rng(0)
    W, H = rng.random((20, 3)), rng.random((3, 8))
    D = np.diag([0.01, 1.0, 100.0])  # W D and D⁻¹ H: the same product, other raw W
    np.testing.assert_array_equal(hard_labels(W @ D, np.linalg.inv(D) @ H), hard_labels(W, H))
    np.testing.assert_allclose(soft_membership(W @ D, np.linalg.inv(D) @ H),
                               soft_membership(W, H))
    assert (hard_labels(W @ D) == 2).mean() > 0.9  # raw W: the largest scale wins
    with pytest.raises(ValueError, match="H has 2 components .* W has 3"):
        hard_labels(W, H[:2])


def test_karate_communities_in_one_call():
    G = nx.karate_club_graph()
    communities, Q = graph_communities(G, 2, random_state=0)
    truth = {v: G.nodes[v]["club"] == "Officer" for v in G}
    agree = np.mean([communities[v] == truth[v] for v in G])
    assert max(agree, 1 - agree) >= 0.9
    assert Q == pytest.approx(nx.community.modularity(
        G, [{v for v in G if communities[v] == c} for c in (0, 1)], weight="weight"))


@pytest.mark.parametrize("name", ["les_miserables_graph", "florentine_families_graph"])
def test_modularity_is_within_0_05_of_networkx_best(name):
    G = getattr(nx, name)()
    found = graph_communities(G, random_state=0)
    louvain = nx.community.modularity(G, louvain_communities(G, seed=0), weight="weight")
    greedy = nx.community.modularity(G, greedy_modularity_communities(G, weight="weight"),
                                     weight="weight")
    assert found.modularity >= max(louvain, greedy) - 0.05
    assert found.k == found.scan["modularity"].idxmax()
    assert len(found.groups()) == found.k
    assert set(found.communities) == set(G)


def test_graph_communities_refuses_a_matrix():
    with pytest.raises(TypeError, match="takes a networkx graph.*SymmetricNMF"):
        graph_communities(np.eye(3), 2)


def _lfr(n, mu, seed=1):
    """An LFR benchmark graph (self-loops removed), its 0/1 adjacency and planted labels."""
    G = nx.LFR_benchmark_graph(n, 3.0, 1.5, mu, average_degree=20, max_degree=50,
                               min_community=40, max_community=100, seed=seed,
                               max_iters=20000)
    G.remove_edges_from(nx.selfloop_edges(G))
    ids = {}
    truth = np.array([ids.setdefault(frozenset(G.nodes[v]["community"]), len(ids)) for v in G])
    return sp.csr_matrix(nx.to_scipy_sparse_array(G, weight=None, dtype=float)), truth


def test_normalize_fits_the_normalised_adjacency_and_transforms_alike(tmp_path):
    A, _ = _lfr(300, 0.3)
    d = np.asarray(A.sum(axis=1)).ravel()
    normalised = sp.diags(d ** -0.5) @ A @ sp.diags(d ** -0.5)
    ours = SymmetricNMF(5, normalize=True, random_state=0).fit(A)
    plain = SymmetricNMF(5, random_state=0).fit(normalised)
    np.testing.assert_allclose(ours.H_, plain.H_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.degrees_, d)
    # New nodes are normalised by their own degrees and the fitted nodes'.
    np.testing.assert_allclose(ours.transform(A[:50]), plain.transform(normalised[:50]),
                               rtol=1e-9, atol=1e-12)
    ours.save(tmp_path / "m.nmfkit")
    back = nmfkit.load(tmp_path / "m.nmfkit")
    np.testing.assert_array_equal(back.transform(A[:50]), ours.transform(A[:50]))


def test_normalize_keeps_low_degree_communities_apart_on_an_lfr_graph():
    """LFR graphs have heavy-tailed degrees; the normalised fit recovers the planted
    communities at least as well as scikit-learn's normalised spectral clustering."""
    from sklearn.cluster import SpectralClustering
    from sklearn.metrics import normalized_mutual_info_score as nmi

    A, truth = _lfr(1000, 0.4)
    k = truth.max() + 1
    ours = nmi(truth, SymmetricNMF(k, normalize=True, random_state=0).fit_predict(A))
    spectral = nmi(truth, SpectralClustering(k, affinity="precomputed", random_state=0,
                                             assign_labels="cluster_qr").fit_predict(A))
    assert ours >= spectral
