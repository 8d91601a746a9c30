"""craft()'s stages. Each knows what its work depends on (``settings``), how to find that
work in the :class:`~kerascraft.workflow.store.Store` or do it, and what it decided; a
:class:`Run` carries what one stage hands the next.

========================  ==============================================================
stage                     kept in the run's directory
========================  ==============================================================
split                     ``split.npz`` (train, validation and test indices)
columns                   ``columns.json`` (a table's columns, read and fitted on the
                          training rows: :class:`kerascraft.tables.Table`)
setup                     the manifest (precision, strategy, steps per execution, why)
search                    ``search/`` (KerasTuner's own project: finished trials kept)
retrain                   ``retrained/trial_<id>.keras`` + ``.json`` (one per model)
gradient_boosting         ``gradient_boosting.pkl``
cheap_models              ``cheap_models.pkl``
ensemble                  ``ensemble.json``
evaluate                  ``predictions.npz``
export                    ``networks/net_<k>.keras`` (a table's networks behind their
                          columns' encoding: raw columns in)
========================  ==============================================================

A stage whose saved work was made with other settings redoes it (the trees, the retrained
models) or, where the work is a search the user may not want lost, refuses before anything
runs and says which settings changed.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kerascraft.ensemble.analysis import compare_on_test
from kerascraft.errors import InputError
from kerascraft.trials import TrialStatus
from kerascraft.workflow import inputs
from kerascraft.workflow.config import CraftConfig, chosen_ensemble_method
from kerascraft.workflow.result import flat, gaps, member_predictions
from kerascraft.workflow.store import Store, as_json

log = logging.getLogger("kerascraft.workflow")


@dataclass
class Run:
    """One call of craft(): its configuration, data and store, and what the stages made."""

    config: CraftConfig
    data: inputs.CraftData
    store: Store
    scopes: contextlib.ExitStack
    splits: inputs.Splits | None = None
    setup: dict | None = None
    tuner_strategy: Any = None  # a tf.distribute strategy KerasTuner enters itself
    global_batch: int = 0
    hypermodel: Any = None
    tuner: Any = None
    trials: Any = None
    n_top: int = 0
    retrained: Any = None
    nets: list = field(default_factory=list)  # the retrained networks' names
    final: dict = field(default_factory=dict)  # name -> model trained on train+validation
    train_only: dict = field(default_factory=dict)  # name -> its version trained on train
    ensemble: Any = None
    val_pred: dict = field(default_factory=dict)
    test_pred: dict = field(default_factory=dict)
    test_scores: Any = None
    gaps: Any = None
    lead: dict = field(default_factory=dict)  # the ensemble against the best single model
    timings: dict = field(default_factory=dict)
    reused: list = field(default_factory=list)
    table: Any = None  # the fitted kerascraft.tables.Table of a table's columns
    deadline: Any = None  # the time limit's kerascraft.budget.Deadline, or None
    cut: dict = field(default_factory=dict)  # stage -> what the limit or stop_early left out
    _encoded: dict = field(default_factory=dict)

    def inputs(self, part: str, family: str = "network"):
        """What ``family`` (``"network"``, ``"trees"``, ``"cheap"``) trains on or predicts
        from for ``part`` (``"train"``, ``"val"``, ``"test"``): the data as given (trees and
        the cheap models: rows flattened), or a table's columns encoded for the family."""
        x = getattr(self.splits, f"x_{part}")
        if self.table is None:
            return x if family == "network" else flat(x)
        key = (part, self.table.matrix(family))
        if key not in self._encoded:
            self._encoded[key] = self.table.encode(x, key[1])
        return self._encoded[key]

    @staticmethod
    def say(line: str):
        """A progress line (the ``kerascraft.workflow`` logger; craft() decides where it goes)."""
        log.info(line)

    @property
    def objective(self):
        return self.config.objective_for(self.data.task)

    def tf_scope(self):
        """The tf.distribute strategy's scope where craft() builds or fits outside the tuner."""
        return self.tuner_strategy.scope() if self.tuner_strategy else contextlib.nullcontext()

    def finish_reserve(self) -> float:
        """Seconds of the time limit kept for the stages after retraining (:data:`TIME_RULE`)."""
        return max(FINISH_MIN_SECONDS, FINISH_SHARE * self.deadline.limit)

    def retrain_reserve(self, tuner) -> float:
        """Seconds the retraining of the best configurations so far is predicted to take
        (:func:`kerascraft.retraining.predicted_seconds`), for the search to leave: of those
        that could still be retrained, in rank order (as retraining goes) within the time
        left now. A retraining that does not fit now never will, and its seconds go to the
        search instead of being kept for nothing."""
        from kerascraft.retraining import predicted_seconds
        from kerascraft.trials import best_trials

        c, s = self.config, self.splits
        if not any(t.score is not None for t in tuner.oracle.trials.values()):
            return 0.0
        ratio = (len(s.y_train) + len(s.y_val)) / len(s.y_train)
        room = self.deadline.left() - self.finish_reserve()
        reserve = 0.0
        for trial in best_trials(tuner, c.top):
            guess = predicted_seconds(tuner, trial, ratio, c.epoch_factor,
                                      _retrain_patience(c), c.epochs)
            if guess is None:
                continue
            if reserve + guess > room:
                break
            reserve += guess
        return reserve


#: the share of craft()'s ``time_limit`` kept for the stages after retraining (ensemble,
#: evaluation, export: about a second each on the tables of the tests), and its least
FINISH_SHARE, FINISH_MIN_SECONDS = 0.05, 3.0

#: craft()'s rule for sharing ``time_limit`` among its stages, said in the summary and the
#: report: what each stage may use is decided here and in :meth:`Run.finish_reserve` /
#: :meth:`Run.retrain_reserve` only
TIME_RULE = (
    "the trees and cheap models first (quick, and their time is then known); then the "
    "search, whose next trial starts only if it is predicted to end leaving the time to "
    "retrain the best configurations so far (predicted from their trials; those that would "
    "not fit even now are not waited for) and to finish; "
    "then retraining, each model only if predicted to end leaving the time to finish (on "
    "train+validation only if a first epoch fits, else trained on the training split); "
    f"{FINISH_SHARE:.0%} of the limit (at least {FINISH_MIN_SECONDS:.0f}s) is kept for the "
    "ensemble, the evaluation and the export")


def _retrain_patience(config) -> int:
    """Early stopping's patience when craft() finds a configuration's best epoch again."""
    return max(10, 2 * config.patience)


class Stage:
    """A step of craft(): override ``execute`` (and ``settings``, ``check``, ``decided``)."""

    name = ""

    def wanted(self, run: Run) -> bool:
        return True

    def settings(self, run: Run) -> dict:
        """The options this stage's saved work depends on."""
        return {}

    def same_settings(self, run: Run, record) -> bool:
        return record is not None and record["settings"] == as_json(self.settings(run))

    def saved_pickle(self, run: Run, record: dict | None):
        """This stage's pickled work (its ``FILE``) when it was made with today's settings
        (or no record says otherwise); None when it must be done again."""
        usable = record is None or self.same_settings(run, record)
        return run.store.read_pickle(self.FILE) if usable else None

    def check(self, run: Run, record: dict | None) -> None:
        """Before any stage runs: refuse saved work that must not be mixed with new work."""

    def execute(self, run: Run, record: dict | None) -> bool:
        """Load the saved work or do it; True when all of it was found done."""
        raise NotImplementedError

    def decided(self, run: Run) -> dict:
        """What the manifest keeps of this stage's choices."""
        return {}


class SplitStage(Stage):
    name, FILE = "split", "split.npz"

    def execute(self, run, record):
        c = run.config
        saved = run.store.read_arrays(self.FILE)
        if saved is None:
            tr, va, te = inputs.split(run.data, c.val_fraction, c.test_fraction, c.seed)
            run.store.write_arrays(self.FILE, train=tr, validation=va, test=te)
        else:
            tr, va, te = saved["train"], saved["validation"], saved["test"]
        run.splits = inputs.parts(run.data, tr, va, te)
        sizes, d = run.splits.sizes, run.data
        for note in d.notes:
            run.say(f"data: {note}")
        run.say(f"task: {d.task} ({d.task_reason})")
        run.say(f"split: {sizes['train']} train, {sizes['validation']} validation, "
                f"{sizes['test']} test samples ({d.task}"
                + (f", {len(d.classes)} classes)" if d.classes else ")"))
        return saved is not None


class ColumnsStage(Stage):
    """A table's columns: how each is read (decided from the whole table), and their
    encodings learned from the training rows only (:meth:`kerascraft.tables.Table.fit`);
    kept, so the models of a resumed run get the encoding they were trained with."""

    name, FILE = "columns", "columns.json"

    def wanted(self, run):
        return run.data.table is not None

    def execute(self, run, record):
        from kerascraft.tables import Table

        saved = run.store.read_json(self.FILE) if record is not None else None
        if saved is not None:
            run.table = Table.from_dict(saved)
        else:
            # craft()'s own networks embed categories of many levels; a given model is
            # built for one matrix, which the cheap models' one-hot columns are
            run.table = run.data.table.fit(run.splits.x_train,
                                           embed=run.config.hypermodel is None)
            run.store.write_json(self.FILE, run.table.to_dict())
        widths, embedded = run.table.widths(), len(run.table.embeddings())
        inputs = (f"the networks get {widths['network']} inputs ({embedded} categories as "
                  f"codes of trained embeddings), the cheap models {widths['cheap']}"
                  if embedded else f"the networks and cheap models get {widths['network']} "
                  "inputs")
        run.say(f"columns: {run.table.describe()}; {inputs}, the trees {widths['trees']} "
                "(learned from the training rows)")
        return saved is not None


class SetupStage(Stage):
    """Precision, strategy and step fusion: decided once, kept for resumed runs (the search's
    trials were trained with them)."""

    name = "setup"

    def settings(self, run):
        c = run.config
        return {"precision": c.precision, "steps_per_execution": c.steps_per_execution,
                "batch_size": c.batch_size}

    def execute(self, run, record):
        import keras

        from kerascraft.precision import precision_scope, resolve_policy

        keras.utils.set_random_seed(run.config.seed)
        setup = dict(record["setup"]) if record and "setup" in record else None
        reused = setup is not None
        if reused and record["settings"] is not None and not self.same_settings(run, record):
            run.say(f"set-up: kept from the first run in {run.store.directory!r} (precision "
                    f"{setup['precision']}, steps_per_execution "
                    f"{setup['steps_per_execution']}); overwrite=True decides it again")
        if setup is None:
            choice = resolve_policy(run.config.precision)
            setup = {"precision": choice.policy, "precision_reason": choice.reason}
        outer = _strategy(run, setup)
        run.scopes.enter_context(precision_scope(setup["precision"]))
        run.scopes.enter_context(outer)
        base = run.config.hypermodel or _default_space(run)
        if "steps_per_execution" not in setup:
            setup.update(_probe(run, base))
        run.setup = setup
        for note in setup.get("precision_notes", []):
            run.say(f"precision: {note}")
        run.say(f"precision {setup['precision']}, {setup['strategy']} ({setup['replicas']} "
                f"replica{'s' if setup['replicas'] > 1 else ''}), steps_per_execution "
                f"{setup['steps_per_execution']}")
        from kerascraft.workflow.space import with_steps_per_execution

        run.hypermodel = with_steps_per_execution(base, setup["steps_per_execution"])
        return reused

    def decided(self, run):
        return {"setup": run.setup}


def _strategy(run, setup):
    """The strategy for this machine (decided on every call: the machine may differ);
    returns the scope craft() must stay in while it trains."""
    from kerascraft import strategy as kc_strategy

    given = run.config.strategy
    if given == "auto":
        dist = kc_strategy.auto_strategy()
    elif given is None:
        dist = kc_strategy.SingleDevice("one device, as asked (strategy=None)")
    else:
        dist = given
    replicas = kc_strategy.replicas(dist)
    setup.update(strategy=type(dist).__name__.lstrip("_"), replicas=replicas,
                 strategy_reason=getattr(dist, "reason", "given"))
    run.global_batch = kc_strategy.global_batch_size(run.config.batch_size, dist)
    # KerasTuner takes tf.distribute strategies (and enters their scope itself; so does
    # craft() to build and fit outside the tuner); a Keras distribution (JAX) is one scope
    # around the whole training instead
    is_tf = hasattr(dist, "extended")
    run.tuner_strategy = dist if replicas > 1 and is_tf else None
    return dist.scope() if replicas > 1 and not is_tf else contextlib.nullcontext()


def _default_space(run):
    from kerascraft.workflow.space import default_hypermodel

    s, d = run.splits, run.data
    n_classes = len(d.classes) if d.task == "classification" else None
    embeddings = run.table.embeddings() if run.table is not None else ()
    return default_hypermodel(run.inputs("train"), s.y_train, d.task, n_classes,
                              embeddings=embeddings)


def _probe(run, base) -> dict:
    """The search space's default configuration, built once: its precision checked and step
    fusion measured on it."""
    import keras_tuner as kt

    from kerascraft.compat import keras_tuner as compat_kt
    from kerascraft.precision import check_precision
    from kerascraft.workflow.space import measure_fusion

    with run.tf_scope():
        probe = compat_kt.get_hypermodel(base).build(kt.HyperParameters())
    found = {"precision_notes": [f"layer {f['layer']}: {f['problem']}; fix: {f['fix']}"
                                 for f in check_precision(probe)]}
    steps = run.config.steps_per_execution
    if steps == "auto":
        with run.tf_scope():
            found.update(measure_fusion(probe, run.inputs("train"), run.splits.y_train,
                                        run.global_batch))
    else:
        found.update(steps_per_execution=steps, steps_reason="given", steps_table=None)
    return found


class SearchStage(Stage):
    """KerasTuner's search, which keeps its finished trials: a rerun goes on from there (and
    a larger ``max_trials`` searches further)."""

    name = "search"

    def settings(self, run):
        c, objective = run.config, run.objective
        return {"kind": c.kind, "objective": getattr(objective, "name", objective),
                "epochs": c.epochs, "batch_size": c.batch_size, "patience": c.patience,
                "seed": c.seed, "hypermodel": _model_identity(run)}

    def check(self, run, record):
        # the settings of a search that finished, or else of one that began and was stopped
        old = record["settings"] if record is not None else run.store.started(self.name)
        if old is None:
            return
        new = as_json(self.settings(run))
        same_model = self._same_model(run, old.get("hypermodel", "unrecorded"),
                                      new["hypermodel"])
        changed = "; ".join(f"{k} {old.get(k)!r} then, {new[k]!r} now" for k in new
                            if k != "hypermodel" and old.get(k) != new[k])
        if not same_model:
            raise InputError(
                f"{run.store.directory!r} holds a search of another model: the build "
                "function or HyperModel (its code or its settings) is not the one the saved "
                f"trials were made with{_names(old['hypermodel'], new['hypermodel'])}. Its "
                "trials would be mixed with this model's, and the retrained models reloaded "
                "by trial id. Use another directory, or overwrite=True to start again.")
        if changed:
            raise InputError(
                f"{run.store.directory!r} holds a search made with other settings ({changed}); "
                "its trials would be mixed with trials trained differently. Use the settings it "
                "was made with, another directory, or overwrite=True to start again.")

    @staticmethod
    def _same_model(run, old, new) -> bool:
        """Whether the saved search's model is this one; says so when it cannot be told."""
        if old == "unrecorded":  # a directory of a kerascraft that did not record it
            run.say(f"search: {run.store.directory!r} was made by an earlier kerascraft, "
                    "which did not record the model: not checked that its trials are of "
                    "this one")
            return True
        if old is None or new is None:
            run.say("search: the build function has no source to identify it by (defined "
                    "at an interactive prompt or compiled): not checked that the saved trials "
                    "are of this model")
            return True
        return old == new

    def execute(self, run, record):
        import keras

        from kerascraft import trials, tuning
        from kerascraft.tuning import OPTUNA_KINDS

        c = run.config
        kwargs = {"seed": c.seed}
        kwargs.update({"max_epochs": c.epochs} if c.kind == "hyperband"
                      else {"max_trials": c.max_trials})
        if c.hypermodel is None and c.kind in OPTUNA_KINDS:  # its defaults are the recipe
            kwargs["defaults_first"] = True
        if c.storage is not None:  # never recorded in the store: a URL may hold a password
            kwargs.update(storage=c.storage, study_name=(
                f"craft-{os.path.basename(os.path.abspath(c.directory))}-"
                f"{run.store.data['fingerprint'][:12]}"))
        # a search begun afresh in the directory (a new one, or overwrite=True) begins
        # afresh in the storage too: the study's trials would name models that are gone
        fresh = c.storage is not None and not os.path.isdir(os.path.join(c.directory, "search"))
        # KerasTuner prints "Reloading Tuner from ..." when it resumes: shown only as progress
        with contextlib.redirect_stdout(io.StringIO()) as kt_output:
            t = tuning.tuner(c.kind, run.hypermodel, objective=run.objective,
                             directory=c.directory, project_name="search", overwrite=fresh,
                             distribution_strategy=run.tuner_strategy, **kwargs)
        for line in kt_output.getvalue().splitlines():
            run.say(line)
        run.store.begin(self.name, self.settings(run))
        before = _finished(t)
        early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=c.patience)
        s = run.splits
        limit = None if run.deadline is None else run.deadline.part(
            reserve=lambda: run.retrain_reserve(t) + run.finish_reserve())
        t.search(run.inputs("train"), s.y_train, validation_data=(run.inputs("val"), s.y_val),
                 epochs=c.epochs, time_limit=limit, stop_early=c.stop_early,
                 batch_size=run.global_batch, callbacks=[early], verbose=c.verbose)
        if t.search_ended:
            run.cut[self.name] = t.search_ended
        run.tuner, run.trials = t, trials.results(t)
        completed = int((run.trials["status"] == TrialStatus.COMPLETED.value).sum())
        if completed == 0:
            errors = sorted({e for e in run.trials["error"] if e})
            raise RuntimeError("no trial of the search completed, so there is nothing to "
                               "retrain. The errors: " + "; ".join(errors[:3]) +
                               f". The trials are kept in {c.directory!r}.")
        run.n_top = min(c.top, completed)
        return _finished(t) == before

    def decided(self, run):
        return {"trials": len(run.trials)}


def _model_identity(run):
    """What identifies the model craft() searches: the user's, or its own default space."""
    from kerascraft.hypermodels import identity
    from kerascraft.workflow.space import default_hypermodel

    return identity(run.config.hypermodel or default_hypermodel)


def _names(old, new) -> str:
    if old and new and old["name"] != new["name"]:
        return f" ({old['name']} then, {new['name']} now)"
    return ""


def _finished(tuner) -> int:
    from kerascraft.trials import FINISHED

    return sum(t.status in FINISHED for t in tuner.oracle.trials.values())


class RetrainStage(Stage):
    """The best configurations retrained on train+validation, each saved as it is done."""

    name, FOLDER = "retrain", "retrained"

    def settings(self, run):
        c = run.config
        return {"epoch_factor": c.epoch_factor, "patience": c.patience, "epochs": c.epochs,
                "batch_size": c.batch_size}

    def execute(self, run, record):
        from kerascraft import retraining, trials

        folder, c, s = run.store.path(self.FOLDER), run.config, run.splits
        if record is not None and not self.same_settings(run, record) and os.path.isdir(folder):
            run.say("retraining again: the retrained models were made with other settings")
            shutil.rmtree(folder)
        limit = None if run.deadline is None else run.deadline.part(
            reserve=run.finish_reserve)
        with run.tf_scope():
            retrained = retraining.retrain_best(
                run.tuner, run.inputs("train"), s.y_train, (run.inputs("val"), s.y_val),
                n=run.n_top,
                epoch_factor=c.epoch_factor, patience=_retrain_patience(c),
                max_epochs=c.epochs, verbose=c.verbose, batch_size=run.global_batch,
                directory=folder, time_limit=limit)
        # KerasTuner rebuilds saved models after clear_session(), which would drop the
        # strategy's scope: outside it (they only predict)
        searched = trials.best_models(run.tuner, run.n_top)
        if retrained.not_retrained:  # the time limit's: the search's own models stand in
            run.cut[self.name] = (f"{retrained.ended}; the search's models, trained on the "
                                  "training split only, stand in for them")
            os.makedirs(folder, exist_ok=True)
            for trial, model in zip(trials.best_trials(run.tuner, run.n_top)[len(retrained):],
                                    searched[len(retrained):]):
                # kept for load_craft(); not a retrained model (a later call retrains it).
                # Its optimizer built, as loading builds it: else Keras warns on loading
                if getattr(model, "optimizer", None) is not None and not model.optimizer.built:
                    model.optimizer.build(model.trainable_variables)
                model.save(os.path.join(folder, f"search_trial_{trial.trial_id}.keras"))
                retrained.append(model)
                retrained.summary.append({
                    "rank": len(retrained), "trial_id": trial.trial_id,
                    "best_epoch": int(trial.best_step) + 1, "epochs": None,
                    "search_score": trial.score,
                    "stopped": "not retrained (time limit): the search's model",
                    **trial.hyperparameters.values})
        names = run.nets = [f"net_{k}" for k in range(1, run.n_top + 1)]
        run.retrained = retrained
        # the networks first, then the members fitted before them (trees, cheap models)
        run.final = {**dict(zip(names, retrained)), **run.final}
        run.train_only = {**dict(zip(names, searched)), **run.train_only}
        return retrained.loaded == run.n_top


class GradientBoostingStage(Stage):
    """Gradient-boosted trees beside the networks: fitted on the training split (for the
    ensemble's weights), then on train+validation for ``epoch_factor`` x its rounds."""

    name, FILE = "gradient_boosting", "gradient_boosting.pkl"

    def wanted(self, run):
        return bool(run.config.gradient_boosting)

    def settings(self, run):
        return {"epoch_factor": run.config.epoch_factor, "seed": run.config.seed}

    def execute(self, run, record):
        from kerascraft.ensemble import fit_gradient_boosting

        gbt = self.saved_pickle(run, record)
        if gbt is None:
            run.say("gradient boosting: fitting on the training split, then on "
                    "train+validation")
            s, task, seed = run.splits, run.data.task, run.config.seed
            categories = run.table.categorical_mask() if run.table is not None else []
            native = {"categorical_features": categories} if any(categories) else {}
            x_train = run.inputs("train", "trees")
            first = fit_gradient_boosting(x_train, s.y_train, task=task, seed=seed, **native)
            rounds = max(1, round(first.n_iter_ * run.config.epoch_factor))
            second = fit_gradient_boosting(
                np.concatenate([x_train, run.inputs("val", "trees")]),
                np.concatenate([s.y_train, s.y_val]), task=task, seed=seed,
                early_stopping=False, max_iter=rounds, **native)
            gbt = {"train": first, "final": second}
            run.store.write_pickle(self.FILE, gbt)
            reused = False
        else:
            reused = True
        run.train_only["gbt"], run.final["gbt"] = gbt["train"], gbt["final"]
        return reused


class CheapModelsStage(Stage):
    """Models of other families, trained in seconds (:func:`kerascraft.ensemble.cheap_models`:
    a linear model, k-nearest neighbours, extra trees): on the training split for the
    ensemble's weights, then again on train+validation."""

    name, FILE = "cheap_models", "cheap_models.pkl"

    def wanted(self, run):
        return bool(run.config.cheap_models)

    def settings(self, run):
        return {"seed": run.config.seed}

    def execute(self, run, record):
        from kerascraft.ensemble.members import fit_cheap_models

        fitted = self.saved_pickle(run, record)
        reused = fitted is not None
        if not reused:
            s, task, seed = run.splits, run.data.task, run.config.seed
            x_train = run.inputs("train", "cheap")
            fitted = {"train": fit_cheap_models(x_train, s.y_train, task, seed),
                      "final": fit_cheap_models(
                          np.concatenate([x_train, run.inputs("val", "cheap")]),
                          np.concatenate([s.y_train, s.y_val]), task, seed)}
            run.say(f"cheap models: {', '.join(fitted['train'])} fitted on the training "
                    "split, then on train+validation")
            run.store.write_pickle(self.FILE, fitted)
        run.train_only.update(fitted["train"])
        run.final.update(fitted["final"])
        return reused


class EnsembleStage(Stage):
    """Weights learned on validation predictions of models that never saw it."""

    name, FILE = "ensemble", "ensemble.json"

    def settings(self, run):
        return {"method": run.config.ensemble_method, "seed": run.config.seed}

    def execute(self, run, record):
        from kerascraft.ensemble import fit_ensemble

        s = run.splits
        method, why = chosen_ensemble_method(run.config, run.data.task)
        run.val_pred = member_predictions(run.train_only, lambda f: run.inputs("val", f))
        run.say(f"ensemble: fitting {method} ({why}) to {len(run.val_pred)} models' "
                f"predictions of {len(s.y_val)} validation samples")
        with warnings.catch_warnings():  # one member (top=1, no trees) is a choice here
            warnings.filterwarnings("ignore", message="only one model")
            run.ensemble = fit_ensemble(run.val_pred, s.y_val, method=method,
                                        task=run.data.task, seed=run.config.seed,
                                        meta={"classes": run.data.classes})
        run.ensemble.save(run.store.path(self.FILE))
        return False


class EvaluateStage(Stage):
    """Every model, and the ensemble, on the test split."""

    name, FILE = "evaluate", "predictions.npz"

    def execute(self, run, record):
        s = run.splits
        run.test_pred = member_predictions(run.final, lambda f: run.inputs("test", f))
        before_retraining = member_predictions(run.train_only, lambda f: run.inputs("test", f))
        run.store.write_arrays(self.FILE, **{f"val_{n}": p for n, p in run.val_pred.items()},
                               **{f"test_{n}": p for n, p in run.test_pred.items()})
        run.test_scores = run.ensemble.evaluate(s.y_test, run.test_pred)
        run.gaps = gaps(run.ensemble, s.y_val, s.y_test, run.val_pred, before_retraining,
                        run.test_pred)
        best = run.ensemble.scores["best_single_model"]
        run.lead = compare_on_test(s.y_test, run.ensemble.predict(run.test_pred),
                                   run.test_pred[best], run.data.task, seed=run.config.seed)
        return False


class ExportStage(Stage):
    """A table's networks, each behind its columns' encoding done by Keras layers
    (:func:`kerascraft.tables.with_columns`), written as ``networks/<name>.keras``: models
    that take the raw columns by name, for use without kerascraft's ensemble."""

    name, FOLDER = "export", "networks"

    def wanted(self, run):
        return run.table is not None and bool(run.nets)

    def execute(self, run, record):
        from kerascraft import tables
        from kerascraft.compat import keras as compat_keras

        why = tables.not_exportable(run.table)
        if why:
            run.say(f"networks: not written with their encoding inside ({why}); "
                    "result.predict() encodes new rows for them")
            return False
        folder = run.store.path(self.FOLDER)
        os.makedirs(folder, exist_ok=True)
        ours = False  # whether a network holds kerascraft's layers (craft()'s own do)
        for name in run.nets:
            exported = tables.with_columns(run.table, run.final[name])
            exported.save(os.path.join(folder, f"{name}.keras"))
            ours = ours or any(type(layer).__module__ == "kerascraft.layers"
                               for layer in compat_keras.all_layers(exported))
        strings = any(c.kind in tables.STRING_KINDS for c in run.table.columns)
        opens = ("after `import kerascraft.layers`, which registers their layers"
                 if ours else "without kerascraft")
        run.say(f"networks: {', '.join(run.nets)} written to {folder} with their encoding "
                f"inside (raw columns in, by name; keras.saving.load_model opens them {opens}"
                + ("; their string inputs need Keras's TensorFlow backend)" if strings else ")"))
        return False


#: the stages that train; from the set-up on inside the precision policy's (and a JAX
#: distribution's) scope. The trees and cheap models come before the search: they are quick,
#: and a time limit then knows what they took (:data:`TIME_RULE`)
TRAINING = (SplitStage(), ColumnsStage(), GradientBoostingStage(), CheapModelsStage(),
            SetupStage(), SearchStage(), RetrainStage())
#: the stages after it
FINISHING = (EnsembleStage(), EvaluateStage(), ExportStage())
