"""Classes or numbers: one rule (kerascraft.task.decide_task) for craft(), ensembles and
cross-fitting, which R asks too."""

import numpy as np
import pytest

import kerascraft as kc
from kerascraft.task import MAX_AUTO_CLASSES, decide_task
from kerascraft.workflow import inputs

# a car table's highway miles per gallon (ggplot2's mpg, 234 cars): 27 distinct whole
# numbers, several of them on one or two rows. Users expect regression (AutoGluon decides
# so); the rule of "at most 30 distinct whole numbers" made it 27 classes
HWY = np.repeat([12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
                 32, 33, 34, 35, 36, 37, 41, 44],
                [5, 2, 10, 7, 31, 10, 13, 11, 2, 7, 7, 13, 15, 32, 14, 7, 22, 4, 7, 4, 2, 1,
                 2, 2, 1, 1, 2])


def test_whole_numbers_with_many_values_on_few_rows_are_numbers():
    choice = decide_task(HWY)
    assert len(np.unique(HWY)) <= MAX_AUTO_CLASSES  # the old rule took them for classes
    assert choice.task == "regression"
    assert choice.reason.startswith("27 distinct whole numbers among 234 rows, fewer than "
                                    "10 rows per value on average")
    assert choice.reason.endswith("task='classification' reads them as classes")


def test_whole_numbers_with_enough_rows_per_value_are_classes():
    digits = kc.load_dataset("digits", split=False)["y"]
    assert decide_task(digits) == kc.TaskChoice(
        "classification", "10 distinct whole numbers, each on at least 5 rows; "
                          "task='regression' reads them as numbers")
    cylinders = np.repeat([4, 6, 8], [11, 7, 14])  # mtcars: 32 cars
    assert decide_task(cylinders).task == "classification"
    rare = np.repeat([0, 1, 2], [50, 50, 3])
    choice = decide_task(rare)
    assert choice.task == "regression" and "2 on fewer than the 5 rows a class needs" in \
        choice.reason
    assert decide_task(rare, min_per_class=3).task == "classification"


@pytest.mark.parametrize("y, task, reason", [
    (np.array(["a", "b", "a"]), "classification", "y holds labels, not numbers"),
    (np.array([True, False, True]), "classification", "y holds TRUE/FALSE labels"),
    (np.array([0.5, 1.0, 2.0]), "regression", "y holds numbers with fractions"),
    (np.array([1.0, np.nan, 2.0]), "regression", "y holds numbers with fractions"),
    (np.array([[1, 2], [3, 4]]), "regression", "y has 2 columns of numbers"),
    (np.array([0, 1, 1, 0]), "classification", "2 distinct whole numbers"),
])
def test_labels_that_are_not_numbers_are_classes_and_fractions_are_not(y, task, reason):
    choice = decide_task(y)
    assert choice.task == task and choice.reason.startswith(reason)


def test_the_task_given_is_taken_and_a_wrong_one_is_named():
    assert decide_task(HWY, task="classification") == kc.TaskChoice("classification", "given")
    with pytest.raises(ValueError, match="task must be 'auto', 'classification' or "
                                         "'regression', got 'ranking'"):
        decide_task(HWY, task="ranking")


def test_with_predictions_labels_are_classes_when_every_model_gives_probabilities():
    y = np.array([1, 2, 2, 1, 2])
    one_column = {"a": np.array([0.2, 0.8, 0.7, 0.1, 0.9])}
    # 1 and 2 with one-column probabilities: classes (R read them so, Python as numbers);
    # the ensemble then says how such labels must count
    assert decide_task(y, predictions=one_column).task == "classification"
    with pytest.raises(ValueError, match="labels outside the class range 0..1 .*1-based .* "
                                         "subtract 1"):
        kc.fit_ensemble(one_column, y)
    with pytest.raises(ValueError, match=r"outside the class range 0..1 .*: found \[2\]\. Labels"):
        kc.fit_ensemble({"a": np.array([0.2, 0.8, 0.7, 0.1])}, np.array([0, 1, 2, 1]))
    values = {"a": np.array([3.5, 1.0, 2.2, 4.0, 0.5])}
    assert decide_task(y, predictions=values) == kc.TaskChoice(
        "regression", "whole-number labels, but not every model predicts probabilities")
    probs = np.array([[0.9, 0.1], [0.2, 0.8]])
    assert decide_task(np.array([[1, 0], [0, 1]]), predictions=[probs]).task == "classification"


def test_craft_data_keeps_the_task_and_its_reason(tmp_path):
    x = np.random.default_rng(0).normal(size=(len(HWY), 3))
    data = inputs.validate(x, HWY.astype(float), None, None, "auto", None, 0.2, 0.2)
    assert data.task == "regression" and data.task_reason.startswith("27 distinct")
    with pytest.raises(ValueError, match="too few samples per class"):
        inputs.validate(x, HWY, None, None, "classification", None, 0.2, 0.2)


def test_cross_fit_decides_with_the_same_rule_a_class_needing_cv_rows():
    from sklearn.linear_model import LinearRegression

    x = np.random.default_rng(0).normal(size=(len(HWY), 2))
    fitted = kc.cross_fit({"lm": LinearRegression()}, x, HWY, cv=3, verbose=0)
    assert fitted.task == "regression"
