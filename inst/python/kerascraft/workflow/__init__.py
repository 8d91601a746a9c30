"""The whole workflow in one call: split, tune, retrain the best, add gradient-boosted trees,
ensemble, and compare everything on test data.

:func:`craft` is a short loop over stages (:mod:`.stages`) that share one store of saved
work (:mod:`.store`), so that a second call after a crash (or with the same arguments)
picks up where the first stopped. Its options are checked when :class:`CraftConfig` is
made and its data by :func:`.inputs.validate`, both before anything is written or trained.

Ensemble weights are learned on validation predictions of models that never saw the
validation data (the search's saved best models, gradient boosting fitted on the training
split); the models that predict the test set are their versions trained on train+validation.
"""

from __future__ import annotations

import contextlib
import time

from kerascraft import log as kc_log
from kerascraft.workflow import inputs
from kerascraft.workflow.config import CraftConfig
from kerascraft.workflow.result import CraftResult
from kerascraft.workflow.saved import keep, load_craft
from kerascraft.workflow.space import default_hypermodel
from kerascraft.workflow.stages import FINISHING, TRAINING, Run
from kerascraft.workflow.store import Store

__all__ = ["CraftConfig", "CraftResult", "craft", "default_hypermodel", "load_craft"]


def craft(x, y, *, time_limit=None, validation_data=None, test_data=None, progress=None,
          **options):
    """The complete workflow on ``(x, y)``: split, tune, retrain, ensemble, test.

    Args:
        x: features: a table (a pandas DataFrame: numbers, nullable numbers, booleans,
            categories, text, dates, with missing values anywhere; each column read by its
            kind, :mod:`kerascraft.tables`), a matrix (samples x features) or images
            (samples x height x width [x channels]).
        y: targets: class labels (numbers, strings, booleans) or numbers for regression;
            or the name of ``x``'s column that holds them (rows without a value are left
            out, with a line saying how many).
        time_limit: seconds the call may take (``None``: no limit; the search then runs
            ``max_trials`` trials). The stages share it by :data:`.stages.TIME_RULE`;
            ``max_trials`` stays an upper bound. The summary says what the limit cut. A
            second call with a new limit continues the first's work.
        validation_data, test_data: ``(x, y)`` to use instead of splitting them off ``x``.
        progress: function that receives each progress line (default: printed; the lines
            are also the ``kerascraft`` logger's, see :mod:`kerascraft.log`).
        **options: :class:`CraftConfig`'s: ``task``, ``hypermodel``, ``objective``, ``kind``,
            ``max_trials``, ``epochs``, ``batch_size``, ``patience``, ``top``,
            ``epoch_factor``, ``gradient_boosting``, ``cheap_models``, ``ensemble_method``,
            ``precision``, ``strategy``, ``steps_per_execution``, ``val_fraction``,
            ``test_fraction``, ``directory``, ``overwrite``, ``seed``, ``verbose``,
            ``class_names``.

    Returns:
        :class:`CraftResult`; ``print()`` it for the summary, ``.report(path)`` for HTML.

    Raises:
        ValueError / TypeError before any training for: an unknown option or a bad value,
        x and y of different lengths, non-numeric columns, NaN/Inf, a target with one
        class, too few samples per class for the splits, a directory that holds a run on
        other data or a search made with other settings.
    """
    started = time.monotonic()
    from kerascraft.budget import Deadline

    deadline = Deadline.of(time_limit, started=started)
    config = CraftConfig.from_options(options)
    data = inputs.validate(x, y, validation_data, test_data, config.task, config.class_names,
                           config.val_fraction, config.test_fraction)
    store = Store.open(config.directory,
                       data.fingerprint(config.val_fraction, config.test_fraction, config.seed),
                       overwrite=config.overwrite)
    store.set(task=data.task, classes=data.classes)
    with kc_log.progress(config.verbose, to=progress, deadline=deadline):
        with contextlib.ExitStack() as scopes:
            run = Run(config, data, store, scopes, deadline=deadline)
            stages = [s for s in TRAINING + FINISHING if s.wanted(run)]
            for stage in stages:
                stage.check(run, store.record(stage.name))
            for stage in TRAINING:  # inside the precision policy's scope (set-up enters it)
                if stage.wanted(run):
                    _execute(stage, run)
        for stage in FINISHING:
            if stage.wanted(run):
                _execute(stage, run)
        result = _result(run, time.monotonic() - started)
        keep(run, result)
        run.say(result.summary())
    return result


def _execute(stage, run):
    started = time.monotonic()
    reused = bool(stage.execute(run, run.store.record(stage.name)))
    seconds = time.monotonic() - started
    run.timings[stage.name] = seconds
    if reused:
        run.reused.append(stage.name)
    run.store.finish(stage.name, stage.settings(run), seconds, reused, **stage.decided(run))


def _result(run, seconds) -> CraftResult:
    import pandas as pd

    retrained = pd.DataFrame(run.retrained.summary)
    retrained.insert(0, "model", run.nets)
    objective = run.objective
    return CraftResult(
        directory=run.config.directory, task=run.data.task, classes=run.data.classes,
        setup=run.setup, sizes=run.splits.sizes, objective=getattr(objective, "name", objective),
        trials=run.trials, retrained=retrained, weights=run.ensemble.models(),
        test_scores=run.test_scores, gaps=run.gaps, lead=run.lead, timings=run.timings, reused=run.reused,
        ensemble=run.ensemble, models=run.final, search_models=run.train_only,
        tuner=run.tuner, seconds=seconds, table=run.table,
        time_limit=None if run.deadline is None else run.deadline.limit, cut=run.cut)
