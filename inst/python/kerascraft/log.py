"""kerascraft's progress lines and messages, through :mod:`logging`.

Every module logs to its own child of the ``"kerascraft"`` logger
(``logging.getLogger(__name__)``): progress at INFO, a problem kerascraft worked around at
WARNING. The ``"kerascraft"`` logger has one handler of its own, which writes progress to
``sys.stdout`` and warnings to ``sys.stderr``, each as it is when the line is written (so
R's console, Jupyter and pytest's capture all see them), and does not pass lines on to the
root logger (``basicConfig()`` does
not print them twice). To keep them elsewhere, add a handler to
``logging.getLogger("kerascraft")``.

The verbs (``craft()``, ``search()``, ``retrain_best()``, ...) set what is shown for the
time they run with :func:`progress`: ``verbose=0`` silences everything but errors,
``verbose>=1`` shows progress; ``to=`` sends the lines to a function instead (``craft()``'s
``progress=``; R's console). An outer call's choice holds for the verbs it calls.

While a verb runs, each progress line begins with the time since it began, and with a time
limit the time left: ``[1:05]`` or ``[1:05, 0:55 left]``.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time

ROOT = logging.getLogger("kerascraft")


class _Lines(logging.Handler):
    """Each record as one line, to ``target`` (a function) or else progress to
    ``sys.stdout`` and warnings, marked ``kerascraft:``, to ``sys.stderr``."""

    def __init__(self):
        super().__init__()
        self.target = None

    def emit(self, record):
        try:
            line = self.format(record)
            if record.levelno < logging.WARNING and _clock:
                line = f"[{_clock[0]()}] {line}"
            if self.target is not None:
                self.target(line)
            elif record.levelno >= logging.WARNING:
                print(f"kerascraft: {line}", file=sys.stderr, flush=True)
            else:
                print(line, file=sys.stdout, flush=True)
        except Exception:  # noqa: BLE001 - logging's own convention
            self.handleError(record)


HANDLER = _Lines()
ROOT.addHandler(HANDLER)
ROOT.propagate = False
ROOT.setLevel(logging.INFO)

_active = []  # the progress() calls now running, outermost first
_clock = []  # the outermost call's clock: a function giving the prefix of a progress line


@contextlib.contextmanager
def progress(verbose=1, to=None, deadline=None):
    """While inside, show kerascraft's progress (``verbose`` >= 1) or nothing but errors
    (``verbose`` 0), sent to ``to`` if given, each line after the time since the call began
    (and with ``deadline``, a :class:`kerascraft.budget.Deadline`, the time left); inside
    another call, that call's choices hold."""
    if _active:
        yield
        return
    from kerascraft.budget import clock

    started = time.monotonic() if deadline is None else deadline.started

    def prefix():
        since = clock(time.monotonic() - started)
        return since if deadline is None else f"{since}, {clock(deadline.left())} left"

    saved = ROOT.level, HANDLER.target
    ROOT.setLevel(logging.INFO if verbose else logging.ERROR)
    HANDLER.target = to
    _active.append(True)
    _clock.append(prefix)
    try:
        yield
    finally:
        _active.pop()
        _clock.pop()
        ROOT.setLevel(saved[0])
        HANDLER.target = saved[1]
