"""Which way a score is better: the one type for every "min" or "max" in kerascraft.

A :class:`Direction` is a ``str`` (``Direction.MIN == "min"``), so it goes into JSON and
compares with KerasTuner's ``Objective.direction`` as it is; everything that depends on the
direction (the sign that turns a score into something to minimise, the best of some
values, the running best, Optuna's word for it) is a method here, not an ``if`` elsewhere.
"""

from __future__ import annotations

import enum

import numpy as np

from kerascraft.errors import InputError


class Direction(str, enum.Enum):
    MIN = "min"
    MAX = "max"

    @classmethod
    def of(cls, value) -> "Direction":
        """``value`` (``"min"``, ``"max"``, a Direction, or an object with a ``direction``
        such as a KerasTuner ``Objective``) as a Direction."""
        value = getattr(value, "direction", value)
        try:
            return cls(value)
        except ValueError:
            raise InputError(f"direction must be 'min' (lower is better, like a loss) or "
                             f"'max' (higher is better, like accuracy); got {value!r}.") from None

    @classmethod
    def guess(cls, metric: str) -> "Direction":
        """Keras's convention for a metric's name: losses and errors are minimised."""
        return cls.MIN if "loss" in metric or "error" in metric else cls.MAX

    def __str__(self) -> str:
        return self.value

    @property
    def loss_sign(self) -> float:
        """+1 or -1: ``loss_sign * score`` is lower when the score is better."""
        return 1.0 if self is Direction.MIN else -1.0

    @property
    def optuna(self) -> str:
        return "minimize" if self is Direction.MIN else "maximize"

    @property
    def verb(self) -> str:
        return "minimised" if self is Direction.MIN else "maximised"

    def best(self, values):
        return min(values) if self is Direction.MIN else max(values)

    def best_index(self, values) -> int:
        """The position of the best value, NaN ignored."""
        return int(np.nanargmin(values) if self is Direction.MIN else np.nanargmax(values))

    def running_best(self, values) -> np.ndarray:
        """The best so far at each position."""
        values = np.asarray(values, dtype=np.float64)
        return (np.minimum if self is Direction.MIN else np.maximum).accumulate(values)
