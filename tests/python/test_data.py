import numpy as np
import pandas as pd
import pytest

from kerascraft.data import as_float32, prepare_fit_data


def test_as_float32_converts_lists_arrays_and_frames():
    assert as_float32([[1, 2], [3, 4]]).dtype == np.float32
    assert as_float32(np.ones(3, dtype=np.float64)).dtype == np.float32
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [1, 0], "c": [True, False]})
    out = as_float32(frame)
    assert out.dtype == np.float32 and out.shape == (2, 3)
    already = np.zeros(2, np.float32)
    assert as_float32(already) is already
    column_major = np.asfortranarray(np.ones((3, 2)))        # how R matrices arrive
    assert as_float32(column_major).flags.c_contiguous


def test_as_float32_names_non_numeric_columns():
    with pytest.raises(TypeError, match="non-numeric columns: city"):
        as_float32(pd.DataFrame({"x": [1.0], "city": ["Oslo"]}))
    with pytest.raises(TypeError, match="must hold numbers"):
        as_float32(np.array(["a", "b"], dtype=object))


def test_prepare_fit_data_makes_floats_float32_and_keeps_integer_labels():
    x = np.random.default_rng(0).normal(size=(6, 3))  # float64, as R sends it
    y = np.arange(6, dtype=np.int32)
    xv, yv = x[:2].copy(), np.array([0.0, 1.0])
    x2, y2, (xv2, yv2) = prepare_fit_data(x, y, (xv, yv))
    assert x2.dtype == np.float32 and xv2.dtype == np.float32 and yv2.dtype == np.float32
    assert y2.dtype == np.int32 and y2 is y
    np.testing.assert_allclose(x2, x, rtol=1e-6)


def test_prepare_fit_data_handles_multi_input_and_leaves_datasets_alone():
    class FakeDataset:
        pass

    ds = FakeDataset()
    x, y, _ = prepare_fit_data({"a": np.ones((2, 2)), "b": np.zeros(2, np.int64)}, ds)
    assert x["a"].dtype == np.float32 and x["b"].dtype == np.int64
    assert y is ds
    x, _, _ = prepare_fit_data([np.ones((2, 1)), np.ones((2, 1))])
    assert isinstance(x, list) and all(a.dtype == np.float32 for a in x)


def test_prepare_fit_data_rejects_nan_and_mismatched_lengths():
    x = np.ones((4, 2))
    x[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"x contains 1 NaN/Inf value\(s\) \(first at index \(2, 1\)\)"):
        prepare_fit_data(x, np.zeros(4))
    with pytest.raises(ValueError, match="x has 3 samples but y has 2"):
        prepare_fit_data(np.ones((3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="validation y"):
        prepare_fit_data(np.ones((3, 2)), np.zeros(3), (np.ones((2, 2)), np.array([np.inf, 0])))
    with pytest.raises(ValueError, match="validation_data must be"):
        prepare_fit_data(np.ones((3, 2)), np.zeros(3), (np.ones((2, 2)),))
