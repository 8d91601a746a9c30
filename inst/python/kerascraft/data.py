"""Conversion and checks of in-memory training data, shared by every entry point.

R numbers are doubles and reach Python as float64 arrays; Keras would then compute in
float64 (slow) or cast silently. Everything kerascraft fits goes through
:func:`prepare_fit_data`, which makes floating data float32, keeps integer labels and ids as
integers, and rejects NaN/Inf before any training starts.
"""

from __future__ import annotations

import numpy as np


def _is_frame(x) -> bool:
    return type(x).__module__.startswith("pandas") and hasattr(x, "to_numpy")


def as_float32(x, name: str = "x") -> np.ndarray:
    """Convert numbers (NumPy arrays, pandas frames, nested lists, scalars) to float32.

    Args:
        x: the data. A pandas DataFrame must have numeric columns only.
        name: what to call the data in error messages.

    Returns:
        A C-ordered float32 ``numpy.ndarray`` (the same object when it already is one).
        R matrices arrive column-major; training slices rows, so they are reordered.

    Raises:
        TypeError: when ``x`` holds values that are not numbers.
    """
    if _is_frame(x) and hasattr(x, "dtypes") and hasattr(x.dtypes, "items"):
        bad = [str(c) for c, t in x.dtypes.items() if not (np.issubdtype(t, np.number) or t == bool)]
        if bad:
            raise TypeError(
                f"{name} has non-numeric columns: {', '.join(bad)}. "
                "Encode them as numbers (one-hot or integer codes) or drop them."
            )
    arr = x.to_numpy() if _is_frame(x) else np.asarray(x)
    if arr.dtype == np.float32 and (arr.flags.c_contiguous or arr.ndim < 2):
        return arr
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) or np.iscomplexobj(arr):
        try:
            return np.ascontiguousarray(arr, dtype=np.float32)
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"{name} must hold numbers, got values of type {arr.dtype}: {err}"
            ) from None
    # C order: R matrices arrive column-major, and batches are rows
    return np.ascontiguousarray(arr, dtype=np.float32)


def _check_finite(arr: np.ndarray, name: str) -> None:
    if not np.issubdtype(arr.dtype, np.floating):
        return
    bad = ~np.isfinite(arr)
    if bad.any():
        first = np.argwhere(bad)[0]
        raise ValueError(
            f"{name} contains {int(bad.sum())} NaN/Inf value(s) (first at index "
            f"{tuple(int(i) for i in first)}). Remove or impute them before fitting."
        )


def _prepare_array(value, name: str):
    """float -> float32 (checked finite), integers and booleans kept, other objects untouched."""
    if isinstance(value, dict):
        return {k: _prepare_array(v, f"{name}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)) and value and all(
        isinstance(v, np.ndarray) or _is_frame(v) for v in value
    ):
        return type(value)(_prepare_array(v, f"{name}[{i}]") for i, v in enumerate(value))
    if not (isinstance(value, np.ndarray) or _is_frame(value)):
        return value  # tf.data.Dataset, generators, PyDataset, tensors: the user's choice
    arr = value.to_numpy() if _is_frame(value) else value
    if np.issubdtype(arr.dtype, np.floating) or arr.dtype == object or _is_frame(value):
        if not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
            arr = as_float32(value, name)
    _check_finite(arr, name)
    return arr


def _n_samples(value):
    if isinstance(value, dict):
        value = next(iter(value.values()), None)
    elif isinstance(value, (list, tuple)) and value and isinstance(value[0], np.ndarray):
        value = value[0]
    return len(value) if isinstance(value, np.ndarray) and value.ndim else None


def prepare_fit_data(x=None, y=None, validation_data=None):
    """Make in-memory fit data ready for Keras: float32 floats, finite values, equal lengths.

    Args:
        x: inputs (array, frame, list or dict of arrays); datasets and generators pass through.
        y: targets; integer labels stay integers.
        validation_data: ``(x_val, y_val)`` or ``(x_val, y_val, sample_weight)``.

    Returns:
        ``(x, y, validation_data)`` converted.

    Raises:
        ValueError: NaN/Inf values, or x and y of different lengths.
    """
    x = _prepare_array(x, "x")
    y = _prepare_array(y, "y")
    nx, ny = _n_samples(x), _n_samples(y)
    if nx is not None and ny is not None and nx != ny:
        raise ValueError(f"x has {nx} samples but y has {ny}; they must be the same length.")
    if isinstance(validation_data, (list, tuple)):
        if len(validation_data) not in (2, 3):
            raise ValueError(
                "validation_data must be (x_val, y_val) or (x_val, y_val, sample_weight), "
                f"got {len(validation_data)} elements."
            )
        xv = _prepare_array(validation_data[0], "validation x")
        yv = _prepare_array(validation_data[1], "validation y")
        nxv, nyv = _n_samples(xv), _n_samples(yv)
        if nxv is not None and nyv is not None and nxv != nyv:
            raise ValueError(
                f"validation x has {nxv} samples but validation y has {nyv}; "
                "they must be the same length."
            )
        validation_data = (xv, yv, *validation_data[2:])
    return x, y, validation_data
