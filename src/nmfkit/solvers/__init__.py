"""NMF algorithms as pure functions: solve(X, W, H, *, params, monitor) -> SolverResult."""
