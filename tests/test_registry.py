"""The solver registry, the settings object and the layering of the package."""
import ast
import pathlib
import re

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import planted

import nmfkit
from nmfkit import solvers
from nmfkit.solvers import Settings, Solver, SolverResult


def _toy_solve(X, W, H, *, params, monitor):
    """Lee & Seung's multiplicative updates, written here as a user would: nothing but
    the solver contract (dense X only)."""
    X = np.asarray(X)
    W, H = W.copy(), H.copy()

    def loss():
        return 0.5 * float(np.sum((X - W @ H) ** 2))

    monitor.start(loss())
    n_iter, stopped = 0, False
    for n_iter in range(1, params.max_iter + 1):
        H *= (W.T @ X) / np.maximum(W.T @ W @ H, 1e-12)
        W *= (X @ H.T) / np.maximum(W @ (H @ H.T), 1e-12)
        if monitor(n_iter, W, H, loss()):
            stopped = True
            break
    return SolverResult.finish(monitor, W, H, n_iter, loss(), stopped)


@pytest.fixture
def toy():
    record = solvers.register(Solver(name="toy", solve=_toy_solve, sparse=False,
                                     description="multiplicative updates, from a test"))
    yield record
    solvers.unregister("toy")


def test_a_solver_registered_from_outside_fits_nmf(toy):
    X, _, _ = planted(40, 30, 3, noise=0.05, seed=1)
    assert "toy" in solvers.names() and "toy" in solvers.available().index
    model = nmfkit.NMF(3, solver="toy", random_state=0, max_iter=300, tol=0)
    W = model.fit_transform(X)
    assert model.solver_ == "toy" and model.n_iter_ == 300
    # the estimator measured the divergence the toy solver did not report
    assert model.reconstruction_err_ == pytest.approx(np.linalg.norm(X - W @ model.components_),
                                                      rel=1e-10)
    assert len(model.loss_curve_) == 301
    assert np.all(np.diff(model.loss_curve_["loss"]) <= 1e-9)  # MU never increases
    # What it declares is checked before any work: no sparse X, Frobenius only.
    with pytest.raises(ValueError, match="solver='toy' needs dense X"):
        nmfkit.NMF(3, solver="toy").fit(sp.csr_matrix(X))
    with pytest.raises(ValueError, match="solver='toy' fits the Frobenius loss only; "
                                         "beta_loss='kullback-leibler' needs solver="):
        nmfkit.NMF(3, solver="toy", beta_loss="kullback-leibler").fit(X)
    with pytest.raises(ValueError, match="already registered"):
        solvers.register(Solver(name="toy", solve=_toy_solve))


def test_a_loss_no_stand_in_fits_names_the_losses_of_all_of_them():
    """Regression: 'cd' on β = 1.5 said "solver='cd' fits kullback-leibler only", the
    losses of its stand-in Newton-CD alone; 'cd' fits the Frobenius loss too."""
    X = np.ones((3, 3))
    with pytest.raises(ValueError, match=re.escape(
            "solver='cd' fits frobenius, kullback-leibler only, not beta_loss=1.5; "
            "beta_loss=1.5 needs solver='mu'")):
        nmfkit.NMF(2, solver="cd", beta_loss=1.5).fit(X)
    with pytest.raises(ValueError, match=re.escape(
            "solver='hals' fits kullback-leibler, frobenius only with missing='mask'")):
        nmfkit.NMF(2, solver="hals", beta_loss=0.5, missing="mask").fit(X)


def test_unregistered_solver_is_refused_listing_the_choices(toy):
    solvers.unregister("toy")
    try:
        with pytest.raises(ValueError, match=r"'solver' parameter of NMF must be a str among "
                                             r"\{'auto', .*'hals', 'cd'"):
            nmfkit.NMF(2, solver="toy").fit(np.ones((3, 3)))
    finally:
        solvers.register(toy)


def test_each_estimator_sees_only_the_solvers_of_its_problem():
    record = solvers.register(Solver(name="toy-sym", solve=_toy_solve, problem="symmetric",
                                     auto=-1))
    try:
        assert "toy-sym" not in solvers.names() and "toy-sym" in solvers.names("symmetric")
        assert solvers.resolve("auto", problem="symmetric") is record
        assert solvers.resolve("auto").problem == "nmf"
        with pytest.raises(ValueError, match="'toy-sym' is not a solver nmfkit knows for "
                                             "X ≈ WH; valid: 'auto', 'onmf'"):
            solvers.resolve("toy-sym")
        assert solvers.available().loc["toy-sym", "problem"] == "A ≈ HHᵀ"
    finally:
        solvers.unregister("toy-sym")
    with pytest.raises(ValueError, match="problem='graph'; valid: nmf, symmetric, tri"):
        solvers.register(Solver(name="toy-graph", solve=_toy_solve, problem="graph"))


def test_auto_rule_and_stand_ins_come_from_the_records():
    resolve = solvers.resolve
    assert resolve("auto").name == "hals"
    assert resolve("auto", beta=1.0).name == "newton-cd"
    assert resolve("auto", beta=2.0, masked=True).name == "newton-cd"
    few_hidden = solvers.DataStats(unobserved=0.1, nonzero=0.1)
    assert resolve("auto", masked=True, stats=few_hidden).name == "em"
    assert resolve("auto", masked=True, stats=few_hidden, sparse=True).name == "newton-cd"
    assert resolve("auto", masked=True, stats=solvers.DataStats(0.1, 0.8)).name == "newton-cd"
    assert resolve("em", masked=True, stats=None).name == "em"  # named: whatever the data
    assert resolve("auto", beta=0.5).name == "mu"
    assert resolve("auto", orthogonal="W").name == "onmf"
    assert resolve("cd").name == "hals" and resolve("cd", beta=1.0).name == "newton-cd"
    assert resolve("hals", masked=True).name == "newton-cd"
    with pytest.raises(ValueError, match="needs solver='mu' \\(or solver='auto'\\)"):
        resolve("cd", beta=1.5)


def test_available_lists_every_solver_with_what_it_fits():
    table = solvers.available()
    nmf = table[table["problem"] == "X ≈ WH"]
    assert list(nmf.index) == ["onmf", "em", "newton-cd", "hals", "mu", "als", "anls", "pgd"]
    assert list(table.index[table["problem"] == "A ≈ HHᵀ"]) == ["sym-hals", "sym-anls"]
    assert table.loc["sym-hals", "auto"] == "always" and table.loc["sym-anls", "auto"] == "-"
    assert table.loc["hals", "aliases"] == "cd"
    assert table.loc["mu", "losses"] == "any β" and table.loc["als", "masked losses"] == "-"
    assert bool(table.loc["hals", "mixed precision"]) and bool(table.loc["onmf", "orthogonal"])
    assert table.loc["hals", "auto"] == "frobenius"
    assert table.loc["em", "auto"].startswith("masked frobenius (X mostly zeros")
    assert table.loc["newton-cd", "auto"] == "kullback-leibler; masked frobenius, kullback-leibler"
    assert set(solvers.names()) >= {"auto", "hals", "cd", "mu", "als", "anls", "pgd"}


def test_solver_options_are_checked_by_name_and_kind():
    X = np.ones((4, 3))
    with pytest.raises(ValueError, match="unknown setting.*'extrapolation'.*valid settings: "
                                         "extrapolate, max_inner"):
        nmfkit.NMF(1, solver_options={"extrapolation": False}).fit(X)
    with pytest.raises(ValueError, match=r"solver_options\['max_inner'\] must be an integer"):
        nmfkit.NMF(1, solver_options={"max_inner": 0}).fit(X)
    with pytest.raises(ValueError, match="'solver_options' parameter of NMF must be a dict"):
        nmfkit.NMF(1, solver_options=[("max_inner", 2)]).fit(X)
    assert Settings.from_options({"max_inner": 3}) == Settings(max_inner=3)


def test_settings_belong_to_one_fit():
    """A setting changes the fit it is given to and no other: no hidden global state."""
    X, _, _ = planted(120, 90, 5, noise=0.1, seed=3)
    kw = dict(n_components=5, init="nndsvda", max_iter=40, tol=0)
    first = nmfkit.NMF(**kw).fit(X).components_
    plain = nmfkit.NMF(**kw, solver_options={"extrapolate": False, "max_inner": 1}).fit(X)
    again = nmfkit.NMF(**kw).fit(X).components_
    # (equal up to the threaded BLAS's summation order)
    np.testing.assert_allclose(first, again, rtol=1e-10, atol=1e-12)
    assert not np.allclose(plain.components_, first, rtol=1e-6)


SRC = pathlib.Path(nmfkit.__file__).parent


def _imports(path, modules):
    """Modules of nmfkit that ``path`` imports (at any depth of the file): for ``from
    package import name``, the submodule when ``name`` is one, else the package."""
    base = ".".join(("nmfkit",) + path.relative_to(SRC).parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                parts = base.split(".")
                root = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{root}.{node.module}" if node.module else root
            if not target.startswith("nmfkit"):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in modules else target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("nmfkit"))
    return found


def test_no_import_cycles_in_the_package():
    modules = {}
    for path in SRC.rglob("*.py"):
        name = ".".join(("nmfkit",) + path.relative_to(SRC).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    graph = {name: {m for m in _imports(path, modules) if m in modules and m != name}
             for name, path in modules.items()}
    state, cycle = {}, []

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycle.append(trail + [node, nxt])
            elif nxt not in state:
                visit(nxt, trail + [node])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    assert not cycle, " -> ".join(cycle[0])


def test_only_public_scikit_learn_api_is_imported():
    private = [f"{path.relative_to(SRC)}: {m}" for path in SRC.rglob("*.py")
               for m in _sklearn_imports(path) if any(p.startswith("_") for p in m.split("."))]
    assert not private, private


def _sklearn_imports(path):
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sklearn"):
            out += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names if a.name.startswith("sklearn")]
    return out


def test_driver_settings_do_not_reach_an_update_rule_s_own_state():
    """PGD keeps its step size in the rule's state; the inner-sweep budget (which PGD
    does not use) must not overwrite it (regression: a shared key changed PGD's fits)."""
    X, _, _ = planted(60, 40, 4, noise=0.1, seed=2)
    kw = dict(n_components=4, solver="pgd", random_state=0, max_iter=15, tol=0)
    a = nmfkit.NMF(**kw).fit(X)
    b = nmfkit.NMF(**kw, solver_options={"inner_alpha": 3.0, "inner_delta": 0.5}).fit(X)
    np.testing.assert_array_equal(a.components_, b.components_)
