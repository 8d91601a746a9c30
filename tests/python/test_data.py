import numpy as np
import pandas as pd
import pytest

from kerascraft.data import as_float32, prepare_fit_data, target_values


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


def test_every_numeric_column_type_converts_on_every_pandas():
    frame = pd.DataFrame({
        "float": [1.5, 2.0, 3.0],
        "int": np.array([1, 2, 3], dtype=np.int32),
        "bool": [True, False, True],
        "Int64": pd.array([4, 5, 6], dtype="Int64"),
        "Float64": pd.array([0.25, 0.5, 0.75], dtype="Float64"),
        "boolean": pd.array([False, True, False], dtype="boolean"),
        "numbers as objects": pd.Series([1, 2.5, 3], dtype=object),
    })
    out = as_float32(frame)
    assert out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_array_equal(out[:, 3], [4, 5, 6])
    np.testing.assert_array_equal(out[:, 5], [0, 1, 0])
    np.testing.assert_array_equal(out[:, 6], [1, 2.5, 3])
    x, _, _ = prepare_fit_data(frame, np.zeros(3, np.int64))
    np.testing.assert_array_equal(x, out)


@pytest.mark.parametrize("column, kind", [
    (pd.Series(["Oslo", "Rome"]), "text"),                       # str on pandas 3, object before
    (pd.Series(["Oslo", "Rome"], dtype="string"), "text"),
    (pd.Series(["a", "b"], dtype="category"), "category"),
    (pd.Series(pd.to_datetime(["2020-01-01", "2021-06-30"])), "date/time"),
    (pd.Series(pd.to_timedelta([1, 2], unit="D")), "date/time"),
    (pd.Series(["a", 1], dtype=object), "mixed values"),
])
def test_non_numeric_columns_are_named_with_their_kind(column, kind):
    frame = pd.DataFrame({"ok": [1.0, 2.0], "bad": column})
    with pytest.raises(TypeError) as err:
        as_float32(frame, "x")
    assert str(err.value).startswith(f"x has non-numeric columns: bad ({kind}). Encode them")
    assert ("Dates and times" in str(err.value)) == (kind == "date/time")
    with pytest.raises(TypeError, match=r"non-numeric columns: bad"):
        prepare_fit_data(frame, np.zeros(2))


def test_missing_values_in_any_column_type_are_counted_by_column():
    frame = pd.DataFrame({
        "Int64": pd.array([1, None, 3], dtype="Int64"),
        "float": [np.nan, 1.0, np.nan],
        "boolean": pd.array([True, False, None], dtype="boolean"),
        "complete": [1, 2, 3],
    })
    with pytest.raises(ValueError, match=r"^x has 4 missing value\(s\) \(NA\) in columns "
                                         r"Int64 \(1\), float \(2\), boolean \(1\)\. Remove"):
        as_float32(frame)


def test_targets_of_every_pandas_type_become_plain_arrays():
    assert target_values(pd.Series(pd.array([1, 0], dtype="Int64"))).dtype == np.int64
    assert target_values(pd.Series(pd.array([0.5, 1], dtype="Float64"))).dtype == np.float64
    assert target_values(pd.Series(pd.array([True, False], dtype="boolean"))).dtype == bool
    labels = target_values(pd.Series(["cat", "dog"], dtype="category"))
    assert labels.dtype == object and labels.tolist() == ["cat", "dog"]
    assert target_values(pd.Series(["cat", "dog"])).tolist() == ["cat", "dog"]
    with pytest.raises(ValueError, match=r"^y has 1 missing value\(s\) \(NA\)\. Remove"):
        target_values(pd.Series(pd.array([1, None], dtype="Int64")), "y")
    with pytest.raises(ValueError, match=r"y has 1 missing value"):
        target_values(pd.Series(["cat", None]), "y")
    plain = np.array([1, 2])
    assert target_values(plain) is plain


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
