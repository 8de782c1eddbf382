"""Where a fit runs: the ``device`` parameter, and arrays moved to it and back.

The solvers are written once against the array-API namespace, so a fit on a GPU is the
CPU's code on PyTorch tensors (:mod:`nmfkit._backends`).  This module is the one place
that decides which library and device a fit's arrays live on, from the estimator's
``device`` and the type of the user's X:

- ``device=None`` (the default): where X lives.  NumPy and scipy.sparse input run on
  NumPy; a torch tensor runs on PyTorch on the tensor's own device.
- ``device='cpu'``: NumPy input stays NumPy; a torch tensor runs on PyTorch's CPU.
- ``device='cuda'``, ``'cuda:N'`` or a ``torch.device``: PyTorch on that device; NumPy
  input is moved there once and the results come back as NumPy.

Input is always validated on the host (scikit-learn's checks are NumPy code), so a
tensor on a GPU is read once by the CPU; the data that is fitted is the user's own
tensor when it is already a float tensor on the target device, else one copy there.
What is returned (``fit_transform``'s and ``transform``'s W) has the input's type and
device; fitted attributes (``components_`` and the rest) are NumPy, as scikit-learn's
API and :meth:`save` expect.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["Placement", "placement", "to_host", "is_torch", "is_sparse_input", "as_tensor_like"]


def is_torch(X) -> bool:
    """Whether X is a torch tensor, without importing torch when the user did not."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(X, torch.Tensor)


def is_sparse_input(X) -> bool:
    """Whether the user's X is sparse (scipy.sparse, or a torch tensor of a sparse
    layout)."""
    if sp.issparse(X):
        return True
    return is_torch(X) and X.layout != _torch().strided


def to_host(X):
    """X readable by NumPy and scipy: a torch tensor (dense or sparse, any device) as
    NumPy or scipy.sparse CSR; anything else unchanged."""
    if not is_torch(X):
        return X
    X = X.detach()
    if X.layout != _torch().strided:
        X = X.to_sparse_csr().cpu()
        return sp.csr_matrix((X.values().numpy(), X.col_indices().numpy(),
                              X.crow_indices().numpy()), shape=tuple(X.shape))
    return X.cpu().resolve_conj().numpy()


def _torch():
    import torch

    return torch


@dataclass(frozen=True)
class Placement:
    """Where a fit runs (``device``: a torch.device, or None for NumPy) and what the
    user gave (``returns_torch``, ``source``: the user's X, reused when it is already
    the fitted array)."""

    device: Any = None
    returns_torch: bool = False
    return_device: Any = None
    source: Any = None

    @property
    def on_torch(self) -> bool:
        return self.device is not None

    @property
    def backend(self) -> str:
        """The registry's name of the array library the fit runs on."""
        return "torch" if self.on_torch else "numpy"

    def move(self, A):
        """A dense NumPy array (a start, a factor) onto the fit's device."""
        if A is None or not self.on_torch:
            return A
        return _torch().as_tensor(np.ascontiguousarray(A), device=self.device)

    def data(self, X):
        """The validated X as the fitted array: the user's tensor when it already is one
        of the right dtype on the device, else one copy there."""
        if not self.on_torch:
            return X
        torch = _torch()
        src = self.source
        if (is_torch(src) and src.layout == torch.strided and src.device == self.device
                and tuple(src.shape) == X.shape and src.dtype == _torch_dtype(X.dtype)):
            return src.detach()
        return torch.as_tensor(np.ascontiguousarray(X), device=self.device)

    def output(self, A):
        """A fitted NumPy factor in the type of the user's input."""
        if not self.returns_torch:
            return A
        return _torch().as_tensor(np.ascontiguousarray(A), device=self.return_device)


def as_tensor_like(A, T):
    """NumPy array A as a tensor of tensor T's dtype, on T's device."""
    return _torch().as_tensor(np.ascontiguousarray(A), device=T.device, dtype=T.dtype)


def _torch_dtype(dtype):
    torch = _torch()
    return {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}.get(
        np.dtype(dtype))


def placement(device, X) -> Placement:
    """The :class:`Placement` of a fit of X; ``device`` as
    :func:`nmfkit._validation.check_device` returns it (None, 'cpu' or a torch.device)."""
    torch_input = is_torch(X)
    if device is None:
        if not torch_input:
            return Placement()
        return Placement(device=X.device, returns_torch=True, return_device=X.device,
                         source=X)
    if not torch_input and (device == "cpu" or device.type == "cpu"):
        return Placement()  # NumPy stays NumPy: the compiled CPU kernels are NumPy's
    torch_device = _torch().device("cpu") if device == "cpu" else device
    return_device = X.device if torch_input else None
    return Placement(device=torch_device, returns_torch=torch_input,
                     return_device=return_device, source=X if torch_input else None)
