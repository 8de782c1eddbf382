"""Determinism (issue 23): the same input, seed and parameters give bit-identical factors
on CPU, in one process and across processes (each with its own thread pool and compiled
kernels loaded afresh)."""
import hashlib
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from nmfkit import NMF

SCRIPT = r"""
import hashlib, sys
import numpy as np, scipy.sparse as sp
from nmfkit import NMF
rng = np.random.default_rng(0)
X = rng.random((300, 6)) @ rng.random((6, 120)) + 0.1 * rng.random((300, 120))
if sys.argv[1] == "sparse":
    X = sp.csr_matrix(X * (rng.random(X.shape) < 0.2))
loss = sys.argv[3]
loss = float(loss) if loss[0].isdigit() else loss
model = NMF(8, solver=sys.argv[2], beta_loss=loss, random_state=3, max_iter=60)
W = model.fit_transform(X)
print(hashlib.sha256(W.tobytes() + model.components_.tobytes()).hexdigest())
"""

FITS = [("dense", "hals", "frobenius"), ("sparse", "hals", "frobenius"),
        ("dense", "mu", "frobenius"), ("dense", "auto", "kullback-leibler"),
        ("sparse", "auto", "kullback-leibler"), ("dense", "mu", "1.5")]


def _digest(kind, solver, loss):
    out = subprocess.run([sys.executable, "-c", SCRIPT, kind, solver, loss],
                         capture_output=True, text=True, timeout=120, check=True)
    return out.stdout.strip()


@pytest.mark.parametrize("kind, solver, loss", FITS)
def test_two_processes_give_bit_identical_factors(kind, solver, loss):
    assert _digest(kind, solver, loss) == _digest(kind, solver, loss)


def test_two_fits_in_one_process_are_bit_identical():
    rng = np.random.default_rng(1)
    X = sp.csr_matrix(rng.random((200, 80)) * (rng.random((200, 80)) < 0.3))
    digests = set()
    for _ in range(2):
        model = NMF(5, random_state=0, max_iter=40, n_init=2)
        W = model.fit_transform(X)
        digests.add(hashlib.sha256(W.tobytes() + model.components_.tobytes()).hexdigest())
    assert len(digests) == 1
