"""Time limits: the deadline a verb given ``time_limit`` keeps, and the rules that keep it.

One rule for every verb (``search()``, ``retrain_best()``, ``craft()``): a piece of work (a
trial, a retrained model) starts only when it is predicted to end before the deadline,
predicted from the work of its kind already done; work running when the time is up stops
at the end of an epoch (:func:`stop_at_deadline`), the epoch after which the next one would
end too late, and keeps its best epoch. What a deadline must leave for later work (craft()'s
retraining after its search) is its ``reserve``.

Keras-free: the callback's class is made when it is first asked for.
"""

from __future__ import annotations

import logging
import math
import numbers
import time

from kerascraft.errors import InputError, InputTypeError

log = logging.getLogger(__name__)

#: a long training says what it is doing at least this often (seconds): a line per epoch
#: once this long has passed since the last
HEARTBEAT_SECONDS = 5.0


def check_time_limit(value, what="time_limit"):
    """``value`` (seconds; ``None``: no limit) checked: a finite number above 0."""
    if value is None or isinstance(value, Deadline):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputTypeError(f"{what} must be a number of seconds (in R also a difftime), or "
                             f"None/NULL for no limit; got {type(value).__name__}.")
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"{what} must be a number of seconds above 0; got {value!r}.")
    return float(value)


def clock(seconds) -> str:
    """Seconds as ``m:ss`` (``h:mm:ss`` from an hour)."""
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Deadline:
    """The end of a time limit of ``seconds`` from ``started`` (``time.monotonic()``).

    ``reserve``: a function giving the seconds kept for later work (a share of the limit
    this part of it may not use); ``usable()`` is the time left less the reserve.
    """

    def __init__(self, seconds, *, started=None, reserve=None):
        self.limit = float(seconds)
        self.started = time.monotonic() if started is None else float(started)
        self.end = self.started + self.limit
        self.reserve = reserve

    @classmethod
    def of(cls, time_limit, started=None):
        """A deadline for ``time_limit`` (checked; ``None`` gives ``None``; a Deadline is
        kept as it is, so an outer verb can share its own)."""
        time_limit = check_time_limit(time_limit)
        if time_limit is None or isinstance(time_limit, Deadline):
            return time_limit
        return cls(time_limit, started=started)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def left(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def reserved(self) -> float:
        return max(0.0, float(self.reserve())) if self.reserve else 0.0

    def usable(self) -> float:
        """Seconds this part of the work may still use."""
        return self.left() - self.reserved()

    def fits(self, predicted) -> bool:
        """Whether work predicted to take ``predicted`` seconds (``None``: unknown, i.e.
        nothing of its kind done yet) may start: it ends before the deadline and its
        reserve. Unknown work starts while any time is usable."""
        usable = self.usable()
        return usable > 0 and (predicted is None or predicted <= usable)

    def part(self, reserve=None) -> "Deadline":
        """The same deadline, keeping ``reserve`` (a function) for what follows."""
        return Deadline(self.limit, started=self.started, reserve=reserve)

    def __repr__(self):
        return f"Deadline({clock(self.limit)}, {clock(self.left())} left)"


def predicted(seconds) -> float | None:
    """The next piece of work's seconds, predicted from those of its kind so far: their
    median (one slow outlier, a first trial compiling, does not stop the rest)."""
    done = sorted(s for s in seconds if s is not None and math.isfinite(s))
    if not done:
        return None
    mid = len(done) // 2
    return done[mid] if len(done) % 2 else (done[mid - 1] + done[mid]) / 2


#: a search told to stop early stops when the trials since its best one took this share of
#: its budget's seconds: more time was buying nothing. Measured by ``bench/stall.py`` on four
#: FCNet tables (BENCHMARKS.md, "Stopping when more time buys nothing"): no share saved time
#: there without costing regret in some seeds, so it is opt-in; a half saved 0-42% of the
#: search's time from 30 trials, and cost regret in 2 to 12 of 20 seeds
STALL_SHARE = 0.5

#: ... and only once this many trials have finished (a search's first trials are random)
STALL_MIN_TRIALS = 5


def stall_share(stop_early, what="stop_early") -> float | None:
    """``stop_early`` (``True``: :data:`STALL_SHARE`; ``False``/``None``: never; a number
    between 0 and 1: that share of the budget) as the share, checked."""
    if stop_early is None or stop_early is False:
        return None
    if stop_early is True:
        return STALL_SHARE
    if isinstance(stop_early, numbers.Real) and 0 < float(stop_early) < 1:
        return float(stop_early)
    raise InputError(f"{what} must be TRUE/True, FALSE/False, or the share of the budget "
                     f"(between 0 and 1) without a better score after which the search "
                     f"stops; got {stop_early!r}.")


def stalled(trials, budget_seconds, *, share=STALL_SHARE, direction="min",
            min_trials=STALL_MIN_TRIALS) -> str | None:
    """Why a search should stop because more time buys nothing, or ``None``.

    ``trials``: ``(seconds, score)`` of the finished trials in the order they finished (a
    failed one's score ``None``: its time counts, it is no improvement); ``budget_seconds``:
    the search's budget (its time limit, or ``max_trials`` times the median trial's seconds).
    True when at least ``min_trials`` have finished and the trials after the best one took
    at least ``share`` of the budget.
    """
    trials = list(trials)
    scored = [i for i, (_, v) in enumerate(trials) if v is not None]
    if len(trials) < min_trials or not scored or not budget_seconds:
        return None
    pick = min if direction == "min" else max
    best = pick(scored, key=lambda i: trials[i][1])  # the first to reach the best score
    since = trials[best + 1:]
    seconds = sum(s for s, _ in since)
    if seconds < share * budget_seconds:
        return None
    def secs(x):
        return f"{x:.0f}s" if x >= 10 else f"{x:.2g}s"

    return (f"no better score in the last {len(since)} trials ({secs(seconds)}, "
            f"{seconds / budget_seconds:.0%} of the budget's {secs(budget_seconds)}; a "
            f"search stops early after {share:.0%})")


_CALLBACK = None


def epoch_clock(deadline=None):
    """A Keras callback that counts the epochs trained (``epochs``) and, given a
    ``deadline``, ends training at the end of the epoch after which the next one would end
    beyond ``deadline.usable()`` (the first epoch, which compiles, only once the time is
    up); ``stopped_at`` (1-based) says where, ``first_epoch`` the seconds of the last
    training's first epoch (compiling included), ``epoch_seconds`` the mean of its later
    ones (``None`` after one epoch). While ``doing`` names the training (``"trial
    3"``), a progress line says its epoch once :data:`HEARTBEAT_SECONDS` have passed since
    the last. Shared, not copied, when KerasTuner copies a trial's callbacks, so the search
    reads it afterwards."""
    global _CALLBACK
    if _CALLBACK is None:
        import keras

        class EpochClock(keras.callbacks.Callback):
            def __init__(self, deadline):
                super().__init__()
                self.deadline = deadline
                self.stopped_at = None
                self.epochs = 0
                self.first_epoch = None
                self._later = []
                self.doing = None
                self._began = self._said = None

            def __deepcopy__(self, memo):
                return self

            def on_train_begin(self, logs=None):
                self.stopped_at, self.epochs, self.first_epoch = None, 0, None
                self._later = []
                self._said = time.monotonic()

            def on_epoch_begin(self, epoch, logs=None):
                self._began = time.monotonic()

            def on_epoch_end(self, epoch, logs=None):
                self.epochs = epoch + 1
                total = int(self.params.get("epochs") or 0)
                now = time.monotonic()
                if epoch == 0:
                    self.first_epoch = now - (self._began or now)
                else:
                    self._later.append(now - (self._began or now))
                if self.doing and now - (self._said or now) >= HEARTBEAT_SECONDS:
                    self._said = now
                    shown = ", ".join(f"{k} {v:.4g}" for k, v in (logs or {}).items()
                                      if k in ("loss", "val_loss"))
                    log.info(f"{self.doing}: epoch {epoch + 1}/{total}"
                             + (f" ({shown})" if shown else ""))
                if self.deadline is None or epoch + 1 >= total:
                    return
                # the next epoch as long as this one; the first also built and compiled
                took = 0.0 if epoch == 0 else time.monotonic() - (self._began or 0.0)
                if self.deadline.usable() <= took:
                    self.stopped_at = epoch + 1
                    self.model.stop_training = True

            @property
            def epoch_seconds(self):
                return sum(self._later) / len(self._later) if self._later else None

        _CALLBACK = EpochClock
    return _CALLBACK(deadline)
