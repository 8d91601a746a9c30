"""kerascraft's exceptions: a user's mistake is an :class:`InputError`, whose message names
the problem and the fix.

``InputError`` is a ``ValueError`` (``InputTypeError`` also a ``TypeError``), so code that
catches those keeps working. A mistake found inside a search, where KerasTuner must stop at
once instead of failing trial after trial (a model that is not compiled, labels that do not
fit the loss, an objective no metric produces), is a :class:`kerascraft.tuning.FatalInputError`:
an ``InputError`` and KerasTuner's ``FatalError``.

R turns every exception whose class name ends in ``InputError`` or ``InputTypeError``
(and ``ValueError``, ``TypeError``) into a condition of class ``kerascraft_input_error``
(``R/errors.R``), so ``tryCatch(..., kerascraft_input_error = ...)`` catches them all.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input: the message says what to change in the call."""


class InputTypeError(InputError, TypeError):
    """Input of the wrong type: the message says which type is wanted."""
