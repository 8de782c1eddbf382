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

    write_archive(path, arrays)


def write_archive(path, arrays):
    """Write ``arrays`` as an ``.npz`` archive at ``path`` atomically: into a temporary file
    in the same folder, flushed to disk, then renamed over ``path`` (a rename within one
    file system is atomic), so a reader finds the old file or the new one, never half of
    one; on any failure the temporary file is removed and the old file is untouched."""
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


def read_archive(path, fmt, what, rewrite):
    """(metadata, arrays) of an archive written by :func:`write_archive` whose metadata
    names format ``fmt``; ``what`` names the file for messages ("model", "checkpoint") and
    ``rewrite`` says how to make a good one.

    Nothing is executed (``allow_pickle=False``), and no member is read before its header
    is checked against the archive's directory: a ``.npy`` header claiming a shape larger
    than the bytes stored would otherwise make NumPy allocate that shape first.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No {what} file at {path!r}.")
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic != _ZIP_MAGIC:
        raise ValueError(f"{path!r} is not an nmfkit {what} file (expected a .npz archive "
                         f"written by {rewrite}).")
    broken = (f"{path!r} is truncated or corrupted and cannot be read as an nmfkit {what}")
    try:
        with zipfile.ZipFile(path) as archive:
            names = {info.filename[:-4]: info for info in archive.infolist()
                     if info.filename.endswith(".npy")}
            if "__metadata__" not in names:
                raise ValueError(f"{path!r} is a NumPy archive but not an nmfkit {what} file "
                                 "(no nmfkit metadata inside).")
            arrays = {name: _read_member(archive, info, broken)
                      for name, info in names.items()}
    except (zipfile.BadZipFile, EOFError, OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{broken} ({exc}); write it again with {rewrite}.") from exc
    try:
        metadata = json.loads(arrays.pop("__metadata__").tobytes().decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{broken} (its metadata is not JSON: {exc}); write it again with "
                         f"{rewrite}.") from exc
    if not isinstance(metadata, dict) or metadata.get("format") != fmt:
        found = metadata.get("format") if isinstance(metadata, dict) else None
        raise ValueError(f"{path!r} is not an nmfkit {what} file (format {found!r}).")
    version = metadata.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(f"{path!r} was written in {what} format version {version}, newer "
                         f"than this nmfkit reads ({FORMAT_VERSION}); upgrade nmfkit "
                         "(pip install -U nmfkit).")
    return metadata, arrays


def _read_member(archive, info, broken):
    """One ``.npy`` member, after checking that its header's shape fits in its stored size."""
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
        if dtype.hasobject:
            raise ValueError(f"{broken}: member {info.filename!r} holds Python objects, which "
                             "nmfkit never writes.")
        needed = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if needed > info.file_size:
            raise ValueError(f"{broken}: member {info.filename!r} claims shape {shape} "
                             f"({needed} bytes) but stores {info.file_size} bytes.")
    with archive.open(info) as member:
        return np.lib.format.read_array(member, allow_pickle=False)


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
    metadata, contents = read_archive(path, FORMAT, "model", "model.save()")
    cls = MODEL_CLASSES.get(metadata.get("class"))
    if cls is None:
        raise ValueError(f"{path!r} holds an unknown model class {metadata.get('class')!r}.")
    _check_contents(path, metadata, contents)
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


def _check_contents(path, metadata, contents):
    """The arrays agree with the metadata: every array is real numbers or text, and the
    components, feature names and loss curve have the sizes the attributes state."""
    attributes = metadata.get("attributes") or {}
    problem = None
    for name, value in contents.items():
        if name.startswith("extra/") or value.dtype.kind == "U":
            continue
        if value.dtype.kind not in "fiub":
            problem = f"array {name!r} is of dtype {value.dtype}, not real numbers"
            break
    components = contents.get("components_")
    k, n = attributes.get("n_components_"), attributes.get("n_features_in_")
    if (problem is None and components is not None and k is not None and n is not None
            and components.shape != (k, n)):
        problem = (f"components_ has shape {components.shape} but the metadata says "
                   f"({k}, {n})")
    names = contents.get("feature_names_in_")
    if problem is None and names is not None and n is not None and names.shape != (n,):
        problem = f"feature_names_in_ holds {names.shape} names for {n} features"
    curve = contents.get("loss_curve_")
    if problem is None and curve is not None and curve.shape[1:] != (3,):
        problem = f"loss_curve_ has shape {curve.shape}, not (iterations, 3)"
    if problem is not None:
        raise ValueError(f"{path!r} is inconsistent and cannot be read as an nmfkit model: "
                         f"{problem}; write it again with model.save().")
