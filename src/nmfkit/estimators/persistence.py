"""Saving and loading fitted models, without pickle.

Format (``format_version`` 1): a NumPy ``.npz`` archive (a zip of ``.npy`` files,
read back with ``allow_pickle=False``) holding

- ``__metadata__``: UTF-8 JSON as a uint8 array — ``{"format": "nmfkit-model",
  "format_version": 1, "nmfkit_version", "class", "params", "attributes", "extras"}``;
- one array per fitted array attribute (``components_``, ``feature_names_in_``,
  ``loss_curve_``);
- ``extra/<name>`` for each user extra (numeric or unicode arrays).

The file is written to a temporary file in the target folder and renamed over the
target, so a crash never leaves half a model behind.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy as np
import pandas as pd

FORMAT = "nmfkit-model"
FORMAT_VERSION = 1
_ZIP_MAGIC = b"PK\x03\x04"

#: Estimator classes :func:`load` can rebuild, by class name.  The shared base estimator
#: adds every subclass as it is defined, so this module never imports an estimator.
MODEL_CLASSES: dict = {}


def register_model_class(cls):
    """Let :func:`load` rebuild models of ``cls``; it names the fitted attributes it saves
    in ``cls._saved_arrays`` (arrays) and ``cls._saved_scalars`` (JSON scalars)."""
    MODEL_CLASSES[cls.__name__] = cls
    return cls


def _json_param(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    return None  # callbacks, RandomState instances, devices: not persisted


def save(model, path, extras=None):
    """Write fitted ``model`` (and optional ``extras`` arrays) to ``path`` atomically."""
    from sklearn.utils.validation import check_is_fitted

    from .._version import __version__

    check_is_fitted(model)
    extras = dict(extras or {})
    arrays = {}
    for name, value in extras.items():
        value = np.asarray(value)
        if value.dtype == object:
            try:
                value = value.astype(str)
            except Exception as exc:  # pragma: no cover - defensive
                raise TypeError(f"extras[{name!r}] holds Python objects; pass numbers or "
                                "strings.") from exc
        arrays[f"extra/{name}"] = value
    for name in type(model)._saved_arrays:
        if hasattr(model, name):
            value = np.asarray(getattr(model, name))
            arrays[name] = value.astype(str) if value.dtype == object else value
    if hasattr(model, "loss_curve_"):
        arrays["loss_curve_"] = model.loss_curve_.to_numpy(dtype=np.float64)
    params = {key: _json_param(value) for key, value in model.get_params(deep=False).items()}
    attributes = {name: _json_param(getattr(model, name)) for name in type(model)._saved_scalars if hasattr(model, name)}
    metadata = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "nmfkit_version": __version__,
        "class": type(model).__name__, "params": params, "attributes": attributes,
        "extras": list(extras),
    }
    arrays["__metadata__"] = np.frombuffer(json.dumps(metadata).encode("utf-8"), dtype=np.uint8)

    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".nmfkit-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path):
    """Read a model written by ``model.save(path)``.

    Nothing in the file is executed: it is read with ``allow_pickle=False``.

    Parameters
    ----------
    path : str or path-like
        A file written by ``save`` of an nmfkit estimator.

    Returns
    -------
    estimator
        The fitted estimator, of the class that was saved, with its parameters and fitted
        attributes, and the saved extras as ``extras_`` (a dict of arrays).

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        The file is not an nmfkit model, is truncated or corrupted, or was written by
        a newer nmfkit (format version above this one's).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import nmfkit
    >>> model = nmfkit.NMF(2, random_state=0).fit(np.arange(1.0, 13.0).reshape(4, 3))
    >>> path = os.path.join(tempfile.mkdtemp(), "model.nmf")
    >>> model.save(path)
    >>> bool(np.allclose(nmfkit.load(path).components_, model.components_))
    True
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No model file at {path!r}.")
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic != _ZIP_MAGIC:
        raise ValueError(f"{path!r} is not an nmfkit model file (expected a .npz archive "
                         "written by model.save()).")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "__metadata__" not in archive.files:
                raise ValueError(f"{path!r} is a NumPy archive but not an nmfkit model file "
                                 "(no nmfkit metadata inside).")
            metadata = json.loads(archive["__metadata__"].tobytes().decode("utf-8"))
            contents = {name: archive[name] for name in archive.files if name != "__metadata__"}
    except (zipfile.BadZipFile, EOFError, OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path!r} is truncated or corrupted and cannot be read as an nmfkit "
                         f"model ({exc}); write it again with model.save().") from exc
    if metadata.get("format") != FORMAT:
        raise ValueError(f"{path!r} is not an nmfkit model file (format "
                         f"{metadata.get('format')!r}).")
    version = metadata.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(f"{path!r} was written in model format version {version}, newer than "
                         f"this nmfkit reads ({FORMAT_VERSION}); upgrade nmfkit "
                         "(pip install -U nmfkit).")
    cls = MODEL_CLASSES.get(metadata.get("class"))
    if cls is None:
        raise ValueError(f"{path!r} holds an unknown model class {metadata.get('class')!r}.")
    valid = cls._get_param_names()  # from the signature: no default construction needed
    model = cls(**{k: v for k, v in metadata["params"].items() if k in valid and v is not None})
    for name, value in metadata["attributes"].items():
        setattr(model, name, value)
    for name in cls._saved_arrays:
        if name in contents:
            value = contents[name]
            setattr(model, name, value.astype(object) if value.dtype.kind == "U" else value)
    if "loss_curve_" in contents:
        curve = pd.DataFrame(contents["loss_curve_"], columns=["iteration", "seconds", "loss"])
        model.loss_curve_ = curve.astype({"iteration": int})
    model.extras_ = {name[len("extra/"):]: value for name, value in contents.items()
                     if name.startswith("extra/")}
    return model
