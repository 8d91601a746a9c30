"""Conversion and checks of in-memory training data, shared by every entry point.

R numbers are doubles and reach Python as float64 arrays; Keras would then compute in
float64 (slow) or cast silently. Everything kerascraft fits goes through
:func:`prepare_fit_data`, which makes floating data float32, keeps integer labels and ids as
integers, and rejects NaN/Inf before any training starts.
"""

from __future__ import annotations

import numpy as np

from kerascraft.errors import InputError, InputTypeError


def _is_frame(x) -> bool:
    """A pandas DataFrame or Series (checked without importing pandas)."""
    return type(x).__module__.startswith("pandas") and hasattr(x, "to_numpy")


def is_data_frame(x) -> bool:
    """A pandas DataFrame, not a Series (checked without importing pandas)."""
    return _is_frame(x) and hasattr(x, "columns")


#: the one word each language's non-numeric column kinds are reported under when they are
#: dates or times; R's wrappers use it too (R/convert.R)
TIME_KIND = "date/time"
#: what pandas infers for an object column whose values are all numbers
_NUMERIC_OBJECTS = {"integer", "floating", "mixed-integer-float", "boolean", "decimal", "empty"}


def non_numeric_columns_message(name: str, kinds: dict) -> str:
    """The error for columns that are not numbers, in Python and in R.

    Args:
        name: what to call the data (``"x"``, ``"validation x"``).
        kinds: column name -> what it holds (``"text"``, ``"category"``/``"factor"``,
            :data:`TIME_KIND`, or a type name).
    """
    listed = ", ".join(f"{column} ({kind})" for column, kind in kinds.items())
    fix = "Encode them as numbers (one-hot or integer codes) or drop them."
    if TIME_KIND in kinds.values():
        fix += " Dates and times: use numbers, such as days since a reference date."
    return (f"{name} has non-numeric columns: {listed}. {fix} (craft() reads such tables as "
            "they are.)")


def missing_values_message(name: str, total: int, by_column: dict | None = None) -> str:
    """The error for missing values (NA, None, NaN, NaT), in Python and in R.

    Args:
        name: what to call the data.
        total: how many values are missing.
        by_column: column name -> count, for tables (columns without any left out).
    """
    where = ""
    if by_column:
        where = " in columns " + ", ".join(f"{c} ({int(k)})" for c, k in by_column.items())
    return (f"{name} has {int(total)} missing value(s) (NA){where}. Remove or impute them "
            "before fitting.")


def _column_kind(column):
    """None for a pandas column kerascraft takes as numbers, else what it holds."""
    import pandas as pd  # only reached with a pandas object in hand
    from pandas.api import types

    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if types.is_bool_dtype(dtype) or (types.is_numeric_dtype(dtype)
                                      and not types.is_complex_dtype(dtype)):
        return None  # NumPy numbers and bool, nullable Int64/Float64/boolean
    if (types.is_datetime64_any_dtype(dtype) or types.is_timedelta64_dtype(dtype)
            or isinstance(dtype, pd.PeriodDtype)):
        return TIME_KIND
    if dtype == object:
        inferred = types.infer_dtype(column, skipna=True)
        if inferred in _NUMERIC_OBJECTS:
            return None  # numbers that pandas keeps as Python objects
        return "text" if inferred == "string" else "mixed values"
    if types.is_string_dtype(dtype):
        return "text"  # pandas 3's default str columns, StringDtype
    return str(dtype)


def _frame_columns(x, name):
    """(column name, Series) pairs of a DataFrame, or of a Series as one column."""
    if hasattr(x, "columns"):
        return [(str(c), x.iloc[:, i]) for i, c in enumerate(x.columns)]
    return [(str(x.name) if x.name is not None else name, x)]


def frame_to_float32(x, name: str = "x") -> np.ndarray:
    """A pandas DataFrame or Series of numeric columns as a float32 array.

    NumPy numeric and bool columns, pandas' nullable ``Int64``/``Float64``/``boolean``
    columns and object columns that hold only numbers are converted; missing values
    (``pd.NA``, ``None``, ``NaN``) are an error that names the columns, and so are
    category, text and date/time columns (kerascraft does not guess an encoding).

    Raises:
        TypeError: non-numeric columns.
        ValueError: missing values.
    """
    columns = _frame_columns(x, name)
    kinds = {c: k for c, col in columns if (k := _column_kind(col)) is not None}
    if kinds:
        raise InputTypeError(non_numeric_columns_message(name, kinds))
    missing = {c: int(n) for c, col in columns if (n := col.isna().sum())}
    if missing:
        raise InputError(missing_values_message(name, sum(missing.values()), missing)
                         + " (craft() takes tables with missing values as they are.)")
    return np.ascontiguousarray(x.to_numpy(dtype=np.float32))


def target_values(y, name: str = "y") -> np.ndarray:
    """Targets as a NumPy array; pandas columns of any type, checked for missing values.

    Numbers stay numbers (nullable ``Int64`` becomes int64, ``Float64`` float64,
    ``boolean`` bool), labels (text, category) become an object array of the labels.
    Other inputs go through ``numpy.asarray`` unchanged.

    Raises:
        ValueError: missing values in a pandas column.
    """
    if not _is_frame(y):
        return np.asarray(y)
    import pandas as pd  # only reached with a pandas object in hand

    columns = _frame_columns(y, name)
    missing = {c: int(n) for c, col in columns if (n := col.isna().sum())}
    if missing:
        by_column = missing if hasattr(y, "columns") else None
        raise InputError(missing_values_message(name, sum(missing.values()), by_column))
    values = []
    for _, col in columns:
        dtype = col.dtype
        if isinstance(dtype, pd.api.extensions.ExtensionDtype) and not isinstance(
                dtype, pd.CategoricalDtype) and hasattr(dtype, "numpy_dtype"):
            values.append(col.to_numpy(dtype=dtype.numpy_dtype))  # Int64, Float64, boolean
        elif isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype):
            values.append(col.to_numpy(dtype=object))
        else:
            values.append(col.to_numpy())
    if not hasattr(y, "columns"):
        return values[0]
    return np.column_stack(values) if values else np.empty((len(y), 0))


def as_float32(x, name: str = "x") -> np.ndarray:
    """Convert numbers (NumPy arrays, pandas frames, nested lists, scalars) to float32.

    Args:
        x: the data. A pandas DataFrame must have numeric columns only (see
            :func:`frame_to_float32` for which columns count as numeric).
        name: what to call the data in error messages.

    Returns:
        A C-ordered float32 ``numpy.ndarray`` (the same object when it already is one).
        R matrices arrive column-major; training slices rows, so they are reordered.

    Raises:
        TypeError: when ``x`` holds values that are not numbers.
        ValueError: missing values in a pandas frame.
    """
    if _is_frame(x):
        return frame_to_float32(x, name)
    arr = np.asarray(x)
    if arr.dtype == np.float32 and (arr.flags.c_contiguous or arr.ndim < 2):
        return arr
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) or np.iscomplexobj(arr):
        try:
            return np.ascontiguousarray(arr, dtype=np.float32)
        except (TypeError, ValueError) as err:
            raise InputTypeError(
                f"{name} must hold numbers, got values of type {arr.dtype}: {err}"
            ) from None
    # C order: R matrices arrive column-major, and batches are rows
    return np.ascontiguousarray(arr, dtype=np.float32)


def check_finite(arr: np.ndarray, name: str) -> None:
    if not np.issubdtype(arr.dtype, np.floating):
        return
    bad = ~np.isfinite(arr)
    if bad.any():
        first = np.argwhere(bad)[0]
        raise InputError(
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
    if _is_frame(value):
        arr = frame_to_float32(value, name)
    elif not isinstance(value, np.ndarray):
        return value  # tf.data.Dataset, generators, PyDataset, tensors: the user's choice
    elif np.issubdtype(value.dtype, np.floating) or value.dtype == object:
        arr = as_float32(value, name)
    else:
        arr = value  # integer labels and ids, booleans: kept
    check_finite(arr, name)
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
        raise InputError(f"x has {nx} samples but y has {ny}; they must be the same length.")
    if isinstance(validation_data, (list, tuple)):
        if len(validation_data) not in (2, 3):
            raise InputError(
                "validation_data must be (x_val, y_val) or (x_val, y_val, sample_weight), "
                f"got {len(validation_data)} elements."
            )
        xv = _prepare_array(validation_data[0], "validation x")
        yv = _prepare_array(validation_data[1], "validation y")
        nxv, nyv = _n_samples(xv), _n_samples(yv)
        if nxv is not None and nyv is not None and nxv != nyv:
            raise InputError(
                f"validation x has {nxv} samples but validation y has {nyv}; "
                "they must be the same length."
            )
        validation_data = (xv, yv, *validation_data[2:])
    return x, y, validation_data
