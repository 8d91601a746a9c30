"""A search's trials read back: the results table, the best trials and models, and the
data of its plot. Knows KerasTuner's oracle and trial objects, not how trials are run
(that is :mod:`kerascraft.tuning`)."""

from __future__ import annotations

import enum
import json
import os
import warnings

from kerascraft.direction import Direction
from kerascraft.errors import InputError

#: what kerascraft writes beside each trial: its time, retries and error
TIMING_FILE = "kerascraft_trial.json"
#: the marker of a trial being run (a process that died leaves it; the retry counts it)
ATTEMPT_FILE = "kerascraft_attempt.json"


class TrialStatus(str, enum.Enum):
    """KerasTuner's trial statuses, and ``PRUNED``: completed, but stopped early by pruning
    (shown in :func:`results`; KerasTuner itself keeps such a trial as ``COMPLETED``).

    Equal to the plain strings in Python; compare a pandas column with ``.value`` (pandas 3's
    string columns do not take an Enum as a string)."""

    RUNNING = "RUNNING"
    IDLE = "IDLE"
    INVALID = "INVALID"
    STOPPED = "STOPPED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    PRUNED = "PRUNED"


#: statuses of trials that will not run again
FINISHED = frozenset(s.value for s in (TrialStatus.COMPLETED, TrialStatus.FAILED,
                                       TrialStatus.INVALID))


def trial_order(trial_id):
    """The sort key that puts trials in the order they were made.

    KerasTuner pads a trial's id to the width of ``max_trials`` (``"3"`` of 5, ``"03"`` of
    12), so a search resumed with a larger budget has ids of two widths, which as strings
    sort ``0, 04, ..., 09, 1, 10, 2``. Ids are numbers here, and ids that are not (a custom
    oracle's) follow them in string order."""
    text = str(trial_id)
    return (0, int(text), text) if text.isdigit() else (1, 0, text)


def in_trial_order(trials):
    """``trials`` (KerasTuner ``Trial`` objects) sorted by :func:`trial_order`."""
    return sorted(trials, key=lambda t: trial_order(t.trial_id))


def trial_record(tuner, trial_id) -> dict:
    """What kerascraft wrote about a finished trial: ``seconds``, ``retries``."""
    path = os.path.join(tuner.get_trial_dir(trial_id), TIMING_FILE)
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def last_line(message):
    lines = [line for line in (message or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else None


#: the columns of :func:`results` before the one-per-hyperparameter columns
RESULT_COLUMNS = ("trial_id", "status", "score", "best_epoch", "seconds", "retries", "error")


def result_columns(tuner) -> dict:
    """The table behind :func:`results`, as ``{column: list}`` (``None`` where missing).

    Columns: ``trial_id``, ``status`` (KerasTuner's, or ``"PRUNED"`` for a trial that
    pruning stopped early; its score is its best before it stopped), ``score``, ``best_epoch`` (1-based epoch of the best
    objective value, i.e. KerasTuner's ``best_step + 1``), ``seconds`` (wall time),
    ``retries`` (how often the trial was run again because its process died),
    ``error`` (last line of the error of a failed trial), then one column per
    hyperparameter (``None`` where a conditional hyperparameter was inactive).
    """
    oracle = tuner.oracle
    trials = in_trial_order(oracle.trials.values())
    hp_names = [hp.name for hp in oracle.get_space().space]
    for t in trials:  # hyperparameters a trial knows that the space lost (rare)
        hp_names += [n for n in t.hyperparameters.values if n not in hp_names]
    cols = {k: [] for k in RESULT_COLUMNS}
    cols.update({n: [] for n in hp_names})
    pruned = getattr(oracle, "pruned", {})
    for t in trials:
        failed = t.status in (TrialStatus.FAILED, TrialStatus.INVALID)
        cols["trial_id"].append(t.trial_id)
        cols["status"].append(TrialStatus.PRUNED.value if t.status == TrialStatus.COMPLETED and t.trial_id in pruned
                              else t.status)
        cols["score"].append(None if t.score is None else float(t.score))
        best_step = None if t.score is None else t.best_step
        cols["best_epoch"].append(None if best_step is None else int(best_step) + 1)
        record = trial_record(tuner, t.trial_id)
        cols["seconds"].append(record.get("seconds"))
        cols["retries"].append(record.get("retries", 0) if record else None)
        cols["error"].append((last_line(t.message) or record.get("error")) if failed else None)
        values = t.hyperparameters.values
        for n in hp_names:
            cols[n].append(values.get(n))
    return cols


def search_plot_data(tuner) -> dict:
    """What a plot of a search shows, computed once for matplotlib here and ggplot2 in R.

    Returns:
        ``{"objective": name, "progress": {column: list}, "hyperparameters": {column:
        list}, "numeric": {hyperparameter: bool}}``. ``progress``: one row per trial with a
        score (``trial``, 1-based in trial order; ``score``; ``best``, the best so far;
        ``status``). ``hyperparameters``: one row per trial and active hyperparameter
        (``hyperparameter``, ``value`` as a number or None, ``label`` as text, ``score``).
    """
    cols = result_columns(tuner)
    objective = tuner.oracle.objective
    done = [i for i, s in enumerate(cols["score"]) if s is not None]
    scores = [cols["score"][i] for i in done]
    best = Direction.of(objective).running_best(scores).tolist() if scores else []
    progress = {"trial": [i + 1 for i in done], "score": scores, "best": best,
                "status": [cols["status"][i] for i in done]}
    long = {"hyperparameter": [], "value": [], "label": [], "score": []}
    numeric = {}
    for name in list(cols)[len(RESULT_COLUMNS):]:
        kept = [(cols[name][i], cols["score"][i]) for i in done if cols[name][i] is not None]
        numeric[name] = bool(kept) and all(_is_number(v) for v, _ in kept)
        for v, s in kept:
            long["hyperparameter"].append(name)
            long["value"].append(float(v) if numeric[name] else None)
            long["label"].append(str(v))
            long["score"].append(s)
    return {"objective": objective.name, "progress": progress, "hyperparameters": long,
            "numeric": numeric}


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def plot_search(tuner):
    """Plot a search: score by trial with the best-so-far line, and the score against each
    hyperparameter (failed trials left out); the data is :func:`search_plot_data`'s.

    Returns:
        A matplotlib Figure.
    """
    from matplotlib.figure import Figure  # no pyplot: works without a display

    data = search_plot_data(tuner)
    progress, long = data["progress"], data["hyperparameters"]
    fig = Figure(figsize=(4 * (1 + len(data["numeric"])), 3.2))
    axes = fig.subplots(1, 1 + len(data["numeric"]), squeeze=False)
    ax = axes[0][0]
    ax.plot(progress["trial"], progress["score"], "o", label="trial")
    ax.step(progress["trial"], progress["best"], where="post", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(data["objective"])
    ax.legend()
    for ax, (name, numeric) in zip(axes[0][1:], data["numeric"].items()):
        rows = [i for i, h in enumerate(long["hyperparameter"]) if h == name]
        scores = [long["score"][i] for i in rows]
        if numeric:
            ax.plot([long["value"][i] for i in rows], scores, "o")
        else:
            levels = sorted({long["label"][i] for i in rows})
            ax.plot([levels.index(long["label"][i]) for i in rows], scores, "o")
            ax.set_xticks(range(len(levels)), levels)
        ax.set_xlabel(name)
    fig.tight_layout()
    return fig


def results(tuner):
    """Every trial of ``tuner`` as a pandas DataFrame, one row per trial, in trial order.

    See :func:`result_columns` for the columns.
    """
    import pandas as pd

    return pd.DataFrame(result_columns(tuner))


def require_completed(tuner, what):
    if not any(t.status == TrialStatus.COMPLETED for t in tuner.oracle.trials.values()):
        raise InputError(
            f"no completed trial yet, so there are no {what}: run search() first "
            "(or check results() for why the trials failed)."
        )


def best_trials(tuner, n=1):
    """The ``n`` best completed trials, best first.

    Ties go to the earlier trial (:func:`trial_order`), so the order is the same in every
    process (KerasTuner's own order of tied trials can change when a search is reloaded).
    """
    sign = Direction.of(tuner.oracle.objective).loss_sign
    done = [t for t in tuner.oracle.trials.values()
            if t.status == TrialStatus.COMPLETED and t.score is not None]
    return sorted(done, key=lambda t: (sign * t.score, trial_order(t.trial_id)))[:int(n)]


def best_hyperparameters(tuner, n=1):
    """The ``n`` best configurations (``keras_tuner.HyperParameters``), best first."""
    require_completed(tuner, "best hyperparameters")
    return [t.hyperparameters for t in best_trials(tuner, n)]


def best_models(tuner, n=1):
    """The ``n`` best models as the search saved them (weights of each trial's best epoch)."""
    require_completed(tuner, "best models")
    with warnings.catch_warnings():
        # the saved optimizer state is not restored (the models are for predicting or
        # further training from fresh optimizer state); Keras warns about it once per model
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        return [tuner.load_model(t) for t in best_trials(tuner, n)]
