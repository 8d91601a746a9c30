"""Direction: the one min/max type."""

import json

import numpy as np
import pytest

from kerascraft.direction import Direction


def test_directions_compare_and_serialise_as_their_names():
    assert Direction.MIN == "min" and Direction.of("max") is Direction.MAX
    assert json.dumps({"d": Direction.MAX}) == '{"d": "max"}' and f"{Direction.MIN}" == "min"

    class Objective:
        direction = "max"

    assert Direction.of(Objective()) is Direction.MAX
    with pytest.raises(ValueError, match="direction must be 'min' .* got 'up'"):
        Direction.of("up")


@pytest.mark.parametrize("direction, best, index, running, sign", [
    (Direction.MIN, 1.0, 1, [3.0, 1.0, 1.0], 1.0),
    (Direction.MAX, 3.0, 0, [3.0, 3.0, 3.0], -1.0),
])
def test_each_direction_picks_its_best(direction, best, index, running, sign):
    values = [3.0, 1.0, 2.0]
    assert direction.best(values) == best
    assert direction.best_index([3.0, 1.0, np.nan]) == index
    assert list(direction.running_best(values)) == running
    assert direction.loss_sign == sign


def test_metric_names_guess_their_direction():
    assert Direction.guess("val_loss") is Direction.MIN
    assert Direction.guess("mean_squared_error") is Direction.MIN
    assert Direction.guess("val_auc") is Direction.MAX
